// s3rver ships no types; this covers the part the source tests use.
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** The Koa request handler, for mounting in a server of one's own. */
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    logger: { close(): void };
  }

  export = S3rver;
}
