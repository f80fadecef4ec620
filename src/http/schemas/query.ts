import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_TOP_K, MAX_TOP_K } from '../../tenants/tenant-config.ts';

export { DEFAULT_TOP_K, MAX_TOP_K };
export const MAX_QUERY_LENGTH = 4000;

export const QueryBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH }),
    // No schema default: an absent top_k falls back to the tenant's retrieval.top_k, then to 4.
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOP_K })),
    /** Server-Sent Events: `sources`, then `delta`s of the response, then `done` (or `error`). */
    stream: Type.Optional(Type.Boolean()),
    /** `answer` (default) synthesises a response; `retrieve` returns only the ranked sources (`response: null`). */
    mode: Type.Optional(Type.Union([Type.Literal('answer'), Type.Literal('retrieve')])),
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
  /** null for `"mode": "retrieve"`. */
  response: Type.Union([Type.String(), Type.Null()]),
  sources: Type.Array(QuerySource),
  took_ms: Type.Number(),
});
export type QueryResponse = Static<typeof QueryResponse>;
