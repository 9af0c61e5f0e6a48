// Findings of the review of the PostgreSQL store (locks, pool, migrations, indexes), each shown on
// the machine's real server through the real gateway. The gateway here runs in a database of its
// own, so what it holds in pg_locks is told apart from every other test's.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { TEST_DATABASE_URL } from '../helpers/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

const databaseName = `pgfix_${randomBytes(5).toString('hex')}`;
const databaseUrl = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${databaseName}`;
  return u.toString();
})();

async function onServer<T>(fn: (c: pg.Client) => Promise<T>, url = TEST_DATABASE_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  await onServer((c) => c.query(`CREATE DATABASE ${databaseName}`));
  gw = await startTestGateway({ env: { DATABASE_URL: databaseUrl } });
  admin = await adminToken(gw);
});
afterAll(async () => {
  await gw?.close();
  await onServer((c) => c.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`));
});

const IMPORT = `mutation($input: ImportUsersInput!) { importUsers(input: $input) { inserted updated unchanged failed errors { index code message } } }`;
type Summary = { inserted: number; updated: number; unchanged: number; failed: number; errors: { index: number; code: string }[] };

/** Backends of the gateway's database waiting on a lock (read outside any transaction: the activity view is a snapshot per transaction). */
const waiting = () =>
  onServer(async (c) => {
    const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [databaseName]);
    return rows[0]?.n ?? 0;
  });

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('import batch locks', () => {
  it('concurrent imports hold a bounded number of advisory locks (not one per key), and still serialise with createUser on the same email', async () => {
    await createConnection(gw, admin, { name: 'locks', kind: 'DATABASE', requiresUsername: true });
    await createUser(gw, admin, { connection: 'locks', email: 'held-a@locks.example', username: 'held-a', password: 'password-123' });
    await createUser(gw, admin, { connection: 'locks', email: 'held-b@locks.example', username: 'held-b', password: 'password-123' });
    // Two imports of 500 records each (an email and a username: 1000 keys a batch), disjoint;
    // each upserts one existing user whose row this test holds locked, so both stop mid-batch
    // with their key locks taken.
    const file = (tag: 'a' | 'b') => [
      { email: `held-${tag}@locks.example`, username: `held-${tag}`, name: 'Changed' },
      ...Array.from({ length: 499 }, (_, i) => ({ email: `${tag}${i}@locks.example`, username: `${tag}-user-${i}` })),
    ];
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT id FROM users WHERE email_lower IN ('held-a@locks.example', 'held-b@locks.example') FOR UPDATE");
      const imports = (['a', 'b'] as const).map((tag) => gw.gql<{ importUsers: Summary }>(IMPORT, { input: { connection: 'locks', users: file(tag), upsert: true } }, admin));
      // Both imports waiting (on the held rows, or one on the other's locks).
      await until('both imports to wait', async () => (await waiting()) >= 2);
      // A createUser of an email in file a waits for import a (the same key locks), then finds it taken.
      const create = gw.gql<{ createUser: { userErrors: { code: string }[] } }>(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
        { input: { connection: 'locks', email: 'A7@locks.example', username: 'fresh-one', password: 'password-123' } },
        admin,
      );
      await until('createUser to wait', async () => (await waiting()) >= 3);
      const { rows } = await holder.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)",
        [databaseName],
      );
      // One lock per key would be 2000 here (and a few more imports would fill the server's lock table).
      expect(rows[0]?.n).toBeGreaterThan(0);
      expect(rows[0]?.n).toBeLessThanOrEqual(1024);
      await holder.query('COMMIT');
      const [a, b] = await Promise.all(imports);
      for (const r of [a, b]) expect(r?.data?.importUsers).toMatchObject({ inserted: 499, updated: 1, failed: 0 });
      expect((await create).data?.createUser.userErrors).toEqual([{ code: 'EMAIL_TAKEN' }]);
    } finally {
      await holder.end();
    }
  });
});
