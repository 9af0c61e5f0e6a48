// Builds the HTTP server from its parts: a small node:http server (Apollo 5 has no HTTP framework
// of its own) with /graphql, /healthz and /readyz. No I/O happens at import time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApolloServerPlugin, ApolloServer, HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError } from 'graphql';
import { AppError } from './app/errors.js';
import type { TokenVerifier } from './auth/tokens.js';
import type { TicketSettings } from './config.js';
import type { ScriptRegistry } from './connectors/custom-db.js';
import { buildContext, type GraphQLContext } from './graphql/context.js';
import { jitGateway } from './graphql/executor.js';
import { isInvalidScalar } from './graphql/scalars.js';
import { buildSchema } from './graphql/schema.js';
import type { Observability, RequestRecord } from './observability/index.js';
import { callerKind, newRequestRecord, observabilityPlugin, observeRequest, requestIdFrom } from './observability/requests.js';
import { createGuard, type Guard } from './guard/index.js';
import { loadGuardConfig } from './guard/config.js';
import { createCors } from './http/cors.js';
import { createPlayground, PLAYGROUND_ASSETS_PATH } from './http/playground.js';
import type { AppContext } from './app/context.js';
import { inReadScope, readFresh } from './store/read-scope.js';
import type { Store } from './store/types.js';

/** A mutation's reads see the primary's latest (its checks before its writes included). */
const freshReadsForMutations: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation(rc) {
        if (rc.operation?.operation === 'mutation') readFresh();
      },
    };
  },
};

export interface GatewayDeps {
  store: Store;
  verifier: TokenVerifier;
  scripts: ScriptRegistry;
  tickets: TicketSettings;
  /** Serve the GraphQL IDE and allow introspection. */
  playground: boolean;
  /** Limits, budget, rate limits, trusted documents (src/guard); the defaults when left out. */
  guard?: Guard;
  /** Exact origins whose pages may call /graphql from a browser (CORS); none when absent. */
  corsOrigins?: readonly string[];
  /** Where unexpected errors are reported (never with request bodies or tokens). */
  logError?: (message: string, err: unknown) => void;
  /** Logs, metrics and traces of this gateway. */
  obs: Observability;
  /** `GET /metrics` on the main port (METRICS=1). */
  metricsOnMainPort?: boolean;
  /** Webhook settings for the requests (sealing secrets, private addresses). */
  events?: AppContext['events'];
}

