/**
 * What the admin UI shows before a save and in a conflict: a line diff of two configs, each
 * pretty-printed with sorted keys so that key order never shows up as a change. Pure (no DOM), so
 * it is unit-tested with the server tests.
 */
export type DiffLine = { readonly kind: 'same' | 'add' | 'del'; readonly text: string };

/** JSON with sorted keys and two-space indentation; a string (a raw, non-JSON KV value) stays as it is. */
export function prettyConfig(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** Longest-common-subsequence line diff; configs are small (tens of lines), so O(n·m) is fine. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ kind: 'same', text: a[i]! });
      i += 1;
      j += 1;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      lines.push({ kind: 'del', text: a[i]! });
      i += 1;
    } else {
      lines.push({ kind: 'add', text: b[j]! });
      j += 1;
    }
  }
  while (i < a.length) lines.push({ kind: 'del', text: a[i++]! });
  while (j < b.length) lines.push({ kind: 'add', text: b[j++]! });
  return lines;
}

export function configDiff(before: unknown, after: unknown): DiffLine[] {
  return lineDiff(prettyConfig(before), prettyConfig(after));
}

export const hasChanges = (lines: readonly DiffLine[]) => lines.some((line) => line.kind !== 'same');
