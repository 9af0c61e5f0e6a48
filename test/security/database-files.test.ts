// Row 2 of the review (issue #13): the database files (gateway.db, its -wal and -shm, legacy.db) are
// owner-only (0600), and neither a delivered message's ticket nor an erased user's email survives in
// the database file or its WAL.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createConnection } from '../helpers/tenant.js';
import { buildTenant, type Tenant } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

/** The bytes of the database file and its WAL, as text. */
const onDisk = () => [gw.dbPath, `${gw.dbPath}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('\n');

describe('database files', () => {
  it('are readable by their owner only, the legacy database too', async () => {
    await createConnection(gw, tenant.admin, { name: 'files-legacy', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-db' });
    await gw.gql(
      'mutation($i: AuthenticateInput!) { authenticate(input: $i) { userErrors { code } } }',
      { i: { connection: 'files-legacy', identifier: 'nobody@legacy.example', password: 'wrong-password-1' } },
      await gw.token('login-server', 'login:users'),
    );
    const files = [gw.dbPath, `${gw.dbPath}-wal`, `${gw.dbPath}-shm`, join(gw.dir, 'legacy.db')];
    expect(files.map((f) => [f, existsSync(f) ? (statSync(f).mode & 0o777).toString(8) : 'missing'])).toEqual(files.map((f) => [f, '600']));
  });

  it("keep no delivered ticket and no erased user's email", async () => {
    const id = await tenant.user('wal-victim');
    const asked = await gw.gql<{ createPasswordResetTicket: { userErrors: unknown[] } }>(
      'mutation($u: ID!) { createPasswordResetTicket(input: { user: $u }) { userErrors { code } } }',
      { u: id },
      await gw.token(id),
    );
    expect(asked.data?.createPasswordResetTicket.userErrors).toEqual([]);
    await gw.runtime.outbox.drain();
    const lines = readFileSync(join(gw.dir, 'outbox.log'), 'utf8').trim().split('\n');
    const ticket = /ticket: ([\w-]+)/.exec((JSON.parse(lines.at(-1) as string) as { body: string }).body)?.[1] as string;
    expect(ticket.length).toBeGreaterThan(20);
    expect(onDisk()).not.toContain(ticket);

    expect(onDisk()).toContain('wal-victim@sec.example');
    const res = await gw.gql<{ deleteMe: { deletedUserId: string } }>('mutation { deleteMe { deletedUserId } }', {}, await gw.token(id));
    expect(res.data?.deleteMe.deletedUserId).toBe(id);
    expect(onDisk()).not.toContain('wal-victim@sec.example');
    // Nothing on disk names the id, yet the deletion notice tells consumers which user went.
    const notices = await gw.gql<{ events: { edges: { node: { type: string; subject: string } }[] } }>(
      '{ events(first: 1000, types: ["user.deleted"]) { edges { node { type subject } } } }',
      {},
      await gw.token('event-reader', 'read:events'),
    );
    expect(notices.data?.events.edges.map((e) => e.node)).toContainEqual({ type: 'user.deleted', subject: id });
    expect(onDisk()).not.toContain(id);
  });
});
