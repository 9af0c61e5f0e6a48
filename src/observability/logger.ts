// Structured logs (pino): one JSON line per event on stdout, pretty only when a terminal is
// attached. Nothing personal or secret goes in: the fields are ids, names, codes and counts, and
// any free text (an error's message) passes through scrub() first.
import pino, { type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

// pino-pretty only for a terminal: loaded then, not by every production start.
const require = createRequire(import.meta.url);

export type { Logger };

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info (default), debug, trace, silent. */
  level?: string;
  /** Which instance wrote the line (host and pid by default). */
  instance: string;
  /** A file path to append to (tests), or a stream; stdout by default. */
  destination?: string | DestinationStream;
  /** Pretty lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Belt and braces: should a caller ever pass one of these keys, its value is not written.
export const REDACT = [
  'authorization',
  'password',
  'newPassword',
  'token',
  'ticket',
  'email',
  'phoneNumber',
  'identifier',
  'userMetadata',
  'appMetadata',
  'body',
  'headers.authorization',
  '*.authorization',
  '*.password',
  '*.token',
  '*.ticket',
  '*.email',
  '*.phoneNumber',
  '*.identifier',
];

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? 'info';
  const options: pino.LoggerOptions = {
    level,
    base: { instance: opts.instance },
    redact: { paths: REDACT, censor: '[redacted]' },
    // Errors become { type, message } with the message scrubbed; never a stack with arguments.
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (typeof opts.destination === 'string') {
    return pino(options, pino.destination({ dest: opts.destination, sync: true, mkdir: true }));
  }
  if (opts.destination) return pino(options, opts.destination);
  if (opts.pretty ?? process.stdout.isTTY === true) {
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino(options, pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,instance' }));
  }
  // Asynchronous writes: a line is written off the request's path, lines that pile up while one
  // write is under way go out together, and a slow reader of stdout does not stall the gateway.
  // pino flushes what is left synchronously at exit (process.exit() included); only a SIGKILL
  // can lose the last lines.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** A logger that writes nothing (CLI jobs, unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface SerializedError {
  type: string;
  message: string;
  code?: string;
  /** The error at the end of the cause chain (a driver's behind drizzle's "Failed query", say), when it is another. */
  cause?: { type: string; message: string; code?: string };
}

export function serializeError(err: unknown): SerializedError {
  // Already serialized (Observability.error serializes, then pino's `err` serializer sees the result).
  if (isSerialized(err)) return err;
  if (err instanceof Error) {
    const own = oneError(err);
    const root = rootCause(err);
    return root === err ? own : { ...own, cause: oneError(root) };
  }
  return { type: typeof err, message: scrub(String(err)) };
}

function oneError(err: Error): { type: string; message: string; code?: string } {
  const code = (err as { code?: unknown }).code;
  return {
    type: err.constructor?.name || 'Error',
    message: scrub(withoutValues(err.message, code)),
    ...(typeof code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(code) ? { code } : {}),
  };
}

/**
 * An error's message without the values it may quote: drizzle's "Failed query: …" names the
 * statement's parameters after "params:" (names, metadata, anything a user typed), and
 * PostgreSQL's data exceptions (SQLSTATE class 22) quote the offending input.
 */
function withoutValues(message: string, code: unknown): string {
  if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return `data exception (SQLSTATE ${code})`;
  const params = message.search(/\n?params: /);
  return params >= 0 ? `${message.slice(0, params)} (parameters not logged)` : message;
}

/** The last Error of `cause` (and GraphQL's `originalError`) links, at most a few deep. */
function rootCause(err: Error): Error {
  let at = err;
  for (let depth = 0; depth < 8; depth += 1) {
    const next = (at as { originalError?: unknown }).originalError ?? at.cause;
    if (!(next instanceof Error)) break;
    at = next;
  }
  return at;
}

function isSerialized(err: unknown): err is SerializedError {
  return (
    typeof err === 'object' && err !== null && !(err instanceof Error) && typeof (err as { type?: unknown }).type === 'string' && typeof (err as { message?: unknown }).message === 'string'
  );
}

const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/g;
const JWT = /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g;
const PHONE = /\+?\d[\d ().-]{6,}\d/g;
// Long opaque strings: tickets (base64url of 32 bytes), secrets, hashes.
const OPAQUE = /[A-Za-z0-9_-]{32,}|\$(?:2[aby]|argon2id?|scrypt)\$[^\s"']+/g;
const MAX_TEXT = 300;

/** Free text made safe to log: addresses, phone numbers, tokens and long opaque strings masked, bounded. */
export function scrub(text: string): string {
  const masked = text
    .replace(JWT, '<token>')
    .replace(EMAIL, '<email>')
    .replace(OPAQUE, '<secret>')
    .replace(PHONE, '<number>')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f]+/g, ' ');
  return masked.length > MAX_TEXT ? `${masked.slice(0, MAX_TEXT - 1)}…` : masked;
}
