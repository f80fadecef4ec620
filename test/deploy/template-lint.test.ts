import { describe, expect, it } from 'vitest';
import { checkBlockBalance, classifyAction, lintHelpers, lintTemplate, scanActions } from './helpers/template-lint.ts';

const good = `{{- if .Values.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "x.fullname" . }}
  labels:
    {{- include "x.labels" . | nindent 4 }}
    extra: "yes"
  {{- with .Values.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  ports:
    - name: http
      port: {{ .Values.port }}
    {{- with .Values.extraPorts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  image: "{{ .Values.repo }}:{{ .Values.tag }}"
{{/* a comment
spanning lines */}}
{{- end }}
`;

describe('lintTemplate', () => {
  it('accepts a well-formed template and keeps its line numbers', () => {
    const result = lintTemplate(good);
    expect(result.errors).toEqual([]);
    expect(result.yaml.split('\n')).toHaveLength(good.split('\n').length);
    expect(result.documents).toHaveLength(1);
  });

  it('turns block outputs into placeholders shaped like their siblings', () => {
    const lines = lintTemplate(good).yaml.split('\n');
    expect(lines[6]).toMatch(/^ {4}__TPL_\d+__: __TPL_\d+__$/); // labels: a mapping entry at nindent 4
    expect(lines[17]).toMatch(/^ {4}- __TPL_\d+__$/); // extraPorts: a sequence item next to "- name: http"
    expect(lines[19]).toMatch(/^ {2}image: "__TPL_\d+__:__TPL_\d+__"$/);
    expect(lines[0]).toBe('');
    expect(lines[20]).toBe('');
  });

  it('reports bad indentation with the template line', () => {
    const broken = good.replace('  ports:\n', '   ports:\n');
    const { errors } = lintTemplate(broken);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('reports a key that is written twice', () => {
    const broken = good.replace('    extra: "yes"\n', '    extra: "yes"\n    extra: "no"\n');
    expect(lintTemplate(broken).errors.join('\n')).toMatch(/line 9: .*unique/i);
  });

  it('reports a list item in a mapping', () => {
    const broken = good.replace('  image:', '  - image:');
    expect(lintTemplate(broken).errors.length).toBeGreaterThan(0);
  });

  it('reports an unterminated action', () => {
    const broken = good.replace('{{ .Values.port }}', '{{ .Values.port }');
    expect(lintTemplate(broken).errors.join('\n')).toMatch(/line 16: unterminated template action/);
  });

  it('reports unbalanced blocks', () => {
    expect(lintTemplate(good.replace('{{- end }}\n', '')).errors.join('\n')).toMatch(/never closed/);
    expect(lintTemplate(`${good}{{- end }}\n`).errors.join('\n')).toMatch(/without an open block/);
  });

  it('does not let a "}}" inside a string end an action', () => {
    const scan = scanActions('a: {{ printf "}}" .x }}\n');
    expect(scan.errors).toEqual([]);
    expect(scan.actions.map((a) => a.body)).toEqual(['printf "}}" .x']);
  });
});

describe('block classification', () => {
  it('tells control flow, silent and output actions apart', () => {
    expect(classifyAction('if .Values.x')).toBe('open');
    expect(classifyAction('else if .y')).toBe('else');
    expect(classifyAction('end')).toBe('end');
    expect(classifyAction('$secret := include "x" .')).toBe('silent');
    expect(classifyAction('fail "no"')).toBe('silent');
    expect(classifyAction('include "x" . | nindent 4')).toBe('output');
    expect(classifyAction('/* note */')).toBe('comment');
  });

  it('rejects else outside a block', () => {
    expect(checkBlockBalance(scanActions('{{ else }}').actions)).toEqual(['line 1: {{ else }} outside if/with/range']);
  });
});

describe('lintHelpers', () => {
  it('accepts define blocks and comments', () => {
    expect(lintHelpers('{{/* c */}}\n{{- define "a" -}}\n{{ .x }}\n{{- end -}}\n')).toEqual([]);
  });

  it('rejects text and actions outside define blocks', () => {
    expect(lintHelpers('{{- define "a" -}}x{{- end -}}\nstray\n')).toEqual(['line 1: text outside a define block']);
    expect(lintHelpers('{{ .Values.x }}\n')).toEqual(['line 1: action outside a define block']);
  });
});
