/** A Dockerfile parser covering the syntax this repository's Dockerfile uses (no heredocs). */

export interface Instruction {
  /** Upper-case instruction keyword, e.g. "COPY". */
  readonly keyword: string;
  /** Arguments after the leading `--flag=value` options. */
  readonly args: string;
  /** Leading options, e.g. { from: 'build' } for `COPY --from=build`. */
  readonly flags: Readonly<Record<string, string>>;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly name?: string;
  /** Base image with build args expanded. */
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const first = lines[i] ?? '';
    if (first.trim() === '' || first.trimStart().startsWith('#')) continue;
    const start = i + 1;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, '');
      i += 1;
      const next = lines[i] ?? '';
      if (next.trimStart().startsWith('#')) {
        joined += '\\';
        continue;
      }
      joined += next;
    }
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!match) throw new Error(`Dockerfile line ${start}: cannot parse "${joined}"`);
    let rest = (match[2] ?? '').trim();
    const flags: Record<string, string> = {};
    for (let flag = /^--([a-z-]+)=(\S+)\s*/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s*/.exec(rest)) {
      flags[flag[1] ?? ''] = flag[2] ?? '';
      rest = rest.slice(flag[0].length);
    }
    instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: rest.trim(), flags, line: start });
  }
  return instructions;
}

/** Expands `$X`, `${X}` and `${X:-default}` from `vars`; unknown variables become "". */
export function expandVariables(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced, fallback, bare) => {
    const name = (braced ?? bare) as string;
    const found = vars[name];
    return found === undefined || found === '' ? ((fallback as string | undefined) ?? '') : found;
  });
}

/** `KEY=VALUE` pairs of ARG/ENV/LABEL arguments (double quotes honoured). */
export function parseKeyValues(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  const pattern = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const match of args.matchAll(pattern)) {
    const raw = match[2] ?? '';
    pairs[match[1] ?? ''] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return pairs;
}

/** The argv of an exec-form (JSON array) instruction, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`not an exec-form array of strings: ${args}`);
  }
  return parsed as string[];
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  let current: { name?: string; image: string; instructions: Instruction[] } | undefined;
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`Dockerfile line ${instruction.line}: cannot parse FROM ${instruction.args}`);
      if (current) stages.push({ index: stages.length, ...current });
      current = { image: expandVariables(match[1] ?? '', globalArgs), instructions: [] };
      if (match[2]) current.name = match[2];
    } else if (!current) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name = '', value = ''] = instruction.args.split('=');
      globalArgs[name.trim()] = value.trim().replace(/^"(.*)"$/, '$1');
    } else {
      current.instructions.push(instruction);
    }
  }
  if (current) stages.push({ index: stages.length, ...current });
  return { globalArgs, stages };
}

/** The last instruction of a kind in a stage (the one that takes effect for USER, CMD, ...). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return [...stage.instructions].reverse().find((i) => i.keyword === keyword);
}

export function allOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}
