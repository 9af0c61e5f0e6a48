// Builds the HTTP server from its parts: a small node:http server (Apollo 5 has no HTTP framework
// of its own) with /graphql, /healthz and /readyz. No I/O happens at import time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError } from 'graphql';
import { AppError } from './app/errors.js';
import type { TokenVerifier } from './auth/tokens.js';
import type { TicketSettings } from './config.js';
import type { ScriptRegistry } from './connectors/custom-db.js';
import { buildContext, type GraphQLContext } from './graphql/context.js';
import { createCors } from './http/cors.js';
import { isInvalidScalar } from './graphql/scalars.js';
import { buildSchema } from './graphql/schema.js';
import { createPlayground, PLAYGROUND_ASSETS_PATH } from './http/playground.js';
import type { Store } from './store/types.js';

export interface GatewayDeps {
  store: Store;
  verifier: TokenVerifier;
  scripts: ScriptRegistry;
  tickets: TicketSettings;
  /** Serve the GraphQL IDE and allow introspection. */
  playground: boolean;
  /** Exact origins whose pages may call /graphql from a browser (CORS); none when absent. */
  corsOrigins?: readonly string[];
  /** Where unexpected errors are reported (never with request bodies or tokens). */
  logError?: (message: string, err: unknown) => void;
}

export interface Gateway {
  server: Server;
  listen(port: number, host?: string): Promise<number>;
  /** Stops taking connections, lets in-flight requests finish, then stops Apollo. */
  close(): Promise<void>;
}

/** Codes a client may see as they are; anything else is masked as an internal error. */
const PUBLIC_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'FIELD_NOT_EDITABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export function formatError(logError: GatewayDeps['logError']) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof AppError) {
      return {
        message: original.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { ...original.extensions, code: original.code },
      };
    }
    const code = formatted.extensions?.code;
    // A scalar refusing a value (a bad email, URL or phone number), even as a literal, is malformed input.
    if (isInvalidScalar(error)) {
      return {
        message: formatted.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        extensions: { code: 'BAD_USER_INPUT' },
      };
    }
    if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
      const { stacktrace: _s, exception: _e, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logError?.('unexpected error in a GraphQL operation', original);
    return {
      message: 'Internal server error.',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'application/json; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const apollo = new ApolloServer<GraphQLContext>({
    schema: buildSchema(),
    introspection: deps.playground,
    includeStacktraceInErrorResponses: false,
    formatError: formatError(deps.logError),
    // No cache hints: answers depend on the caller. Apollo's default cache-control plugin would
    // instrument every field resolved for nothing.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
  });
  await apollo.start();
  // GraphiQL served by the gateway itself (no CDN): it works with no internet access. Introspection
  // follows the same switch (`config.playground`), so production has neither unless PLAYGROUND=1.
  const playground = deps.playground ? await createPlayground() : null;

  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'GET' && playground && (req.headers.accept ?? '').includes('text/html')) {
      return playground.servePage(req, res);
    }
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      send(
        res,
        413,
        JSON.stringify({
          errors: [{ message: 'Request body too large.', extensions: { code: 'BAD_REQUEST' } }],
        }),
      );
      return;
    }
    let body: unknown = raw;
    if ((req.headers['content-type'] ?? '').includes('application/json') && raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        send(
          res,
          400,
          JSON.stringify({
            errors: [{ message: 'The body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }],
          }),
        );
        return;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method?.toUpperCase() ?? 'GET', headers, search: url.search, body },
      context: () => buildContext(deps, req.headers.authorization),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  const cors = createCors(deps.corsOrigins ?? []);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/graphql') {
        if (cors.handle(req, res)) return;
        return await graphql(req, res, url);
      }
      if (playground && url.pathname.startsWith(PLAYGROUND_ASSETS_PATH)) return await playground.serveAsset(req, res, url.pathname);
      if (url.pathname === '/healthz' && req.method === 'GET') return send(res, 200, '{"status":"ok"}');
      if (url.pathname === '/readyz' && req.method === 'GET') {
        try {
          await deps.store.ping();
          return send(res, 200, '{"status":"ready"}');
        } catch {
          return send(res, 503, '{"status":"database unavailable"}');
        }
      }
      send(res, 404, '{"error":"not found"}');
    } catch (err) {
      deps.logError?.('unexpected error serving a request', err);
      if (!res.headersSent) send(res, 500, '{"error":"internal server error"}');
      else res.end();
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
        server.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}
