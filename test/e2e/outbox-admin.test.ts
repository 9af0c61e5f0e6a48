// The outbox, operable: a tenant administrator lists failed messages (never a body or an address),
// retries one or discards one; the outbox gauge follows; nobody else may.
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES, errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let admin: string;
let aliceId: string;
let alice: string;

const FIELDS = 'id status subject attempts lastError createdAt nextAttemptAt sentAt user { id email }';
type Message = { id: string; status: string; subject: string; attempts: number; lastError: string | null; nextAttemptAt: string | null; sentAt: string | null; user: { id: string; email: string } | null };

beforeAll(async () => {
  // The sender runs only when the test drains it.
  gw = await startTestGateway({ seed: true, outboxIntervalMs: 3_600_000 });
  admin = await gw.token('admin', ADMIN_SCOPES);
  const res = await gw.gql<{ users: { edges: { node: { id: string } }[] } }>('{ users(first: 1, filter: { email: "alice@acme.example" }) { edges { node { id } } } }', {}, admin);
  aliceId = res.data?.users.edges[0]?.node.id as string;
  alice = await gw.token(aliceId);
});

afterAll(async () => {
  await gw?.close();
});

async function list(status?: string, token = admin) {
  return gw.gql<{ outboxMessages: Message[] }>(`query ($s: OutboxMessageStatus) { outboxMessages(status: $s) { ${FIELDS} } }`, status ? { s: status } : {}, token);
}

async function requestReset(): Promise<void> {
  const res = await gw.gql<{ createPasswordResetTicket: { ticket: string | null; userErrors: unknown[] } }>('mutation ($u: ID!) { createPasswordResetTicket(input: { user: $u }) { ticket userErrors { code } } }', { u: aliceId }, alice);
  expect(res.data?.createPasswordResetTicket).toEqual({ ticket: null, userErrors: [] });
}

const outboxFile = () => join(gw.dir, 'outbox.log');

