// The README's consumer (examples/events-consumer) against the real gateway: it accepts signed
// deliveries, refuses forged ones, sees each event once, and skips the events its own writes caused.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, verifyWebhook } from '../../examples/events-consumer/consumer.mjs';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
const handled: { type: string; subject: string; data: { actor: string; fields: string[] } }[] = [];
const skipped: { type: string }[] = [];
let server: ReturnType<typeof createConsumer> | null = null;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WEBHOOK_ALLOW_PRIVATE: '1', EVENTS_POLL_MS: '20' } });
});

afterAll(async () => {
  await gw?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
});

describe('the events consumer example', () => {
  it('handles the events others caused, once each, and skips its own', async () => {
    const admin = await adminToken(gw);
    await createConnection(gw, admin, { name: 'crm', kind: 'DATABASE' });
    const hooks = await gw.token('ops', 'update:webhooks');
    const res = await gw.gql<{ createWebhook: { secret: string } }>(
      'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret userErrors { code } } }',
      { input: { url: 'http://127.0.0.1:1/placeholder', types: ['user.updated'] } },
      hooks,
    );
    const secret = res.data?.createWebhook.secret as string;
    server = createConsumer({ secret, mySub: 'crm-sync', onEvent: (e) => void handled.push(e), onSkipped: (e) => void skipped.push(e) });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    // The placeholder goes, the consumer's webhook (same secret) comes.
    const list = await gw.gql<{ webhooks: { id: string }[] }>('{ webhooks { id } }', {}, hooks);
    for (const w of list.data?.webhooks ?? []) await gw.gql('mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: w.id }, hooks);
    await gw.gql('mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { userErrors { code } } }', { input: { url, types: ['user.updated'], secret } }, hooks);

    const user = await createUser(gw, admin, { connection: 'crm', email: 'c@crm.example', password: 'first-password-1' });
    const crm = await gw.token('crm-sync', 'update:users');
    const UPDATE = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } userErrors { code } } }';
    await gw.gql(UPDATE, { id: user, input: { name: 'From the admin' } }, admin);
    await gw.gql(UPDATE, { id: user, input: { nickname: 'from the crm' } }, crm);
    const until = Date.now() + 10_000;
    while (handled.length + skipped.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(handled.map((e) => [e.type, e.data.actor, e.data.fields])).toEqual([['user.updated', 'admin@tenant', ['NAME']]]);
    expect(skipped).toHaveLength(1);

    // A forged or stale delivery is refused.
    const body = '{"id":"x"}';
    expect(verifyWebhook(secret, { 'webhook-id': 'x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' }, body)).toBe(false);
    const forged = await fetch(url, { method: 'POST', headers: { 'webhook-id': 'x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }, body });
    expect(forged.status).toBe(401);
  });
});
