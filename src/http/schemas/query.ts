import { Type, type Static } from '@sinclair/typebox';

export const MAX_QUERY_LENGTH = 4000;
export const MAX_TOP_K = 50;
export const DEFAULT_TOP_K = 4;

export const QueryBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH }),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOP_K, default: DEFAULT_TOP_K })),
  },
  { additionalProperties: false },
);
export type QueryBody = Static<typeof QueryBody>;

export const QuerySource = Type.Object({
  id: Type.String(),
  score: Type.Number(),
  text: Type.String(),
  metadata: Type.Object({ source: Type.String() }, { additionalProperties: true }),
});

export const QueryResponse = Type.Object({
  tenant_id: Type.String(),
  version: Type.String(),
  response: Type.String(),
  sources: Type.Array(QuerySource),
  took_ms: Type.Number(),
});
export type QueryResponse = Static<typeof QueryResponse>;