export interface Gateway {
  server: Server;
  listen(port: number, host?: string): Promise<number>;
  /** The management server (`/metrics`, `/healthz`, `/readyz`), listening on its own port. */
  listenManagement(port: number, host?: string): Promise<number>;
  /** Readiness turns 503 (a load balancer drains this instance); requests are still served. */
  beginShutdown(): void;
  /** Requests being served now. */
  readonly inFlight: number;
  /**
   * Stops taking connections, lets in-flight requests finish for at most `deadlineMs` (default:
   * no bound), then drops every connection still open and stops Apollo. `drained` is false when
   * the deadline cut requests short.
   */
  close(deadlineMs?: number): Promise<{ drained: boolean }>;
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

/** The body as text; rejects past MAX_BODY_BYTES. Events, not an async iterator: this runs on every request. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        cleanup();
        // Stop reading (the answer is 413); what the client still sends is discarded.
        req.resume();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // A client gone before the end of its body: nothing to answer.
    const onClose = () => {
      cleanup();
      reject(new Error('the client closed the connection before the end of its body'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
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
  const guard = deps.guard ?? createGuard(loadGuardConfig({}, deps.playground));
  const contextDeps = { ...deps, loginAttempts: guard.loginAttempts };
  const apollo = new ApolloServer<GraphQLContext>({
    // The schema, executed by graphql-jit (compiled once per document) inside Apollo's pipeline.
    gateway: jitGateway(buildSchema()),
    introspection: deps.playground,
    includeStacktraceInErrorResponses: false,
    // The gateway owns its signals (src/cli/start.ts): Apollo's own SIGTERM handler would stop it
    // behind the drain's back and leave our apollo.stop() waiting forever.
    stopOnTerminationSignals: false,
    formatError: guard.formatError(formatError(deps.logError)),
    validationRules: guard.apollo.validationRules,
    parseOptions: guard.apollo.parseOptions,
    // No cache hints: answers depend on the caller. Apollo's default cache-control plugin would
    // instrument every field resolved for nothing.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), observabilityPlugin(), freshReadsForMutations, ...guard.apollo.plugins],
  });
  await apollo.start();
  // GraphiQL served by the gateway itself (no CDN): it works with no internet access. Introspection
  // follows the same switch (`config.playground`), so production has neither unless PLAYGROUND=1.
  const playground = deps.playground ? await createPlayground() : null;
  // A read scope per request only where the store routes reads by it (a PostgreSQL replica).
  const scoped: <T>(fn: () => T) => T = deps.store.routesReads ? inReadScope : (fn) => fn();

  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): Promise<void> {
    if (req.method === 'GET' && playground && (req.headers.accept ?? '').includes('text/html')) {
      return playground.servePage(req, res);
    }
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      // The connection closes once the answer is out: a body past the limit is not read for long.
      res.setHeader('connection', 'close');
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
    const guarded = guard.begin(req, body);
    // One read scope per request (store/read-scope.ts): the caller named in the context, a
    // mutation marked, and the store decides where the request's reads run.
    const result = await guard.finish(
      guarded.request,
      await scoped(() => apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method?.toUpperCase() ?? 'GET', headers, search: url.search, body: guarded.body },
        context: () =>
          guard.context(guarded.request, async () => {
            const ctx = await buildContext(contextDeps, req.headers.authorization);
            record.callerKind = callerKind(ctx.caller);
            record.organization = ctx.caller?.orgId ?? null;
            ctx.obs = deps.obs;
            ctx.request = record;
            return ctx;
          }),
      })),
    );
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

  let shuttingDown = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  /** /healthz, /readyz and (when on) /metrics; true when the request was one of them. */
  async function probes(req: IncomingMessage, res: ServerResponse, path: string, metrics: boolean): Promise<boolean> {
    if (req.method !== 'GET') return false;
    if (path === '/healthz') {
      send(res, 200, '{"status":"ok"}');
      return true;
    }
    if (path === '/readyz') {
      // Not ready from the moment shutdown begins, so a load balancer stops sending traffic.
      if (shuttingDown) send(res, 503, '{"status":"shutting down"}');
      else {
        try {
          await deps.store.ping();
          send(res, 200, '{"status":"ready"}');
        } catch {
          send(res, 503, '{"status":"database unavailable"}');
        }
      }
      return true;
    }
    if (path === '/metrics' && metrics) {
      send(res, 200, await deps.obs.metrics.text(), deps.obs.metrics.contentType);
      return true;
    }
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    // During shutdown a kept-alive connection is closed after its answer.
    if (shuttingDown) res.setHeader('connection', 'close');
    try {
      if (url.pathname === '/graphql') {
        if (cors.handle(req, res)) return;
        const record = newRequestRecord(requestId);
        return await observeRequest(deps.obs, req, res, record, () => graphql(req, res, url, record));
      }
      if (playground && url.pathname.startsWith(PLAYGROUND_ASSETS_PATH)) return await playground.serveAsset(req, res, url.pathname);
      if (await probes(req, res, url.pathname, deps.metricsOnMainPort === true)) return;
      send(res, 404, '{"error":"not found"}');
    } catch (err) {
      deps.obs.error('unexpected error serving a request', err, { requestId });
      if (!res.headersSent) send(res, 500, '{"error":"internal server error"}');
      else res.end();
    }
  }

  const server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;

  const management = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    probes(req, res, url.pathname, true)
      .then((served) => {
        if (!served) send(res, 404, '{"error":"not found"}');
      })
      .catch((err: unknown) => {
        deps.obs.error('unexpected error serving a management request', err);
        if (!res.headersSent) send(res, 500, '{"error":"internal server error"}');
        else res.end();
      });
  });

  const listenOn = (target: Server, port: number, host?: string) =>
    new Promise<number>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, host, () => resolve((target.address() as AddressInfo).port));
    });

  return {
    server,
    listen: (port, host) => listenOn(server, port, host),
    listenManagement: (port, host) => listenOn(management, port, host),
    beginShutdown() {
      shuttingDown = true;
    },
    get inFlight() {
      return inFlight;
    },
    async close(deadlineMs) {
      shuttingDown = true;
      // No new connections; idle kept-alive ones go now, busy ones after their answer.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let drained = true;
      if (inFlight > 0) {
        const finished = new Promise<void>((resolve) => {
          idle = resolve;
        });
        if (deadlineMs === undefined) await finished;
        else {
          let timer: NodeJS.Timeout | undefined;
          const expired = new Promise<'expired'>((resolve) => {
            timer = setTimeout(() => resolve('expired'), deadlineMs);
          });
          drained = (await Promise.race([finished, expired])) !== 'expired';
          clearTimeout(timer);
        }
      }
      // Whatever is still open (a request stuck on a script, a client that keeps its socket) is dropped.
      server.closeAllConnections();
      await closed;
      management.closeAllConnections();
      await new Promise<void>((resolve) => (management.listening ? management.close(() => resolve()) : resolve()));
      await apollo.stop();
      await guard.close();
      return { drained };
    },
  };
}
