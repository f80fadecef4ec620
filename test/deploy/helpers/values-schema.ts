import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
};

/** Compiles values.schema.json the way a careful reviewer would: strict mode, all errors. */
export function compileValuesSchema(schema: JsonSchema): ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true });
  return ajv.compile(schema);
}

export function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

function deref(root: JsonSchema, node: JsonSchema): JsonSchema {
  let current = node;
  for (let hops = 0; current.$ref !== undefined; hops += 1) {
    const match = /^#\/definitions\/(.+)$/.exec(current.$ref);
    const target = match?.[1] === undefined ? undefined : root.definitions?.[match[1]];
    if (!target || hops > 10) throw new Error(`values schema: cannot resolve $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/**
 * The schema node that governs the value at a dotted path: found through `properties` (and
 * `$ref`s), or the `additionalProperties` schema of a map ancestor ({} where any value goes). `undefined` when the path
 * falls outside anything the schema describes.
 */
export function schemaNodeAt(root: JsonSchema, path: string): JsonSchema | undefined {
  let node = deref(root, root);
  for (const segment of path === '' ? [] : path.split('.')) {
    const declared = node.properties?.[segment];
    if (declared) {
      node = deref(root, declared);
    } else if (typeof node.additionalProperties === 'object') {
      node = deref(root, node.additionalProperties);
    } else if (node.additionalProperties !== false) {
      return {};
    } else {
      return undefined;
    }
  }
  return node;
}

/** True when the schema node says something about its value (a type, an enum, a combinator...). */
export function constrains(node: JsonSchema): boolean {
  return ['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf'].some((k) => k in node);
}
