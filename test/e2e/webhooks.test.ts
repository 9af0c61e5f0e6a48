// Webhooks through the real server and a real local HTTP receiver: signed deliveries (checked
// here with node:crypto as the Standard Webhooks convention says, not with the gateway's code),
// types, retries with backoff, redelivery, ordering per subject under 200 concurrent updates, a dead
// receiver that delays no other, two instances on one database delivering each event once, and the
// URL rules.
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let hooks: string;
const receivers: Receiver[] = [];

const FAST = { WEBHOOK_ALLOW_PRIVATE: '1', EVENTS_POLL_MS: '20', WEBHOOK_RETRY_BASE_MS: '10', WEBHOOK_RETRY_MAX_MS: '40', WEBHOOK_TIMEOUT_MS: '3000' };

const CREATE = `mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { webhook { id url types } secret userErrors { field code message } }
}`;
type Created = { createWebhook: { webhook: { id: string; url: string; types: string[] } | null; secret: string | null; userErrors: { field: string[] | null; code: string; message: string }[] } };

async function webhook(url: string, types: string[] = [], token = hooks, on = gw): Promise<{ id: string; secret: string }> {
  const res = await on.gql<Created>(CREATE, { input: { url, types } }, token);
  expect(res.errors).toBeUndefined();
  expect(res.data?.createWebhook.userErrors).toEqual([]);
  return { id: res.data?.createWebhook.webhook?.id as string, secret: res.data?.createWebhook.secret as string };
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

const UPDATE = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { version } userErrors { code } } }';
const rename = (id: string, name: string, on = gw, token = admin) => on.gql(UPDATE, { id, input: { name } }, token);

