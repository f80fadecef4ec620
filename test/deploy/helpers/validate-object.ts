import type { KindRegistry } from './kinds.ts';
import { findUnknownFields, type UnknownFieldOptions } from './unknown-fields.ts';
import { describeObject, typeKey, type KubeObject } from './yaml-docs.ts';

export interface ValidateOptions extends UnknownFieldOptions {
  /** Also run the kind's model validator (types, enums, required fields). Default true. */
  readonly schema?: boolean;
}

/**
 * Every problem with one object: no validator for its kind, schema violations reported by its
 * kubernetes-models class, and keys its API does not define. Empty means valid.
 */
export function validateObject(obj: KubeObject, registry: KindRegistry, options: ValidateOptions = {}): string[] {
  const where = describeObject(obj);
  const entry = registry.get(typeKey(obj));
  if (!entry) return [`${where}: no validator for ${typeKey(obj)}; add the kind to test/deploy/helpers/kinds.ts`];
  const problems: string[] = [];
  if (options.schema ?? true) {
    if (!entry.spec.model) {
      problems.push(`${where}: ${typeKey(obj)} has no schema model installed, only a field allow-list`);
    } else {
      try {
        new entry.spec.model(obj as never).validate();
      } catch (error) {
        problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  for (const field of findUnknownFields(obj, entry.shape, options)) {
    problems.push(`${where}: unknown field ${field}`);
  }
  return problems;
}
