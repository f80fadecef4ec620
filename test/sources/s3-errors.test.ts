import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import { classifyS3Error, isNoSuchKey, toSourceError } from '../../src/sources/s3-errors.ts';

/** The shape the AWS SDK gives service errors: a `name` plus the HTTP status in `$metadata`. */
function serviceError(name: string, httpStatusCode: number, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyS3Error', () => {
  it.each([
    ['NoSuchBucket', serviceError('NoSuchBucket', 404), 'not_found'],
    ['a bare 404 (HEAD-style, no body)', serviceError('NotFound', 404), 'not_found'],
    ['AccessDenied', serviceError('AccessDenied', 403), 'access_denied'],
    ['InvalidAccessKeyId', serviceError('InvalidAccessKeyId', 403), 'access_denied'],
    ['SignatureDoesNotMatch', serviceError('SignatureDoesNotMatch', 403), 'access_denied'],
    ['an unnamed 403', serviceError('UnknownError', 403), 'access_denied'],
    ['SlowDown', serviceError('SlowDown', 503), 'unavailable'],
    ['a 500', serviceError('InternalError', 500), 'unavailable'],
    ['a 502 from a proxy', serviceError('Unknown', 502), 'unavailable'],
    ['429 throttling', serviceError('TooManyRequests', 429), 'unavailable'],
    ['RequestTimeout (a 400 that means a slow link)', serviceError('RequestTimeout', 400), 'unavailable'],
    ['ExpiredToken (short-lived credentials ran out)', serviceError('ExpiredToken', 400), 'unavailable'],
    ['InvalidToken (a session token rotated)', serviceError('InvalidToken', 400), 'unavailable'],
    ['RequestTimeTooSkewed (a 403 from a drifting clock)', serviceError('RequestTimeTooSkewed', 403), 'unavailable'],
    ['PermanentRedirect (bucket in another region)', serviceError('PermanentRedirect', 301), 'invalid'],
    ['InvalidBucketName', serviceError('InvalidBucketName', 400), 'invalid'],
    ['ECONNREFUSED', networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), 'unavailable'],
    ['socket hang up', networkError('ECONNRESET', 'socket hang up'), 'unavailable'],
    ['ETIMEDOUT', networkError('ETIMEDOUT', 'connect ETIMEDOUT'), 'unavailable'],
    ['a TimeoutError from the SDK', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'unavailable'],
    ['missing credentials', Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }), 'access_denied'],
  ] as const)('%s → %s', (_label, error, kind) => {
    expect(classifyS3Error(error)).toBe(kind);
  });

  it('finds the network code inside an AggregateError (happy-eyeballs connect)', () => {
    const error = new AggregateError([networkError('ECONNREFUSED', 'connect ECONNREFUSED ::1:9')], '');
    expect(classifyS3Error(error)).toBe('unavailable');
    expect(toSourceError(error, 'kb').message).toContain('ECONNREFUSED');
  });
});

describe('toSourceError', () => {
  it('names the bucket for bucket-level failures and keeps the SDK error as cause', () => {
    const cause = serviceError('NoSuchBucket', 404, 'The specified bucket does not exist');
    const error = toSourceError(cause, 'kb-alpha');
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source_not_found', permanent: true, cause });
    expect(error.message).toBe("S3 bucket 'kb-alpha' does not exist: The specified bucket does not exist (NoSuchBucket, HTTP 404)");
  });

  it('names the object for object-level failures', () => {
    const error = toSourceError(serviceError('AccessDenied', 403, 'Access Denied'), 'kb', 'docs/a.pdf');
    expect(error).toMatchObject({ code: 'source_access_denied', permanent: true });
    expect(error.message).toBe('access to s3://kb/docs/a.pdf denied: Access Denied (AccessDenied, HTTP 403)');
  });

  it('marks transient failures as retryable', () => {
    expect(toSourceError(serviceError('SlowDown', 503), 'kb')).toMatchObject({ code: 'source_unavailable', permanent: false });
    expect(toSourceError(serviceError('PermanentRedirect', 301), 'kb')).toMatchObject({ code: 'source_invalid', permanent: true });
    // Missing credentials can come back (instance metadata blip); refused ones cannot.
    const missing = Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' });
    expect(toSourceError(missing, 'kb')).toMatchObject({ code: 'source_access_denied', permanent: false });
  });
});

describe('isNoSuchKey', () => {
  it('recognises only a missing object', () => {
    expect(isNoSuchKey(serviceError('NoSuchKey', 404))).toBe(true);
    expect(isNoSuchKey(serviceError('NoSuchBucket', 404))).toBe(false);
    expect(isNoSuchKey('NoSuchKey')).toBe(false);
  });
});