/** The Standard Webhooks check, written out: base64 HMAC-SHA256 of "id.timestamp.body" with the decoded secret. */
function signatureOf(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

const bodyOf = (r: { body: string }) => JSON.parse(r.body) as { id: string; type: string; subject: string; data: { version?: number; fields: string[]; actor: string } };

let n = 0;
async function newUser(on = gw, token = admin): Promise<string> {
  n += 1;
  return createUser(on, token, { connection: 'wh', email: `w${n}@wh.example`, password: 'first-password-1' });
}

beforeAll(async () => {
  gw = await startTestGateway({ env: FAST });
  admin = await adminToken(gw);
  hooks = await gw.token('hook-admin', 'update:webhooks read:events');
  await createConnection(gw, admin, { name: 'wh', kind: 'DATABASE' });
});

afterAll(async () => {
  await gw?.close();
  for (const r of receivers) await r.close();
});

describe('webhooks', () => {
  it('deliveries are CloudEvents, signed as Standard Webhooks says; the secret is shown once', async () => {
    const r = await receiver();
    const { id: hookId, secret } = await webhook(r.url);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const listed = await gw.gql<{ webhooks: Record<string, unknown>[] }>('{ webhooks { id url types createdAt delivery { deliveredThrough attempts } } }', {}, hooks);
    expect(listed.data?.webhooks.find((w) => w.id === hookId)).toMatchObject({ url: r.url, types: [] });
    expect(JSON.stringify(listed.data)).not.toContain(secret.slice(6));
    expect(errorCode(await gw.gql('{ webhooks { id } }', {}, admin))).toBe('FORBIDDEN');

    const user = await newUser();
    await rename(user, 'Signed Name');
    await r.waitFor((x) => x.accepted().length >= 2);
    const [created, updated] = r.accepted();
    expect(bodyOf(created as never)).toMatchObject({ type: 'user.created', subject: user });
    const body = bodyOf(updated as never);
    expect(body).toMatchObject({ specversion: '1.0', type: 'user.updated', subject: user, source: '/profile-gateway', datacontenttype: 'application/json', data: { version: 2, fields: ['NAME'], actor: 'admin@tenant' } });
    expect(updated?.body).not.toContain('Signed Name');
    for (const d of r.accepted()) {
      const h = d.headers;
      expect(h['webhook-id']).toBe(bodyOf(d).id);
      expect(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(h['webhook-signature']).toBe(signatureOf(secret, String(h['webhook-id']), String(h['webhook-timestamp']), d.body));
      expect(h['content-type']).toBe('application/json');
    }
    // A secret of one's own is used as given.
    const own = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const r2 = await receiver();
    const res = await gw.gql<Created>(CREATE, { input: { url: r2.url, secret: own, types: ['user.updated'] } }, hooks);
    expect(res.data?.createWebhook.secret).toBe(own);
    await rename(user, 'Again');
    await r2.waitFor((x) => x.accepted().length >= 1);
    const d = r2.accepted()[0] as Received;
    expect(d.headers['webhook-signature']).toBe(signatureOf(own, String(d.headers['webhook-id']), String(d.headers['webhook-timestamp']), d.body));
    const bad = await gw.gql<Created>(CREATE, { input: { url: r2.url, secret: 'short', types: ['user.renamed'] } }, hooks);
    expect(bad.data?.createWebhook.userErrors.map((e) => e.code).sort()).toEqual(['INVALID_WEBHOOK_SECRET', 'UNKNOWN_EVENT_TYPE']);
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: hookId }, hooks);
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: res.data?.createWebhook.webhook?.id }, hooks);
  });

  it('types: a webhook receives only its types', async () => {
    const r = await receiver();
    const { id } = await webhook(r.url, ['user.blocked', 'user.unblocked']);
    const user = await newUser();
    await rename(user, 'Not sent');
    await gw.gql(UPDATE, { id: user, input: { blocked: true } }, admin);
    await gw.gql(UPDATE, { id: user, input: { blocked: false } }, admin);
    await r.waitFor((x) => x.accepted().length >= 2);
    await gw.runtime.events.drain();
    expect(r.accepted().map((d) => bodyOf(d).type)).toEqual(['user.blocked', 'user.unblocked']);
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id }, hooks);
  });

  it('a receiver that fails five times then succeeds gets each event exactly once more, in order', async () => {
    const r = await receiver();
    r.respond = ({ n: i }) => (i <= 5 ? 500 : 200);
    const { id } = await webhook(r.url);
    const user = await newUser();
    for (const name of ['One', 'Two', 'Three']) await rename(user, name);
    await r.waitFor((x) => x.accepted().length >= 4);
    await new Promise((res) => setTimeout(res, 200));
    const failed = r.received.filter((d) => d.status === 500);
    expect(failed).toHaveLength(5);
    // The five failures were one event, tried again with the same webhook-id.
    expect(new Set(failed.map((d) => d.headers['webhook-id'])).size).toBe(1);
    const ok = r.accepted().map((d) => bodyOf(d));
    expect(ok.map((e) => [e.type, e.data.version])).toEqual([
      ['user.created', 1],
      ['user.updated', 2],
      ['user.updated', 3],
      ['user.updated', 4],
    ]);
    expect(new Set(ok.map((e) => e.id)).size).toBe(4);
    expect(failed[0]?.headers['webhook-id']).toBe(ok[0]?.id);
    // Backoff: the retries were spread out, not sent back to back.
    expect((failed[4]?.at ?? 0) - (failed[0]?.at ?? 0)).toBeGreaterThanOrEqual(40);
    const metrics = gw.runtime.obs.metrics.registry;
    const text = await metrics.metrics();
    expect(text).toMatch(/gateway_event_deliveries_total\{sink="webhook",outcome="failed"\} [5-9]/);
    expect(text).toMatch(/gateway_event_delivery_lag_seconds_count\{sink="webhook"\} [1-9]/);

    // Redelivery: everything after the first event, once more, in order, with the same ids.
    const events = await gw.gql<{ events: { edges: { cursor: string; node: { id: string } }[] } }>(
      'query($types: [String!]) { events(first: 1000, types: $types) { edges { cursor node { id } } } }',
      {},
      hooks,
    );
    const edge = events.data?.events.edges.find((e) => e.node.id === ok[0]?.id);
    const redo = await gw.gql<{ redeliverEvents: { webhook: { id: string } | null; userErrors: unknown[] } }>(
      'mutation($w: ID!, $after: String) { redeliverEvents(webhook: $w, after: $after) { webhook { id } userErrors { code } } }',
      { w: id, after: edge?.cursor },
      hooks,
    );
    expect(redo.data?.redeliverEvents).toEqual({ webhook: { id }, userErrors: [] });
    await r.waitFor((x) => x.accepted().length >= 7);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.accepted().slice(4).map((d) => bodyOf(d).id)).toEqual(ok.slice(1).map((e) => e.id));
    expect(r.accepted()).toHaveLength(7);
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id }, hooks);
  });

  it('a redelivery asked while a delivery is in flight sends what it asks once more, and nothing twice besides', async () => {
    const r = await receiver();
    const { id } = await webhook(r.url);
    let release = () => {};
    const gate = new Promise<void>((res) => {
      release = res;
    });
    let heldStarted = () => {};
    const started = new Promise<void>((res) => {
      heldStarted = res;
    });
    let held = false;
    // The answer to version 2's first delivery waits until the redelivery has been asked for.
    r.respond = async ({ body }) => {
      if (bodyOf({ body }).data.version === 2 && !held) {
        held = true;
        heldStarted();
        await gate;
      }
      return 200;
    };
    const user = await newUser();
    await rename(user, 'Two');
    await rename(user, 'Three');
    await started;
    const first = bodyOf(r.accepted()[0] as Received);
    const events = await gw.gql<{ events: { edges: { cursor: string; node: { id: string } }[] } }>('{ events(first: 1000) { edges { cursor node { id } } } }', {}, hooks);
    // The cursor stands at version 1 right now: asking for "after 1" leaves it where it is (only the generation changes).
    const cursorOfFirst = events.data?.events.edges.find((e) => e.node.id === first.id)?.cursor;
    await gw.gql('mutation($w: ID!, $after: String) { redeliverEvents(webhook: $w, after: $after) { userErrors { code } } }', { w: id, after: cursorOfFirst }, hooks);
    release();
    await r.waitFor((x) => x.accepted().length >= 4);
    await new Promise((res) => setTimeout(res, 200));
    // 1; 2 (in flight when asked); then, as asked, everything after 1 again: 2, 3; and 3 only once.
    expect(r.accepted().map((d) => bodyOf(d).data.version)).toEqual([1, 2, 2, 3]);
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id }, hooks);
  });

  it('a dead receiver delays no other webhook, and no write', async () => {
    const dead = await receiver();
    dead.respond = () => null;
    const live = await receiver();
    const a = await webhook(dead.url);
    const b = await webhook(live.url);
    const user = await newUser();
    const started = Date.now();
    for (const name of ['A', 'B', 'C']) await rename(user, name);
    expect(Date.now() - started).toBeLessThan(1500);
    await live.waitFor((x) => x.accepted().length >= 4, 2000);
    expect(Date.now() - started).toBeLessThan(2500);
    for (const w of [a, b]) await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: w.id }, hooks);
  });

  it('in commit order per subject under 200 concurrent updates', async () => {
    const r = await receiver();
    const { id } = await webhook(r.url, ['user.updated']);
    const users = await Promise.all(Array.from({ length: 10 }, () => newUser()));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => rename(users[i % 10] as string, `name-${i}`)));
    expect(results.every((res) => res.status === 200 && !res.errors)).toBe(true);
    await r.waitFor((x) => x.accepted().length >= 200, 30_000);
    const bySubject = new Map<string, number[]>();
    for (const d of r.accepted()) {
      const e = bodyOf(d);
      bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e.data.version as number]);
    }
    expect(bySubject.size).toBe(10);
    for (const versions of bySubject.values()) {
      expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    }
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id }, hooks);
  }, 60_000);

  it('two instances on one database deliver each event once per webhook; one stopping, the other goes on', async () => {
    const r = await receiver();
    const { id } = await webhook(r.url);
    const previous = process.env.INSTANCE_ID;
    process.env.INSTANCE_ID = 'second-instance';
    let second: Runtime | null = null;
    try {
      second = await startRuntime(
        loadConfig({
          NODE_ENV: 'test',
          // The same database (a file, or a schema on the PostgreSQL server).
          DATABASE_URL: gw.database.url,
          SEED_DEMO: '0',
          PORT: '0',
          AUTH_JWT_SECRET: gw.secret,
          AUTH_ISSUER: 'https://issuer.test/',
          AUTH_AUDIENCE: 'profile-gateway',
          OUTBOX_FILE: join(gw.dir, 'outbox2.log'),
          LOG_LEVEL: 'silent',
          ...FAST,
        }),
        { host: '127.0.0.1', logDestination: join(gw.dir, 'second.log') },
      );
      const user = await newUser();
      for (let i = 0; i < 30; i++) await rename(user, `n${i}`);
      await r.waitFor((x) => x.accepted().length >= 31, 10_000);
      await new Promise((res) => setTimeout(res, 300));
      const ids = r.accepted().map((d) => bodyOf(d).id);
      expect(ids).toHaveLength(31);
      expect(new Set(ids).size).toBe(31);
      expect(r.accepted().map((d) => bodyOf(d).data.version)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
      // The first instance's worker stops (as at a shutdown: its leases are given back): the second goes on.
      await gw.runtime.events.stop();
      for (let i = 30; i < 35; i++) await rename(user, `n${i}`);
      await r.waitFor((x) => x.accepted().length >= 36, 10_000);
      await new Promise((res) => setTimeout(res, 300));
      expect(r.accepted().map((d) => bodyOf(d).data.version)).toEqual(Array.from({ length: 36 }, (_, i) => i + 1));
    } finally {
      if (previous === undefined) delete process.env.INSTANCE_ID;
      else process.env.INSTANCE_ID = previous;
      await second?.close();
    }
    await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id }, hooks);
  });
});

