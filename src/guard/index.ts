// The endpoint's guard: operation limits (before execution), a budget for what runs anyway
// (deadline, response size), rate limits per caller, trusted documents. Everything is an Apollo
// option (validation rules, parse options, a plugin) or a step of the HTTP handler around Apollo,
// so it holds whatever executes the operation. src/server.ts wires it; refusals are announced on
// `events` ('refused') for logs and metrics to count.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type ApolloServerPlugin, type GraphQLRequestContext, HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import {
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLFormattedError,
  Kind,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Redis } from 'ioredis';
import type { LoginAttempts } from '../app/logins.js';
import type { Caller } from '../domain/access.js';
import type { CallerKind, GuardConfig } from './config.js';
import { operationCost } from './cost.js';
import { setDeadline } from './deadline.js';
import { GUARD_CODES, type GuardCode, guardError, limitError } from './errors.js';
import { isTokenLimitError, limitRules } from './limits.js';
import { LoginAttemptGuard } from './login-attempts.js';
import { callerKey, callerKind, type RateDecision, RateLimits } from './rate-limit.js';
import { connectRedis, tryConnect } from './redis.js';
import { documentHash, loadTrustedDocuments, mayRunAnyDocument } from './trusted-documents.js';

export type { GuardConfig } from './config.js';

/** What a refusal tells listeners (never the document, the variables or a token). */
export interface Refusal {
  code: GuardCode;
  /** OPERATION_LIMIT_EXCEEDED: which limit. */
  limit?: string;
}

/** The guard's view of one HTTP request to /graphql. */
export class GuardedRequest {
  operationType: 'query' | 'mutation' | 'subscription' | null = null;
  cost: number | null = null;
  timedOut = false;
  refusals: Refusal[] = [];
  caller: Caller | null = null;
  kind: CallerKind = 'END_USER';
  /** Sent by documentId, found in the trusted documents. */
  trusted = false;
  /** Sent by a documentId the gateway does not know. */
  unknownDocument = false;
  /** undefined: nothing drawn from the budget yet; null: the counters were unavailable (let through). */
  rate: RateDecision | null | undefined = undefined;
  constructor(readonly ip: string) {}
  get key(): string {
    return callerKey(this.caller, this.ip);
  }
}

export interface GuardOptions {
  /** Operational messages (Redis away, failing open); never a request's content. */
  log?: (message: string) => void;
}

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface Guard {
  /** Options for `new ApolloServer(…)`. */
  apollo: { validationRules: ValidationRule[]; parseOptions: ParseOptions; plugins: ApolloServerPlugin[] };
  /** Wraps the gateway's formatError: the guard's codes pass as they are, limits become OPERATION_LIMIT_EXCEEDED. */
  formatError(inner: FormatError): FormatError;
  /** Starts guarding one request; a `documentId` becomes the trusted document's text. */
  begin(req: IncomingMessage, body: unknown): { request: GuardedRequest; body: unknown };
  /** Builds the context through `build`, and ties it to the request. */
  context<T extends { caller: Caller | null }>(request: GuardedRequest, build: () => Promise<T>): Promise<T>;
  /** After Apollo answered: the response-size cap, the rate-limit headers (a refused request costs 1). */
  finish(request: GuardedRequest, result: HTTPGraphQLResponse): Promise<HTTPGraphQLResponse>;
  /** Resolves once shared counters are reachable (or were given up on: the guard then fails open). */
  ready(): Promise<void>;
  /** The Redis connection, when REDIS_URL is set. */
  redis: Redis | null;
  /** Brute-force protection of authenticate, on the same counters' store. */
  loginAttempts: LoginAttempts;
  /** 'refused' (Refusal): every refusal, for logs and metrics. */
  events: EventEmitter;
  close(): Promise<void>;
}

const GUARDED = Symbol('guarded request');
const SUGGESTION = / ?Did you mean [^?]*\?/g;

function single(status: number, errors: GraphQLFormattedError[]): HTTPGraphQLResponse {
  const body = JSON.stringify({ errors });
  const headers = new HeaderMap([['content-type', 'application/json; charset=utf-8']]);
  return { status, headers, body: { kind: 'complete', string: body } };
}

