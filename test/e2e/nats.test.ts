// NATS JetStream publishing (NATS_URL), against the machine's NATS server on 127.0.0.1:4222: each
// event on `profile.events.<type>` as CloudEvents JSON with its id as the message id, so a second
// publish of the same event (a redelivery, a lost acknowledgement) is dropped by JetStream.
import { connect, DeliverPolicy, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_CONSUMER, NATS_STREAM } from '../../src/outbox/nats.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
let gw: TestGateway;
let nc: NatsConnection;
let admin: string;
const startedAt = new Date(Date.now() - 1000).toISOString();

interface Published {
  subject: string;
  msgId: string | undefined;
  event: { id: string; type: string; subject: string; specversion: string; data: { version?: number; fields: string[] } };
}

/** Every message of the stream since the test began whose event is one of `ids`. */
async function published(ids: Set<string>): Promise<Published[]> {
  const js = nc.jetstream();
  const consumer = await js.consumers.get(NATS_STREAM, { filterSubjects: 'profile.events.>', deliver_policy: DeliverPolicy.StartTime, opt_start_time: startedAt });
  const out: Published[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
    let got = 0;
    for await (const m of batch) {
      got += 1;
      const event = m.json<Published['event']>();
      if (ids.has(event.id)) out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), event });
    }
    if (got === 0) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}

async function eventIds(): Promise<{ id: string; type: string }[]> {
  const res = await gw.gql<{ events: { edges: { node: { id: string; type: string } }[] } }>('{ events(first: 1000) { edges { node { id type } } } }', {}, await gw.token('r', 'read:events'));
  return res.data?.events.edges.map((e) => e.node) ?? [];
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { NATS_URL, EVENTS_POLL_MS: '20' } });
  nc = await connect({ servers: NATS_URL });
  admin = await adminToken(gw);
  await createConnection(gw, admin, { name: 'nats-db', kind: 'DATABASE' });
});

afterAll(async () => {
  await nc?.close();
  await gw?.close();
});

describe('NATS JetStream', () => {
  it('publishes every event to profile.events.<type>, the event id as the message id, in commit order', async () => {
    const user = await createUser(gw, admin, { connection: 'nats-db', email: 'n@nats.example', password: 'first-password-1' });
    for (const name of ['One', 'Two']) {
      await gw.gql('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } } }', { id: user, input: { name } }, admin);
    }
    await gw.gql('mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } } }', { id: user, input: { blocked: true } }, admin);
    const events = await eventIds();
    const ids = new Set(events.map((e) => e.id));
    expect(ids.size).toBeGreaterThanOrEqual(4);
    let got: Published[] = [];
    await until(async () => {
      got = await published(ids);
      return got.length >= ids.size;
    });
    expect(got.map((p) => p.event.id)).toEqual(events.map((e) => e.id));
    for (const p of got) {
      expect(p.subject).toBe(`profile.events.${p.event.type}`);
      expect(p.msgId).toBe(p.event.id);
      expect(p.event.specversion).toBe('1.0');
    }
    expect(got.map((p) => p.event.type)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.blocked']);

    // The publisher's cursor moved back (as after a crash between publish and record): everything
    // is published again, and JetStream keeps one copy of each.
    await gw.runtime.store.webhooks.redeliver(NATS_CONSUMER, 0, { actorId: 'test', operation: 'redeliverEvents' });
    const last = await gw.runtime.store.events.lastSeq();
    await until(async () => ((await gw.runtime.store.deliveries.cursors([NATS_CONSUMER]))[0]?.afterSeq ?? 0) === last);
    await gw.runtime.events.drain();
    const again = await published(ids);
    expect(again.map((p) => p.event.id)).toEqual(events.map((e) => e.id));
  });
});
