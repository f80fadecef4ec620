import type { Values } from './values-paths.ts';

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Helm's merge of user values over chart defaults: maps merge key by key, lists and scalars are
 * replaced, and a null deletes the default. Inputs are not modified.
 */
export function coalesceValues(defaults: Values, overrides: Values): Values {
  const result: Values = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) {
      delete result[key];
    } else if (isMap(value) && isMap(result[key])) {
      result[key] = coalesceValues(result[key], value);
    } else {
      result[key] = structuredClone(value);
    }
  }
  return result;
}
