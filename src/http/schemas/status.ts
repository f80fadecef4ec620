import { Type } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

export const TenantStatusSchema = Type.Object({
  tenant_id: Type.String(),
  state: Type.Union([
    Type.Literal('building'),
    Type.Literal('ready'),
    Type.Literal('failed'),
    Type.Literal('config_error'),
    Type.Literal('inactive'),
  ]),
  serving_version: Nullable(Type.String()),
  desired_version: Nullable(Type.String()),
  modify_index: Type.Number(),
  documents: Nullable(Type.Number()),
  chunks: Nullable(Type.Number()),
  skipped_files: Nullable(Type.Number()),
  skipped_sample: Type.Array(Type.Object({ key: Type.String(), reason: Type.String(), detail: Type.Optional(Type.String()) })),
  last_build_ms: Nullable(Type.Number()),
  last_error: Type.Union([
    Type.Object({ code: Type.String(), message: Type.String(), at: Type.Optional(Type.String()) }),
    Type.Null(),
  ]),
  loaded_at: Nullable(Type.String()),
  warnings: Type.Array(Type.String()),
});

export const KvStatusSchema = Type.Object({
  last_index: Type.Number(),
  connected: Type.Boolean(),
  last_error: Nullable(Type.String()),
  last_contact_at: Nullable(Type.String()),
});

export const TenantListResponse = Type.Object({
  tenants: Type.Array(TenantStatusSchema),
  kv: KvStatusSchema,
});

export const TenantStatusResponse = Type.Intersect([TenantStatusSchema, Type.Object({ kv: KvStatusSchema })]);

export const ReadyResponse = Type.Object({
  ready: Type.Boolean(),
  waiting_for: Type.Array(Type.String()),
});
