import { Type, type Static } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'stable machine-readable code, e.g. tenant_not_found' }),
    message: Type.String(),
  },
  { additionalProperties: true, $id: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const TenantParams = Type.Object({
  tenant: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'tenant id' }),
});
export type TenantParams = Static<typeof TenantParams>;
