import type { Shape } from './type-shapes.ts';

export interface UnknownFieldOptions {
  /** Keys to accept without looking them up (template placeholders). */
  readonly ignoreKey?: (key: string) => boolean;
}

/**
 * Paths (like `spec.chart.spec.sourceRf`) of every key in `value` that `shape` does not define.
 * Only keys are judged: value types are the model validators' job.
 */
export function findUnknownFields(value: unknown, shape: Shape, options: UnknownFieldOptions = {}, at = ''): string[] {
  if (shape.kind === 'any' || shape.kind === 'scalar' || value === null || typeof value !== 'object') return [];
  if (shape.kind === 'array') {
    if (!Array.isArray(value)) return [];
    const items = shape.items();
    return value.flatMap((item, i) => findUnknownFields(item, items, options, `${at}[${i}]`));
  }
  if (Array.isArray(value)) return [];
  const problems: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (options.ignoreKey?.(key)) continue;
    const where = at === '' ? key : `${at}.${key}`;
    const childShape = shape.field(key);
    if (!childShape) {
      problems.push(where);
      continue;
    }
    problems.push(...findUnknownFields(child, childShape, options, where));
  }
  return problems;
}