async function gauge(status: string): Promise<number> {
  const text = await gw.runtime.obs.metrics.text();
  return Number(new RegExp(`^gateway_outbox_messages\\{status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
}

describe('outboxMessages, retryOutboxMessage, discardOutboxMessage', () => {
  it('lists a message that failed, then one given up, without body or address; retry makes it due again', async () => {
    // Deliveries fail: the outbox file's path is a directory.
    mkdirSync(outboxFile());
    await requestReset();
    await gw.runtime.outbox.drain();
    const pending = await list('PENDING');
    expect(pending.errors).toBeUndefined();
    const [message] = pending.data?.outboxMessages ?? [];
    expect(message).toMatchObject({ status: 'PENDING', subject: expect.any(String), attempts: 1, sentAt: null, user: { id: aliceId, email: 'alice@acme.example' } });
    expect(message?.lastError).toMatch(/EISDIR|directory/i);
    expect(message?.nextAttemptAt).not.toBeNull();
    // The schema has no field for the body or the address.
    const asked = await gw.gql('{ outboxMessages { body } }', {}, admin);
    expect(errorCode(asked)).toBe('GRAPHQL_VALIDATION_FAILED');

    // Retries exhausted (what the sender records after its last try): FAILED, the default listing.
    await gw.runtime.store.outbox.markFailed(Number(message?.id), 'EISDIR: gave up', null);
    expect(await gauge('failed')).toBe(1);
    const failed = await list();
    expect(failed.data?.outboxMessages).toEqual([expect.objectContaining({ id: message?.id, status: 'FAILED', nextAttemptAt: null, attempts: 2 })]);

    const retried = await gw.gql<{ retryOutboxMessage: { outboxMessage: Message | null; userErrors: unknown[] } }>(`mutation ($id: ID!) { retryOutboxMessage(id: $id) { outboxMessage { ${FIELDS} } userErrors { code } } }`, { id: message?.id }, admin);
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.retryOutboxMessage).toMatchObject({ outboxMessage: { id: message?.id, status: 'PENDING', attempts: 0 }, userErrors: [] });
    expect((await list()).data?.outboxMessages).toEqual([]);
    expect(await gauge('failed')).toBe(0);

    // Deliveries work again: the retried message goes out, and a sent one cannot be retried or discarded.
    rmdirSync(outboxFile());
    expect(await gw.runtime.outbox.drain()).toBe(1);
    const sent = await list('SENT');
    expect(sent.data?.outboxMessages.map((m) => m.id)).toContain(message?.id);
    const again = await gw.gql<{ retryOutboxMessage: { outboxMessage: unknown; userErrors: { code: string }[] } }>('mutation ($id: ID!) { retryOutboxMessage(id: $id) { outboxMessage { id } userErrors { code } } }', { id: message?.id }, admin);
    expect(again.data?.retryOutboxMessage).toEqual({ outboxMessage: null, userErrors: [{ code: 'OUTBOX_MESSAGE_SENT' }] });
    const discardSent = await gw.gql<{ discardOutboxMessage: { discardedMessageId: string | null; userErrors: { code: string }[] } }>('mutation ($id: ID!) { discardOutboxMessage(id: $id) { discardedMessageId userErrors { code } } }', { id: message?.id }, admin);
    expect(discardSent.data?.discardOutboxMessage).toEqual({ discardedMessageId: null, userErrors: [{ code: 'OUTBOX_MESSAGE_SENT' }] });

    // Both acts are audited, with the message's recipient as the target.
    const audit = await gw.gql<{ auditEvents: { edges: { node: { operation: string; targetUserId: string | null; actorId: string } }[] } }>('{ auditEvents(first: 20) { edges { node { operation targetUserId actorId } } } }', {}, admin);
    expect(audit.data?.auditEvents.edges.map((e) => e.node)).toContainEqual({ operation: 'retryOutboxMessage', targetUserId: aliceId, actorId: 'admin' });
  });

  it('discards an unsent message, which is then never sent; an unknown or malformed id is refused', async () => {
    await requestReset();
    const [message] = (await list('PENDING')).data?.outboxMessages ?? [];
    expect(message).toBeDefined();
    const discard = (id: string) => gw.gql<{ discardOutboxMessage: { discardedMessageId: string | null; userErrors: unknown[] } }>('mutation ($id: ID!) { discardOutboxMessage(id: $id) { discardedMessageId userErrors { code } } }', { id }, admin);
    const done = await discard(message?.id as string);
    expect(done.data?.discardOutboxMessage).toEqual({ discardedMessageId: message?.id, userErrors: [] });
    expect(await gw.runtime.outbox.drain()).toBe(0);
    expect(errorCode(await discard(message?.id as string))).toBe('NOT_FOUND');
    expect(errorCode(await discard('not-a-number'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql('{ outboxMessages(first: 500) { id } }', {}, admin))).toBe('BAD_USER_INPUT');
  });

  it('is for tenant administrators only: read:users lists, update:users retries and discards', async () => {
    expect(errorCode(await list(undefined, alice))).toBe('FORBIDDEN');
    expect(errorCode(await list(undefined, null as unknown as string))).toBe('UNAUTHENTICATED');
    const reader = await gw.token('reader', 'read:users');
    expect((await list(undefined, reader)).errors).toBeUndefined();
    const res = await gw.gql('mutation { retryOutboxMessage(id: "1") { userErrors { code } } }', {}, reader);
    expect(errorCode(res)).toBe('FORBIDDEN');
    const helpdeskRes = await gw.gql<{ users: { edges: { node: { id: string } }[] } }>('{ users(first: 1, filter: { email: "helpdesk@acme.example" }) { edges { node { id } } } }', {}, admin);
    const helpdesk = await gw.token(helpdeskRes.data?.users.edges[0]?.node.id as string);
    expect(errorCode(await gw.gql('mutation { discardOutboxMessage(id: "1") { userErrors { code } } }', {}, helpdesk))).toBe('FORBIDDEN');
  });
});