describe('webhook URLs and giving up', () => {
  let strict: TestGateway;
  let strictHooks: string;
  beforeAll(async () => {
    strict = await startTestGateway({ env: { EVENTS_POLL_MS: '20' } });
    strictHooks = await strict.token('hook-admin', 'update:webhooks read:events');
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('refuses loopback, private, link-local and non-http URLs without WEBHOOK_ALLOW_PRIVATE', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost:9/hook',
      'http://10.1.2.3/hook',
      'http://192.168.1.1/hook',
      'http://172.20.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fd00::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
      'http://user:pw@93.184.215.14/hook',
      'ftp://93.184.215.14/hook',
    ]) {
      const res = await strict.gql<Created>(CREATE, { input: { url } }, strictHooks);
      const codes = res.data ? res.data.createWebhook.userErrors.map((e) => e.code) : [errorCode(res)];
      expect(codes, url).toEqual(['WEBHOOK_URL_NOT_ALLOWED']);
    }
    // A public address is accepted (nothing is sent to it in this test: no event is written after).
    const ok = await strict.gql<Created>(CREATE, { input: { url: 'https://93.184.215.14/hook' } }, strictHooks);
    expect(ok.data?.createWebhook.userErrors).toEqual([]);
    await strict.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: ok.data?.createWebhook.webhook?.id }, strictHooks);
  });

  it('after WEBHOOK_GIVE_UP_AFTER_SECONDS an event is marked failed and the webhook goes on', async () => {
    const r = await receiver();
    r.respond = () => 503;
    // The receiver is on loopback: the gateway refuses it at creation, so it is written as an operator could not.
    const allowing = await startTestGateway({ env: { WEBHOOK_ALLOW_PRIVATE: '1', EVENTS_POLL_MS: '20', WEBHOOK_GIVE_UP_AFTER_SECONDS: '0' } });
    try {
      const token = await allowing.token('hook-admin', 'update:webhooks read:events');
      const { id } = await webhook(r.url, [], token, allowing);
      const adminT = await adminToken(allowing);
      await createConnection(allowing, adminT, { name: 'wh', kind: 'DATABASE' });
      await newUser(allowing, adminT);
      await r.waitFor((x) => x.received.length >= 1);
      await allowing.runtime.events.drain();
      const res = await allowing.gql<{ webhooks: { id: string; failures: { eventId: string; attempts: number; lastError: string; redeliverAfter: string }[]; delivery: { attempts: number } }[] }>(
        '{ webhooks { id delivery { attempts } failures { eventId attempts lastError redeliverAfter } } }',
        {},
        token,
      );
      const w = res.data?.webhooks.find((x) => x.id === id);
      expect(w?.failures).toHaveLength(1);
      expect(w?.failures[0]).toMatchObject({ eventId: bodyOf(r.received[0] as Received).id, attempts: 1, lastError: 'HTTP_503: HTTP 503' });
      expect(w?.delivery.attempts).toBe(0);
    } finally {
      await allowing.close();
    }
  });
});
