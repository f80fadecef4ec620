import { SourceError } from '../errors.ts';

/**
 * Maps what the AWS SDK throws to a SourceError. The split that matters is permanent vs.
 * transient: a missing bucket or refused credentials stay broken until someone changes the
 * config or the bucket policy, while network trouble, 5xx and throttling are worth a retry.
 */

export type S3ErrorKind = 'not_found' | 'access_denied' | 'unavailable' | 'invalid';

const NOT_FOUND_NAMES = new Set(['NoSuchBucket', 'NotFound']);
const ACCESS_DENIED_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
  'AccountProblem',
]);
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  // S3's RequestTimeout is a 400, but it means a slow connection, not a bad request.
  'RequestTimeout',
  'TimeoutError',
  // Short-lived credentials (IRSA, STS) that expired or rotated mid-build, and a clock that drifted:
  // the SDK's credential chain and time sync fix these by themselves, so a retry will do.
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'InvalidToken',
  'RequestTimeTooSkewed',
  'RequestExpired',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function classifyS3Error(error: unknown): S3ErrorKind {
  const { name, status, code } = describe(error);
  if (name === 'CredentialsProviderError') return 'access_denied';
  if (NOT_FOUND_NAMES.has(name)) return 'not_found';
  if (ACCESS_DENIED_NAMES.has(name)) return 'access_denied';
  if (TRANSIENT_NAMES.has(name)) return 'unavailable';
  if (status === 404) return 'not_found';
  if (status === 403 || status === 401) return 'access_denied';
  if (status === 429 || (status !== undefined && status >= 500)) return 'unavailable';
  if (status !== undefined && status >= 300) return 'invalid';
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return 'unavailable';
  // No HTTP answer and nothing recognisable: most likely the network, so let the build retry.
  return 'unavailable';
}

/** `key` is set when the error came from reading one object, absent for bucket-level calls. */
export function toSourceError(error: unknown, bucket: string, key?: string): SourceError {
  const kind = classifyS3Error(error);
  const { name, status, code, message } = describe(error);
  const target = key === undefined ? `S3 bucket '${bucket}'` : `s3://${bucket}/${key}`;
  const why = [name, code, status === undefined ? undefined : `HTTP ${status}`].filter((part) => part && part !== 'Error').join(', ');
  const cause = `${message}${why ? ` (${why})` : ''}`;
  switch (kind) {
    case 'not_found':
      return new SourceError(
        name === 'NoSuchBucket' || key === undefined ? `S3 bucket '${bucket}' does not exist: ${cause}` : `${target} not found: ${cause}`,
        { permanent: true, code: 'source_not_found', cause: error },
      );
    case 'access_denied':
      // Missing credentials may come back (e.g. an instance metadata blip), refused ones do not.
      return new SourceError(`access to ${target} denied: ${cause}`, {
        permanent: name !== 'CredentialsProviderError',
        code: 'source_access_denied',
        cause: error,
      });
    case 'unavailable':
      return new SourceError(`${target} is unavailable: ${cause}`, { permanent: false, code: 'source_unavailable', cause: error });
    case 'invalid':
      return new SourceError(`${target} cannot be read: ${cause}`, { permanent: true, code: 'source_invalid', cause: error });
  }
}

/** The SDK's `name` for an object that is gone; between list and get this means "deleted meanwhile". */
export function isNoSuchKey(error: unknown): boolean {
  return describe(error).name === 'NoSuchKey';
}

function describe(error: unknown): { name: string; status?: number; code?: string; message: string } {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const code = networkCode(shape);
  return {
    name: typeof shape.name === 'string' ? shape.name : '',
    ...(typeof status === 'number' ? { status } : {}),
    ...(code ? { code } : {}),
    message: typeof shape.message === 'string' && shape.message !== '' ? shape.message : String(error),
  };
}

// Node's happy-eyeballs connect reports an AggregateError whose own `code` may be missing.
function networkCode(shape: SdkErrorShape): string | undefined {
  if (typeof shape.code === 'string') return shape.code;
  if (!Array.isArray(shape.errors)) return undefined;
  const inner = (shape.errors as SdkErrorShape[]).find((item) => typeof item?.code === 'string');
  return inner?.code as string | undefined;
}
