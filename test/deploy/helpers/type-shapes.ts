/**
 * Field shapes derived from the TypeScript declarations that `kubernetes-models` and
 * `@kubernetes-models/flux-cd` ship.
 *
 * Why: those packages validate types and required fields, but their compiled validators accept
 * unknown fields, so `spec.chart.spec.sourceRf` or `readOnlyRootFileSystem` pass silently. Neither
 * package ships JSON Schema files (only compiled ajv validators), but both ship one `.d.ts`
 * interface per API type, generated from the same OpenAPI/CRD schemas. This module loads those
 * declarations with the TypeScript compiler API and turns an interface into a `Shape`: which keys
 * an object may have, recursively. Nothing is hand-written per kind.
 *
 * Mapping rules (conservative: when in doubt a value is `any`, which accepts everything):
 * - primitives, literals and unions of them -> scalar
 * - Array<T> -> array of shape(T)
 * - interface with properties -> object with exactly those keys (inherited ones included)
 * - index signature ({[key: string]: T}, e.g. labels) -> any key, values of shape(T)
 * - interface with no properties and no index signature -> any (apiextensions JSON, e.g.
 *   HelmRelease spec.values: "any valid JSON value")
 * - union of several object types, any/unknown -> any
 */
import ts from 'typescript';
import path from 'node:path';

export type Shape =
  | { readonly kind: 'any' }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'array'; readonly items: () => Shape }
  | {
      readonly kind: 'object';
      /** Shape of a field, or undefined when the field is not defined by the type. */
      readonly field: (name: string) => Shape | undefined;
      readonly knownFields: () => readonly string[];
    };

export const ANY: Shape = { kind: 'any' };
export const SCALAR: Shape = { kind: 'scalar' };

export interface TypeRef {
  /** Module specifier as a consumer imports it, e.g. 'kubernetes-models/apps/v1/Deployment'. */
  readonly module: string;
  /** Exported interface name, e.g. 'IDeployment'. */
  readonly name: string;
}

/** Loads every requested interface in one TypeScript program and resolves shapes lazily. */
export function loadShapes(refs: readonly TypeRef[], projectDir: string): Map<string, Shape> {
  const entry = path.join(projectDir, '__deploy_shapes_entry__.ts');
  const source = refs
    .map((ref, i) => `import type { ${ref.name} as T${i} } from '${ref.module}';\nexport type S${i} = T${i};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const baseGetSourceFile = host.getSourceFile.bind(host);
  const baseFileExists = host.fileExists.bind(host);
  const baseReadFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    path.resolve(fileName) === entry
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : baseGetSourceFile(fileName, languageVersion, onError, shouldCreate);
  host.fileExists = (fileName) => path.resolve(fileName) === entry || baseFileExists(fileName);
  host.readFile = (fileName) => (path.resolve(fileName) === entry ? source : baseReadFile(fileName));

  const program = ts.createProgram([entry], options, host);
  const entryFile = program.getSourceFile(entry);
  if (!entryFile) throw new Error('type-shapes: entry file was not loaded');
  const unresolved = ts
    .getPreEmitDiagnostics(program, entryFile)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (unresolved.length > 0) {
    throw new Error(`type-shapes: cannot load model declarations:\n${unresolved.join('\n')}`);
  }
  const checker = program.getTypeChecker();
  const resolver = new ShapeResolver(checker);
  const moduleSymbol = checker.getSymbolAtLocation(entryFile);
  if (!moduleSymbol) throw new Error('type-shapes: entry module has no symbol');
  const exports = checker.getExportsOfModule(moduleSymbol);
  const shapes = new Map<string, Shape>();
  refs.forEach((ref, i) => {
    const alias = exports.find((s) => s.name === `S${i}`);
    if (!alias) throw new Error(`type-shapes: ${ref.module}#${ref.name} not exported`);
    shapes.set(`${ref.module}#${ref.name}`, resolver.resolve(checker.getDeclaredTypeOfSymbol(alias)));
  });
  return shapes;
}

class ShapeResolver {
  private readonly cache = new Map<ts.Type, Shape>();

  constructor(private readonly checker: ts.TypeChecker) {}

  resolve(input: ts.Type): Shape {
    const type = this.checker.getNonNullableType(input);
    const cached = this.cache.get(type);
    if (cached) return cached;
    const shape = this.classify(type);
    this.cache.set(type, shape);
    return shape;
  }

  private classify(type: ts.Type): Shape {
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return ANY;
    if (type.isUnion()) {
      const objects = type.types.filter((t) => (t.flags & ts.TypeFlags.Object) !== 0);
      if (objects.length === 0) return SCALAR;
      if (objects.length === 1 && objects[0]) return this.resolve(objects[0]);
      return ANY;
    }
    if (!(type.flags & ts.TypeFlags.Object)) return SCALAR;
    if (this.checker.isArrayType(type)) {
      const [element] = this.checker.getTypeArguments(type as ts.TypeReference);
      return { kind: 'array', items: () => (element ? this.resolve(element) : ANY) };
    }
    const properties = this.checker.getPropertiesOfType(type);
    const indexInfos = this.checker.getIndexInfosOfType(type);
    if (properties.length === 0 && indexInfos.length === 0) return ANY;
    const byName = new Map(properties.map((p) => [p.name, p]));
    const fieldCache = new Map<string, Shape>();
    const indexValue = indexInfos[0]?.type;
    return {
      kind: 'object',
      knownFields: () => [...byName.keys()].sort(),
      field: (name) => {
        const hit = fieldCache.get(name);
        if (hit) return hit;
        const symbol = byName.get(name);
        const fieldType = symbol ? this.checker.getTypeOfSymbol(symbol) : indexValue;
        if (!fieldType) return undefined;
        const shape = this.resolve(fieldType);
        fieldCache.set(name, shape);
        return shape;
      },
    };
  }
}

/** Builds an object shape by hand (for kinds that no installed package models). */
export function objectShape(fields: Record<string, Shape>): Shape {
  const names = Object.keys(fields).sort();
  return {
    kind: 'object',
    knownFields: () => names,
    field: (name) => (Object.hasOwn(fields, name) ? fields[name] : undefined),
  };
}

export function arrayOf(items: Shape): Shape {
  return { kind: 'array', items: () => items };
}
