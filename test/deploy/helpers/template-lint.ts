/**
 * A small, honest YAML well-formedness check for Helm templates, for machines without `helm`.
 *
 * It does not render anything. It sets the Go template actions aside and asks whether what is
 * left is a well-formed YAML stream, under these rules:
 * 1. `{{ ... }}` must be terminated; `{{/* ... *\/}}` comments may span lines.
 * 2. Block actions (if/range/with/define/block ... else ... end) must balance.
 * 3. A line holding only non-output actions (control flow, `$x := ...`, comments, `fail`) is
 *    blanked (line numbers stay those of the template).
 * 4. A line holding only output actions (`include`, `toYaml`, ...) stands for a YAML block: it
 *    becomes one placeholder entry indented by the action's `nindent N` / `indent N`, or by the
 *    line's own indentation. The entry takes the form of its siblings: a sequence item (`- P`)
 *    when the nearest earlier line at that indentation is one, else a mapping entry (`P: P`).
 * 5. Any other action, inside a line of text, becomes a unique placeholder scalar.
 * 6. Every branch of a conditional is kept, so a key written in both branches of an if/else is
 *    reported as a duplicate: keep such keys outside the conditional.
 * It assumes the chart's conventions: whitespace-trimming `{{-` only at the start of a line of
 * actions, and blocks emitted through `nindent`.
 */
import { parseAllDocuments } from 'yaml';

export const PLACEHOLDER_PATTERN = /^__TPL_\d+__$/;

export interface TemplateAction {
  /** Offset of `{{` in the text. */
  readonly start: number;
  /** Offset just after `}}`. */
  readonly end: number;
  /** The action without delimiters, trim markers and surrounding whitespace. */
  readonly body: string;
  readonly line: number;
}

export interface ScanResult {
  readonly actions: readonly TemplateAction[];
  readonly errors: readonly string[];
}

type ActionKind = 'comment' | 'open' | 'else' | 'end' | 'silent' | 'output';

const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/** Finds every `{{ ... }}` action, skipping over Go string literals inside actions. */
export function scanActions(text: string): ScanResult {
  const actions: TemplateAction[] = [];
  const errors: string[] = [];
  let at = 0;
  for (;;) {
    const start = text.indexOf('{{', at);
    if (start < 0) break;
    let i = start + 2;
    if (text[i] === '-' && /\s/.test(text[i + 1] ?? '')) i += 1;
    const afterOpen = text.slice(i).trimStart();
    let end = -1;
    if (afterOpen.startsWith('/*')) {
      const close = text.indexOf('*/', i);
      const match = close < 0 ? null : /^\*\/\s*-?\s*\}\}/.exec(text.slice(close));
      if (match) end = close + match[0].length;
    } else {
      let quote: string | null = null;
      for (let j = i; j < text.length; j += 1) {
        const c = text[j];
        if (quote) {
          if (c === '\\' && quote !== '`') j += 1;
          else if (c === quote) quote = null;
        } else if (c === '"' || c === '`' || c === "'") {
          quote = c;
        } else if (c === '}' && text[j + 1] === '}') {
          end = j + 2;
          break;
        } else if (c === '\n' && text.slice(j + 1).trimStart().startsWith('{{')) {
          break;
        }
      }
    }
    if (end < 0) {
      errors.push(`line ${lineAt(text, start)}: unterminated template action`);
      break;
    }
    const body = text
      .slice(start + 2, end - 2)
      .replace(/^-\s/, '')
      .replace(/\s-$/, '')
      .trim();
    actions.push({ start, end, body, line: lineAt(text, start) });
    at = end;
  }
  return { actions, errors };
}

export function classifyAction(body: string): ActionKind {
  if (body.startsWith('/*')) return 'comment';
  if (/^(if|range|with|define|block)\b/.test(body)) return 'open';
  if (/^else\b/.test(body)) return 'else';
  if (/^end\b/.test(body)) return 'end';
  if (/^\$[A-Za-z0-9_]*\s*:?=/.test(body) || /^fail\b/.test(body)) return 'silent';
  return 'output';
}

