// CORS for /graphql by an allow-list of exact origins (CORS_ORIGINS). A page on a listed origin
// may call the gateway from a browser; any other origin gets no CORS headers, so the browser
// refuses to hand it the answer. Credentials stay off: tokens travel in Authorization, never in
// cookies. Apollo's CSRF prevention is independent of this and stays on: a listed origin still
// has to send application/json (or apollo-require-preflight), which a browser preflights.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The methods a GraphQL client uses: POST for operations, GET for queries over the URL. */
const ALLOWED_METHODS = 'GET, POST, OPTIONS';

/**
 * The request headers a GraphQL client sends: the JSON body's type, the token, the request id
 * (logs), Apollo's CSRF-prevention headers. Trusted documents travel in the body (documentId),
 * so they need no header of their own.
 */
export const ALLOWED_REQUEST_HEADERS = [
  'content-type',
  'accept',
  'authorization',
  'x-request-id',
  'apollo-require-preflight',
  'x-apollo-operation-name',
] as const;

/** Response headers a page may read beyond the CORS-safelisted ones: rate limits and the request id. */
export const EXPOSED_RESPONSE_HEADERS = [
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
  'x-request-id',
] as const;

/** How long a browser may cache a preflight's answer (seconds; Chromium caps it at 7200). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

export class CorsOriginError extends Error {}

/**
 * CORS_ORIGINS: comma-separated exact origins (`scheme://host[:port]`), none when unset.
 * A path, a wildcard or anything that is not an origin is refused at start rather than guessed at.
 */
export function parseCorsOrigins(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  const origins = new Set<string>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      // An origin has no path (one trailing slash is tolerated), query, fragment, user or wildcard.
      const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password && !entry.endsWith('//');
      if ((url.protocol === 'http:' || url.protocol === 'https:') && bare && !entry.includes('*')) origin = url.origin;
    } catch {
      origin = null;
    }
    if (origin === null) {
      throw new CorsOriginError(
        `CORS_ORIGINS: "${entry}" is not an origin; list exact origins such as https://app.example.com (scheme, host and port, no path, no wildcard).`,
      );
    }
    origins.add(origin);
  }
  return [...origins];
}

export interface Cors {
  /**
   * Adds the CORS headers a request's origin is entitled to. Returns true when it answered the
   * request itself (a preflight); the caller then does nothing more.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createCors(allowedOrigins: readonly string[]): Cors {
  const allowed = new Set(allowedOrigins);
  return {
    handle(req, res) {
      // Nothing listed: same-origin use only, every answer exactly as without CORS.
      if (allowed.size === 0) return false;
      // The answer depends on Origin, so shared caches must key on it (listed or not).
      res.setHeader('Vary', 'Origin');
      const origin = req.headers.origin;
      const listed = typeof origin === 'string' && allowed.has(origin);
      const preflight = req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
      if (!preflight) {
        if (listed) {
          res.setHeader('Access-Control-Allow-Origin', origin);
          res.setHeader('Access-Control-Expose-Headers', EXPOSED_RESPONSE_HEADERS.join(', '));
        }
        return false;
      }
      if (!listed) {
        // No CORS headers: the browser refuses the real request. The body says why, for whoever looks.
        const body = JSON.stringify({
          error: 'This origin may not call the gateway from a browser: it is not in CORS_ORIGINS.',
        });
        res.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      res.writeHead(204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': ALLOWED_METHODS,
        'Access-Control-Allow-Headers': ALLOWED_REQUEST_HEADERS.join(', '),
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
        'content-length': '0',
      });
      res.end();
      return true;
    },
  };
}
