import { Type, type Static } from '@sinclair/typebox';
import { AUDIT_ID_PATTERN } from '../admin/audit.ts';
import { TenantStatusSchema } from './status.ts';

const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

const Issue = Type.Object({ path: Type.String(), message: Type.String() });

/** A config as stored in KV; `config` is any JSON (or the raw text of a value that is not JSON). */
export const StoredConfigSchema = Type.Object({
  tenant_id: Type.String(),
  modify_index: Type.Number(),
  config: Type.Unknown(),
  valid: Type.Boolean(),
  issues: Type.Array(Issue),
});

export const AdminTenantListResponse = Type.Object({
  kv_index: Type.Number(),
  tenants: Type.Array(
    Type.Intersect([StoredConfigSchema, Type.Object({ status: Type.Union([TenantStatusSchema, Type.Null()], { description: "this pod's status; null until its watcher has seen the key" }) })]),
  ),
});

export const WriteResponse = Type.Object({
  tenant_id: Type.String(),
  modify_index: Nullable(Type.Number()),
  config: Type.Unknown(),
  warnings: Type.Array(Type.String()),
});

export const ReindexResponse = Type.Intersect([WriteResponse, Type.Object({ old_version: Type.String(), version: Type.String() })]);

export const DeleteResponse = Type.Object({ tenant_id: Type.String(), deleted: Type.Literal(true) });

export const ValidateResponse = Type.Object({ valid: Type.Boolean(), issues: Type.Array(Issue) });

/** Strings, not integers: the app does not coerce query strings, so the pattern is the bound (1..100). */
export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1..100 (default 20)' })),
    before: Type.Optional(Type.String({ pattern: AUDIT_ID_PATTERN, description: 'the `next` of the previous page' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditRecordSchema = Type.Object({
  id: Type.String(),
  at: Type.String(),
  who: Type.String(),
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete'), Type.Literal('reindex')]),
  tenant_id: Type.String(),
  old_version: Nullable(Type.String()),
  new_version: Nullable(Type.String()),
  old_config: Type.Unknown(),
  new_config: Type.Unknown(),
});

export const AuditPageResponse = Type.Object({ records: Type.Array(AuditRecordSchema), next: Nullable(Type.String()) });

const RolloutCellSchema = Type.Object({
  pod: Type.String(),
  reachable: Type.Boolean(),
  state: Type.Union([TenantStatusSchema.properties.state, Type.Null()]),
  serving_version: Nullable(Type.String()),
  desired_version: Nullable(Type.String()),
});

export const RolloutResponse = Type.Object({
  pods: Type.Array(Type.Object({ pod: Type.String(), url: Nullable(Type.String()), reachable: Type.Boolean(), error: Nullable(Type.String()) })),
  tenants: Type.Array(Type.Object({ tenant_id: Type.String(), converged: Type.Boolean(), pods: Type.Array(RolloutCellSchema) })),
});

export const ThemeResponse = Type.Object({
  tenant_id: Type.String(),
  theme: Type.Object(
    {
      primary_color: Type.Optional(Type.String()),
      secondary_color: Type.Optional(Type.String()),
      font_color: Type.Optional(Type.String()),
      logo_url: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
});