/** Block structure errors: unbalanced end, else outside if/with/range, unclosed blocks. */
export function checkBlockBalance(actions: readonly TemplateAction[]): string[] {
  const errors: string[] = [];
  const stack: { keyword: string; line: number }[] = [];
  for (const action of actions) {
    const kind = classifyAction(action.body);
    if (kind === 'open') {
      stack.push({ keyword: action.body.split(/\s/)[0] ?? '', line: action.line });
    } else if (kind === 'else') {
      const top = stack[stack.length - 1];
      if (!top || !['if', 'with', 'range'].includes(top.keyword)) {
        errors.push(`line ${action.line}: {{ else }} outside if/with/range`);
      }
    } else if (kind === 'end') {
      if (!stack.pop()) errors.push(`line ${action.line}: {{ end }} without an open block`);
    }
  }
  for (const open of stack) errors.push(`line ${open.line}: {{ ${open.keyword} }} is never closed`);
  return errors;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** Rules 3-5: the template with its actions set aside. Same number of lines as the input. */
export function setActionsAside(text: string, actions: readonly TemplateAction[]): string {
  let counter = 0;
  const next = (): string => `__TPL_${(counter += 1)}__`;
  const lines = text.split('\n');
  const lineStarts: number[] = [];
  lines.reduce((offset, line) => (lineStarts.push(offset), offset + line.length + 1), 0);
  const out = [...lines];
  // Comments spanning lines: blank the lines they cover.
  for (const action of actions) {
    const first = lineAt(text, action.start) - 1;
    const last = lineAt(text, action.end - 1) - 1;
    if (last > first) {
      if (classifyAction(action.body) !== 'comment') continue;
      for (let l = first; l <= last; l += 1) out[l] = '';
    }
  }
  lines.forEach((line, l) => {
    const lineStart = lineStarts[l] ?? 0;
    const lineEnd = lineStart + line.length;
    const inLine = actions.filter((a) => a.start >= lineStart && a.end <= lineEnd);
    if (inLine.length === 0) return;
    let rest = line;
    for (const a of [...inLine].reverse()) rest = rest.slice(0, a.start - lineStart) + rest.slice(a.end - lineStart);
    const kinds = inLine.map((a) => classifyAction(a.body));
    if (rest.trim() === '') {
      if (!kinds.includes('output')) {
        out[l] = '';
        return;
      }
      const body = inLine.find((a) => classifyAction(a.body) === 'output')?.body ?? '';
      const indentMatch = /\bn?indent\s+(\d+)/.exec(body);
      const indent = indentMatch ? Number(indentMatch[1]) : indentOf(line);
      let sibling: string | undefined;
      for (let k = l - 1; k >= 0; k -= 1) {
        const prior = out[k] ?? '';
        if (prior.trim() === '' || prior.trimStart().startsWith('#')) continue;
        if (indentOf(prior) < indent) break;
        if (indentOf(prior) === indent) {
          sibling = prior;
          break;
        }
      }
      const pad = ' '.repeat(indent);
      out[l] = sibling?.trimStart().startsWith('- ') ? `${pad}- ${next()}` : `${pad}${next()}: ${next()}`;
      return;
    }
    let replaced = line;
    for (const a of [...inLine].reverse()) {
      replaced = replaced.slice(0, a.start - lineStart) + next() + replaced.slice(a.end - lineStart);
    }
    out[l] = replaced;
  });
  return out.join('\n');
}

export interface LintResult {
  readonly errors: readonly string[];
  /** The placeholder YAML the check parsed (for debugging and for field checks). */
  readonly yaml: string;
  /** Parsed documents (plain JS), empty ones dropped. */
  readonly documents: readonly unknown[];
}

/** Checks that a Helm template is well-formed YAML once its actions are set aside. */
export function lintTemplate(text: string): LintResult {
  const scan = scanActions(text);
  const errors = [...scan.errors, ...checkBlockBalance(scan.actions)];
  if (scan.errors.length > 0) return { errors, yaml: '', documents: [] };
  const yaml = setActionsAside(text, scan.actions);
  const documents: unknown[] = [];
  for (const doc of parseAllDocuments(yaml, { uniqueKeys: true })) {
    for (const problem of [...doc.errors, ...doc.warnings]) {
      const line = problem.linePos?.[0]?.line;
      errors.push(`${line === undefined ? '' : `line ${line}: `}${problem.message.split('\n')[0]}`);
    }
    if (doc.errors.length === 0) {
      const value: unknown = doc.toJS();
      if (value !== null && value !== undefined) documents.push(value);
    }
  }
  return { errors, yaml, documents };
}

/**
 * For files that only define named templates (_helpers.tpl): balance, and nothing but whitespace
 * and comments outside the `define` blocks (Helm would render stray text into nothing, silently).
 */
export function lintHelpers(text: string): string[] {
  const scan = scanActions(text);
  const errors = [...scan.errors, ...checkBlockBalance(scan.actions)];
  let depth = 0;
  let last = 0;
  for (const action of scan.actions) {
    const between = text.slice(last, action.start);
    if (depth === 0 && between.trim() !== '') {
      errors.push(`line ${lineAt(text, last)}: text outside a define block`);
    }
    const kind = classifyAction(action.body);
    if (depth === 0 && kind !== 'comment' && !(kind === 'open' && /^define\b/.test(action.body))) {
      errors.push(`line ${action.line}: action outside a define block`);
    }
    if (kind === 'open') depth += 1;
    if (kind === 'end') depth = Math.max(0, depth - 1);
    last = action.end;
  }
  if (text.slice(last).trim() !== '') errors.push(`line ${lineAt(text, last)}: text outside a define block`);
  return errors;
}
