import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths that may carry credentials. Redacted at the logger so that no call site can leak a token
 * by logging a request or an options object.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-consul-token"]',
  'headers.authorization',
  'headers["x-consul-token"]',
  'token',
  'apiKey',
  'password',
  'secret',
];

export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings = { level: process.env.LOG_LEVEL ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...options };
  return destination ? pino(settings, destination) : pino(settings);
}

/** A logger that discards everything, for tests and library defaults. */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
