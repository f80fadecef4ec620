import type { IncomingHttpHeaders } from 'node:http';
import { InvalidRequestError, PreconditionRequiredError } from '../../errors.ts';
import type { Principal } from '../auth/jwt-verifier.ts';

/**
 * `If-Match` carries the ModifyIndex the client last read (`0` = "create, it must not exist").
 * Accepted forms: `12` or the ETag we send, `"12"`. Anything else (lists, `*`, weak tags, signs,
 * fractions, numbers beyond 2^53) is a 400: guessing what a client meant would defeat the check.
 */
export function parseIfMatch(header: string | string[] | undefined): number {
  if (header === undefined) throw new PreconditionRequiredError('If-Match is required: send the modify_index you read (0 to create)');
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  const match = /^(?:"(\d{1,16})"|(\d{1,16}))$/.exec(text);
  const value = Number(match?.[1] ?? match?.[2]);
  if (!match || !Number.isSafeInteger(value)) {
    throw new InvalidRequestError(`If-Match must be a modify_index such as 42 or "42" (0 to create), got '${text.slice(0, 40)}'`);
  }
  return value;
}

/** The ETag of a config: its ModifyIndex, quoted as RFC 9110 wants. */
export function etagOf(modifyIndex: number): string {
  return `"${modifyIndex}"`;
}

const ADMIN_USER = /^[A-Za-z0-9._@+-]{1,64}$/;

/**
 * Who made a write, for the audit log. In AUTH_MODE=jwt it is the verified token's subject: a header
 * any admin could set must not decide whose name a write carries. With the shared token (none mode,
 * loopback only) nothing tells operators apart, so the UI sends `X-Admin-User`: informational, not proof.
 */
export function auditUser(request: { readonly principal?: Principal | undefined; readonly headers: IncomingHttpHeaders }): string {
  if (request.principal) return request.principal.subject || 'unknown subject';
  return adminUser(request.headers['x-admin-user']);
}

function adminUser(header: string | string[] | undefined): string {
  if (header === undefined || header === '') return 'admin';
  if (typeof header !== 'string' || !ADMIN_USER.test(header)) {
    throw new InvalidRequestError('X-Admin-User must be 1-64 characters of letters, digits and ._@+-');
  }
  return header;
}