export function createGuard(config: GuardConfig, opts: GuardOptions = {}): Guard {
  const log = opts.log ?? (() => {});
  const events = new EventEmitter();
  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : null;
  const connected = redis ? tryConnect(redis) : Promise.resolve(true);
  const rates = new RateLimits(config.ratePerMinute, redis, config.redisPrefix, log);
  const loginAttempts = new LoginAttemptGuard(redis, config.redisPrefix, config.login, log);
  const documents = config.trustedDocuments ? loadTrustedDocuments(config.trustedDocuments) : null;
  // Apollo runs each operation on a shallow copy of the context: a symbol key survives the copy.
  const requests = {
    get: (ctx: object): GuardedRequest | undefined => (ctx as { [GUARDED]?: GuardedRequest })[GUARDED],
    set: (ctx: object, request: GuardedRequest) => {
      (ctx as { [GUARDED]?: GuardedRequest })[GUARDED] = request;
    },
  };
  const refuse = (request: GuardedRequest | undefined, refusal: Refusal) => {
    request?.refusals.push(refusal);
    events.emit('refused', refusal);
  };

  const plugin: ApolloServerPlugin<object> = {
    async requestDidStart() {
      return {
        async didResolveOperation(rc: GraphQLRequestContext<object>) {
          const request = requests.get(rc.contextValue);
          if (!rc.operation || !rc.document) return;
          if (request) request.operationType = rc.operation.operation;
          const document = rc.document;
          const fragments = () => {
            const found: Record<string, FragmentDefinitionNode> = {};
            for (const def of document.definitions) {
              if (def.kind === Kind.FRAGMENT_DEFINITION) found[def.name.value] = def;
            }
            return found;
          };
          const cost = operationCost(rc.schema, rc.operation, fragments, rc.request.variables);
          if (request) request.cost = cost;
          if (cost > config.limits.cost) {
            refuse(request, { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'COST' });
            throw limitError('COST', config.limits.cost, cost);
          }
          if (!request) return;
          request.rate = await rates.consume(request.kind, request.key, cost);
          if (request.rate && !request.rate.allowed) {
            refuse(request, { code: 'RATE_LIMITED' });
            const { limit, resetSeconds } = request.rate;
            throw guardError(
              'RATE_LIMITED',
              `Too many requests: this caller's budget of ${limit} cost units a minute is spent (this operation costs ${cost}). Try again in ${resetSeconds} s.`,
              { budget: limit, cost, retryAfter: resetSeconds },
              { 'retry-after': String(resetSeconds) },
            );
          }
        },
        async validationDidStart(rc: GraphQLRequestContext<object>) {
          return async (errors?: readonly Error[]) => {
            const request = requests.get(rc.contextValue);
            for (const err of errors ?? []) {
              const limit = (err as GraphQLError).extensions?.limit;
              if (typeof limit === 'string') refuse(request, { code: 'OPERATION_LIMIT_EXCEEDED', limit });
            }
          };
        },
        async parsingDidStart(rc: GraphQLRequestContext<object>) {
          return async (err?: Error) => {
            if (err && isTokenLimitError(err.message)) refuse(requests.get(rc.contextValue), { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'TOKENS' });
          };
        },
        async executionDidStart(rc: GraphQLRequestContext<object>) {
          const request = requests.get(rc.contextValue);
          // Queries only: a write stopped half way (or one reported as stopped after it committed)
          // is worse than a slow one; mutations are bounded by their inputs and the cost limit.
          if (rc.operation?.operation !== 'query') return;
          // Every field with a resolver of its own starts with checkDeadline (src/guard/deadline.ts):
          // past the deadline, the rest of the operation fails fast.
          setDeadline(rc.contextValue, performance.now() + config.executionMs, () => {
            if (request && !request.timedOut) {
              request.timedOut = true;
              refuse(request, { code: 'EXECUTION_TIMEOUT' });
            }
            return guardError('EXECUTION_TIMEOUT', timeoutMessage(config.executionMs), { max: config.executionMs });
          });
        },
        async willSendResponse(rc: GraphQLRequestContext<object>) {
          const request = requests.get(rc.contextValue);
          if (!request?.timedOut) return;
          // One clear answer instead of a partial result with an error per unfinished field.
          rc.response.body = {
            kind: 'single',
            singleResult: {
              data: null,
              errors: [
                {
                  message: timeoutMessage(config.executionMs),
                  extensions: { code: 'EXECUTION_TIMEOUT', max: config.executionMs },
                },
              ],
            },
          };
          rc.response.http.status = GUARD_CODES.EXECUTION_TIMEOUT;
        },
      };
    },
  };

  return {
    apollo: {
      validationRules: limitRules(config.limits),
      parseOptions: { maxTokens: config.limits.tokens },
      plugins: [plugin],
    },
    formatError(inner) {
      return (formatted, error) => {
        const ext = formatted.extensions ?? {};
        const code = ext.code;
        let out: GraphQLFormattedError;
        if (typeof ext.limit === 'string' && code === 'GRAPHQL_VALIDATION_FAILED') {
          // A limit reported by a validation rule: Apollo labels it a validation failure.
          const { code: _c, ...rest } = ext;
          out = { message: formatted.message, extensions: { ...rest, code: 'OPERATION_LIMIT_EXCEEDED' } };
        } else if (code === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted.message)) {
          const e = limitError('TOKENS', config.limits.tokens, null);
          out = { message: e.message, extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'TOKENS', max: config.limits.tokens } };
        } else if (typeof code === 'string' && code in GUARD_CODES) {
          const { stacktrace: _s, ...rest } = ext;
          out = { ...formatted, extensions: rest };
        } else {
          out = inner(formatted, error);
        }
        // Suggestions rebuild the schema for anyone who asks: only with the playground (and introspection) on.
        if (!config.suggestions && out.message.includes('Did you mean')) {
          out = { ...out, message: out.message.replace(SUGGESTION, '') };
        }
        return out;
      };
    },
    begin(req, body) {
      const request = new GuardedRequest(req.socket.remoteAddress ?? 'unknown');
      if (!body || typeof body !== 'object' || Array.isArray(body) || !('documentId' in body)) return { request, body };
      const { documentId, ...rest } = body as Record<string, unknown>;
      const hash = typeof documentId === 'string' ? documentHash(documentId) : null;
      const document = hash ? documents?.get(hash) : undefined;
      if (document === undefined) {
        // Refused once the caller is known (in context), so the answer carries the rate headers.
        request.unknownDocument = true;
        return { request, body: { ...rest, query: '{ __typename }' } };
      }
      request.trusted = true;
      return { request, body: { ...rest, query: document } };
    },
    async context(request, build) {
      const ctx = await build();
      request.caller = ctx.caller;
      request.kind = callerKind(ctx.caller);
      requests.set(ctx, request);
      if (request.unknownDocument) {
        refuse(request, { code: 'TRUSTED_DOCUMENT_NOT_FOUND' });
        throw guardError(
          'TRUSTED_DOCUMENT_NOT_FOUND',
          documents
            ? 'No trusted document has this documentId ("sha256:<hex>" of a document in the manifest): rebuild the client against the deployed manifest.'
            : 'This gateway has no trusted documents (TRUSTED_DOCUMENTS is not set): send the document itself as "query".',
        );
      }
      if (documents && !request.trusted && !mayRunAnyDocument(ctx.caller)) {
        refuse(request, { code: 'TRUSTED_DOCUMENT_REQUIRED' });
        throw guardError(
          'TRUSTED_DOCUMENT_REQUIRED',
          'This gateway runs only trusted documents for this caller: send {"documentId": "sha256:<hex>", "variables": {…}} with the id of a document from the client\'s manifest (tenant administrators may send any document).',
        );
      }
      return ctx;
    },
    async finish(request, result) {
      // Refused before its cost was known (parse, validation, limits): it still costs 1.
      if (request.rate === undefined) request.rate = await rates.consume(request.kind, request.key, 1);
      const capped = capResponse(request, result);
      if (request.rate) {
        capped.headers.set('ratelimit-limit', String(request.rate.limit));
        capped.headers.set('ratelimit-remaining', String(request.rate.remaining));
        capped.headers.set('ratelimit-reset', String(request.rate.resetSeconds));
      }
      return capped;
    },
    async ready() {
      await connected;
    },
    redis,
    loginAttempts,
    events,
    async close() {
      if (redis) redis.disconnect();
    },
  };

  function capResponse(request: GuardedRequest, result: HTTPGraphQLResponse): HTTPGraphQLResponse {
      if (request.operationType !== 'query' || result.body.kind !== 'complete') return result;
      const text = result.body.string;
      // A JS string's length counts UTF-16 units: at most 3 bytes each in UTF-8.
      if (text.length * 3 <= config.responseBytes) return result;
      const bytes = Buffer.byteLength(text);
      if (bytes <= config.responseBytes) return result;
      refuse(request, { code: 'RESPONSE_TOO_LARGE' });
      return single(GUARD_CODES.RESPONSE_TOO_LARGE, [
        {
          message: `The answer would be ${bytes} bytes; at most ${config.responseBytes} are sent. Ask for fewer items (a smaller first) or fewer fields.`,
          extensions: { code: 'RESPONSE_TOO_LARGE', max: config.responseBytes },
        },
      ]);
  }
}

const timeoutMessage = (ms: number) =>
  `The operation did not finish within ${ms} ms and was stopped. Ask for fewer items or fields, or try again later.`;
