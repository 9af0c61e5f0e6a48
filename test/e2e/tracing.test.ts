// Traces through the real server, collected by the SDK's in-memory exporter: a request continues
// the caller's W3C traceparent; one updateUser is one operation span with its loader batches,
// store calls (the write is one transaction: one span) and, for a legacy user, the script call.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceWebhookDelivery } from '../../src/observability/tracing.js';
import { TEST_STORE } from '../helpers/database.js';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/receiver.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  provider.register();
  gw = await startTestGateway({ seed: true });
  admin = await gw.token('admin', ADMIN_SCOPES);
});

afterAll(async () => {
  await gw?.close();
  await provider.shutdown();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

async function post(query: string, variables: Record<string, unknown>, traceId = TRACE_ID, token = admin) {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${PARENT_ID}-01` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** The tree under a span, as "name" → children, for readable assertions. */
function children(spans: ReadableSpan[], of: ReadableSpan): ReadableSpan[] {
  return spans.filter((s) => parentOf(s) === of.spanContext().spanId);
}

async function userIdByEmail(email: string): Promise<string> {
  const res = await post('query ($e: String) { users(first: 1, filter: { email: $e }) { edges { node { id } } } }', { e: email }, '1'.repeat(32));
  return ((res.data?.users as { edges: { node: { id: string } }[] }).edges[0]?.node.id) as string;
}

describe('traces', () => {
  it('one updateUser: the operation span continues traceparent, with loader batches and store calls under it', async () => {
    const aliceId = await userIdByEmail('alice@acme.example');
    exporter.reset();
    const res = await post('mutation Rename($id: ID!) { updateUser(id: $id, input: { name: "Alice Traced" }) { user { name connection { name } } userErrors { code } } }', { id: aliceId });
    expect(res.errors).toBeUndefined();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
    const root = spans.find((s) => s.name === 'mutation Rename');
    expect(root).toBeDefined();
    if (!root) return;
    // Continued from the caller's traceparent.
    expect(parentOf(root)).toBe(PARENT_ID);
    expect(root.attributes['graphql.operation.name']).toBe('Rename');
    expect(root.attributes['graphql.operation.type']).toBe('mutation');
    expect(root.attributes['http.response.status_code']).toBe(200);
    // Every other span of the request is below it.
    for (const s of spans) if (s !== root) expect(spans.some((p) => p.spanContext().spanId === parentOf(s))).toBe(true);

    const direct = children(spans, root).map((s) => s.name);
    // The target (with its identities and memberships) and its connection: loader batches. The
    // caller's standing comes with their memberships, and a profile write does not read them again.
    expect(direct).toEqual(expect.arrayContaining(['store users.standing', 'loader user', 'loader connection']));
    expect(direct).not.toContain('loader membershipsByUser');
    // The write: one store call, one transaction.
    expect(direct.filter((n) => n === 'store users.apply')).toHaveLength(1);
    // A loader batch is one store call.
    const userBatch = spans.find((s) => s.name === 'loader user' && parentOf(s) === root.spanContext().spanId);
    expect(userBatch && children(spans, userBatch).map((s) => s.name)).toEqual(['store users.withRelationsByIds']);
    expect(userBatch?.attributes['loader.batch_size']).toBe(1);
    const write = spans.find((s) => s.name === 'store users.apply');
    expect(write?.attributes['db.system.name']).toBe(TEST_STORE);
    // Spans carry no personal data: no attribute holds the new name or an email.
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toMatch(/Alice Traced|@acme\.example/);
  });

  it('a custom-database login is a script-call span (function and outcome) under its operation', async () => {
    exporter.reset();
    const login = await gw.token('login-server', 'login:users');
    const traceId = 'a'.repeat(32);
    const res = await post(
      'mutation Login { authenticate(input: { connection: "legacy-db", identifier: "lena.legacy@acme.example", password: "correct-horse-battery" }) { user { id } userErrors { code } } }',
      {},
      traceId,
      login,
    );
    expect(res.errors).toBeUndefined();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const root = spans.find((s) => s.name === 'mutation Login');
    const call = spans.find((s) => s.name === 'custom_db.call');
    expect(root).toBeDefined();
    expect(call).toBeDefined();
    expect(parentOf(call as ReadableSpan)).toBe(root?.spanContext().spanId);
    expect(call?.attributes).toMatchObject({ 'custom_db.connection': 'legacy-db', 'custom_db.function': 'login', 'custom_db.outcome': 'ok' });
  });

  it('the request log line names the trace', async () => {
    const traceId = 'b'.repeat(32);
    await post('query Me { me { id } }', {}, traceId);
    const { logLines } = await import('../helpers/log-scan.js');
    expect(logLines(gw.logFile).some((l) => l.event === 'request' && l.traceId === traceId)).toBe(true);
  });

  it('a webhook delivery (the hook a sender wraps each try in) is a client span, its own trace in the background, failed on a 5xx or a throw', async () => {
    exporter.reset();
    const ok = await traceWebhookDelivery({ webhookId: 'wh_1', event: 'user.updated', attempt: 1 }, async () => ({ status: 204 }));
    expect(ok.status).toBe(204);
    await traceWebhookDelivery({ webhookId: 'wh_1', event: 'user.updated', attempt: 2 }, async () => ({ status: 503 }));
    await expect(traceWebhookDelivery({ webhookId: 'wh_1', event: 'user.deleted', attempt: 1 }, async () => Promise.reject(new TypeError('fetch failed')))).rejects.toThrow('fetch failed');
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'webhook.deliver');
    expect(spans.map((s) => [s.attributes['webhook.event'], s.attributes['webhook.attempt'], s.attributes['http.response.status_code'] ?? null, s.status.code])).toEqual([
      ['user.updated', 1, 204, SpanStatusCode.UNSET],
      ['user.updated', 2, 503, SpanStatusCode.ERROR],
      ['user.deleted', 1, null, SpanStatusCode.ERROR],
    ]);
    for (const s of spans) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.parentSpanContext).toBeUndefined();
      expect(s.attributes['webhook.id']).toBe('wh_1');
    }
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(3);
  });

  it('the real delivery worker sends each event inside a webhook.deliver span', async () => {
    const hooked = await startTestGateway({ env: { WEBHOOK_ALLOW_PRIVATE: '1', EVENTS_POLL_MS: '20' } });
    const receiver = await startReceiver();
    try {
      const token = await hooked.token('hooks', `${ADMIN_SCOPES} update:webhooks read:events`);
      const created = await hooked.gql<{ createWebhook: { webhook: { id: string } | null } }>(
        'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { code } } }',
        { input: { url: receiver.url, types: ['user.created'] } },
        token,
      );
      const id = created.data?.createWebhook.webhook?.id as string;
      expect(id).toBeTruthy();
      exporter.reset();
      const made = await hooked.gql<{ createConnection: { connection: { id: string } | null } }>(
        'mutation { createConnection(input: { name: "traced-db", kind: DATABASE }) { connection { id } } }',
        {},
        token,
      );
      expect(made.errors).toBeUndefined();
      const user = await hooked.gql('mutation { createUser(input: { connection: "traced-db", email: "traced@example.com", password: "a-fine-password-1" }) { userErrors { code } } }', {}, token);
      expect(user.errors).toBeUndefined();
      await receiver.waitFor((r) => r.accepted().length >= 1);
      await hooked.runtime.events.drain();
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'webhook.deliver' && s.attributes['webhook.id'] === id);
      expect(spans.length).toBe(1);
      expect(spans[0]?.attributes['webhook.event']).toBe('user.created');
      expect(spans[0]?.kind).toBe(SpanKind.CLIENT);
    } finally {
      await receiver.close();
      await hooked.close();
    }
  });
});
