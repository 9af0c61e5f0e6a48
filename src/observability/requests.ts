// Per-request observability: the request id, one span, one log line and one histogram sample per
// GraphQL request. The Apollo plugin only notes the operation and the answered error codes (no
// per-field hooks), so it costs a few property writes per request.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Caller } from '../domain/access.js';
import type { CallerKind, Observability, RequestRecord } from './index.js';
import { UNKNOWN_OPERATION } from './metrics.js';
import { context, contextFromHeaders, trace, tracer } from './tracing.js';

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The caller's `x-request-id` when it is short and plain, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID.test(value) ? value : randomUUID();
}

export function callerKind(caller: Caller | null): CallerKind {
  if (!caller) return 'anonymous';
  // A login server holds login:users and nothing else; any other scope makes a tenant administrator.
  if (caller.scopes.size === 1 && caller.scopes.has('login:users')) return 'login_server';
  if (caller.scopes.size > 0) return 'tenant_admin';
  if (caller.adminOrganizationIds.size > 0) return 'help_desk';
  return 'user';
}

export function newRequestRecord(requestId: string): RequestRecord {
  return { requestId, operationName: null, operationType: null, callerKind: 'anonymous', organization: null, errorCodes: [] };
}

interface WithRecord {
  request?: RequestRecord;
}

/** Notes the operation's name and type once resolved, and the codes of the errors answered. */
export function observabilityPlugin(): ApolloServerPlugin<WithRecord> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          const record = contextValue.request;
          if (!record || !operation) return;
          record.operationName = operation.name?.value ?? null;
          record.operationType = operation.operation;
          const span = trace.getSpan(context.active());
          if (span) {
            span.updateName(`${operation.operation}${operation.name ? ` ${operation.name.value}` : ''}`);
            span.setAttribute('graphql.operation.type', operation.operation);
            if (operation.name) span.setAttribute('graphql.operation.name', operation.name.value);
          }
        },
        async willSendResponse({ contextValue, response }) {
          const record = contextValue.request;
          if (!record || response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            const code = error.extensions?.code;
            record.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
          }
        },
      };
    },
  };
}

/** The request's log line: ids, names, codes and numbers only (it is written without redaction). */
export function requestLine(record: RequestRecord, seconds: number, status: number, outcome: 'ok' | 'error', traceId: string | null) {
  return {
    event: 'request',
    requestId: record.requestId,
    operationName: record.operationName?.slice(0, 100) ?? null,
    operationType: record.operationType,
    durationMs: Math.round(seconds * 10_000) / 10,
    status,
    outcome,
    errorCodes: record.errorCodes,
    callerKind: record.callerKind,
    organization: record.organization,
    ...(traceId ? { traceId } : {}),
  };
}

/**
 * Runs one GraphQL request inside a server span that continues the caller's `traceparent`; at the
 * end writes the request's log line and metrics. `run` fills the record (through the context).
 */
export async function observeRequest(
  obs: Observability,
  req: IncomingMessage,
  res: ServerResponse,
  record: RequestRecord,
  run: () => Promise<void>,
): Promise<void> {
  const started = performance.now();
  const parent = contextFromHeaders(req.headers);
  await tracer().startActiveSpan(
    'graphql',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': '/graphql' } },
    parent,
    async (span: Span) => {
      try {
        await run();
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const status = res.statusCode;
        const outcome = record.errorCodes.length > 0 || status >= 400 ? 'error' : 'ok';
        span.setAttribute('http.response.status_code', status);
        if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorCodes.join(',') || String(status) });
        const traceId = span.isRecording() ? span.spanContext().traceId : null;
        span.end();
        const operation = record.operationType ? obs.metrics.operationLabel(record.operationName) : UNKNOWN_OPERATION;
        obs.metrics.observeRequest({ operation, type: record.operationType ?? 'unknown', outcome, seconds });
        obs.metrics.countErrors(record.errorCodes);
        obs.requestLog.info(requestLine(record, seconds, status, outcome, traceId), 'request');
      }
    },
  );
}
