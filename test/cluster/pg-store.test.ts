// Findings of the review of the PostgreSQL store (locks, pool, migrations, indexes), each shown on
// the machine's real server through the real gateway. The gateway here runs in a database of its
// own, so what it holds in pg_locks is told apart from every other test's.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/database.js';
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
      const run = (tag: 'a' | 'b') => gw.gql<{ importUsers: Summary }>(IMPORT, { input: { connection: 'locks', users: file(tag), upsert: true } }, admin);
      // Import a first, until it waits on its held row: by then it holds every key lock of its batch.
      const imports = [run('a')];
      await until('import a to wait', async () => (await waiting()) >= 1);
      imports.push(run('b'));
      // Import b waiting too (on its held row, or on import a's locks).
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

  it("a stalled import batch holds its own connection's lock, not the buckets other connections' writers need", async () => {
    await createConnection(gw, admin, { name: 'stalled', kind: 'DATABASE' });
    await createConnection(gw, admin, { name: 'elsewhere', kind: 'DATABASE' });
    await createUser(gw, admin, { connection: 'stalled', email: 'held@stalled.example', password: 'password-123' });
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT id FROM users WHERE email_lower = 'held@stalled.example' FOR UPDATE");
      // 500 records (about 400 of the 1024 buckets by their emails alone), stopped on the held row.
      const users = [{ email: 'held@stalled.example', name: 'Changed' }, ...Array.from({ length: 499 }, (_, i) => ({ email: `s${i}@stalled.example` }))];
      const batch = gw.gql<{ importUsers: Summary }>(IMPORT, { input: { connection: 'stalled', users, upsert: true } }, admin);
      await until('the import to wait on its held row', async () => (await waiting()) >= 1);
      // Users of another connection are created meanwhile, whatever buckets their emails fall in.
      const creates = Promise.all(
        Array.from({ length: 20 }, (_, i) => createUser(gw, admin, { connection: 'elsewhere', email: `e${i}@elsewhere.example`, password: 'password-123' })),
      );
      const outcome = await Promise.race([creates.then(() => 'created'), new Promise((r) => setTimeout(() => r('blocked'), 5000))]);
      expect(outcome).toBe('created');
      await holder.query('COMMIT');
      expect((await batch).data?.importUsers).toMatchObject({ inserted: 499, updated: 1, failed: 0 });
    } finally {
      await holder.end();
    }
  });
});

describe('declared-attribute indexes', () => {
  const DECLARE = `mutation($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { connection { id } userErrors { code message } } }`;
  const declare = (id: string, key: string) =>
    gw.gql<{ updateConnection: { userErrors: unknown[] } }>(DECLARE, { id, input: { attributes: [{ key, in: 'USER_METADATA', schema: { type: 'string' }, edit: ['TENANT_ADMIN'], view: ['TENANT_ADMIN'] }] } }, admin);
  const indexName = (key: string) => `users_attr_${createHash('sha256').update(`user_metadata.${key}`).digest('hex').slice(0, 16)}`;
  const validity = (name: string) =>
    onServer(async (c) => (await c.query<{ valid: boolean }>('SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1', [name])).rows[0]?.valid ?? null, databaseUrl);

  it('are built CONCURRENTLY: while one waits to build, a user is still created', async () => {
    const connection = await createConnection(gw, admin, { name: 'attr-build', kind: 'DATABASE' });
    const id = await createUser(gw, admin, { connection: 'attr-build', email: 'first@attr.example', password: 'password-123' });
    // An open transaction that wrote to users: an index build waits for it to end.
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("UPDATE users SET name = 'Holder' WHERE id = $1", [id]);
      const declared = declare(connection, 'region');
      await until('the index build to wait', async () => (await waiting()) >= 1);
      // A plain CREATE INDEX would queue for its lock on users, and every write behind it.
      const write = Promise.race([
        createUser(gw, admin, { connection: 'attr-build', email: 'second@attr.example', password: 'password-123' }).then(() => 'written'),
        new Promise((r) => setTimeout(() => r('blocked'), 5000)),
      ]);
      expect(await write).toBe('written');
      await holder.query('COMMIT');
      expect((await declared).data?.updateConnection.userErrors).toEqual([]);
      expect(await validity(indexName('region'))).toBe(true);
      expect(await validity(`${indexName('region')}_t`)).toBe(true);
    } finally {
      await holder.end();
    }
  });

  it('an INVALID index left by an interrupted build is dropped and built again when the attribute is declared', async () => {
    const connection = await createConnection(gw, admin, { name: 'attr-invalid', kind: 'DATABASE' });
    const name = indexName('tier');
    // A concurrent build of that index cancelled while it waited: PostgreSQL leaves it INVALID.
    const holder = new pg.Client({ connectionString: databaseUrl });
    const builder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    await builder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("UPDATE users SET name = name WHERE email_lower = 'first@attr.example'");
      const pid = (await builder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const build = builder.query(`CREATE INDEX CONCURRENTLY ${name} ON users (connection_id, (user_metadata -> 'tier'))`).catch((err: Error) => err);
      await until('the build to wait', async () => (await waiting()) >= 1);
      await onServer((c) => c.query('SELECT pg_cancel_backend($1)', [pid]));
      expect(String(await build)).toMatch(/cancel/i);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
      await builder.end();
    }
    expect(await validity(name)).toBe(false);
    expect((await declare(connection, 'tier')).data?.updateConnection.userErrors).toEqual([]);
    expect(await validity(name)).toBe(true);
    expect(await validity(`${name}_t`)).toBe(true);
  });
});

describe('PSEUDONYM_SECRET unset on PostgreSQL', () => {
  const warnings = (logFile: string) =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"pseudonym_secret_in_database"'));

  it('logs one warning at start that a dump of the database holds the key, never the key', async () => {
    const lines = warnings(gw.logFile);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as { level: number; msg: string };
    expect(line.level).toBe(40);
    expect(line.msg).toMatch(/PSEUDONYM_SECRET is not set: .* store_settings table, so a dump of the database holds the key/);
    const [row] = await onServer((c) => c.query<{ value: string }>("SELECT value FROM store_settings WHERE name = 'pseudonym_secret'"), databaseUrl).then((r) => r.rows);
    expect(row?.value.length).toBeGreaterThan(20);
    expect(readFileSync(gw.logFile, 'utf8')).not.toContain(row?.value as string);
  });

  it('says nothing with PSEUDONYM_SECRET set', async () => {
    const withSecret = await startTestGateway({ env: { PSEUDONYM_SECRET: randomBytes(32).toString('base64url') } });
    try {
      expect(warnings(withSecret.logFile)).toEqual([]);
    } finally {
      await withSecret.close();
    }
  });
});

describe('import keys past IMPORT_KEYS_IN_MEMORY', () => {
  it('an import whose keys spill to the database holds none of the pool: with a pool of one connection it still imports (its batches need that connection)', async () => {
    const small = await startTestGateway({ env: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '1', DATABASE_POOL_TIMEOUT_MS: '2000', IMPORT_KEYS_IN_MEMORY: '2' } });
    try {
      const token = await adminToken(small);
      await createConnection(small, token, { name: 'spill-db', kind: 'DATABASE' });
      const users = Array.from({ length: 20 }, (_, i) => ({ email: `spill${i}@spill.example` }));
      // A duplicate of a key already spilled: found in the TEMP table.
      users.push({ email: 'SPILL0@spill.example' });
      const res = await small.gql<{ importUsers: Summary }>(IMPORT, { input: { connection: 'spill-db', users } }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data?.importUsers).toMatchObject({ inserted: 20, failed: 1, errors: [{ index: 20, code: 'DUPLICATE_IN_FILE' }] });
    } finally {
      await small.close();
    }
  });
});

describe('migrations at start', () => {
  const lockOf = (schema: string) => `profile-gateway:migrations:${schema}`;

  it('a stuck holder of the migration lock ends the start with an error naming it, after DATABASE_MIGRATION_LOCK_WAIT_MS; a migration elsewhere is still waited for', async () => {
    const db = await createTestDatabase('/tmp', 'postgres');
    const holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockOf(db.schema as string)]);
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const start = startTestGateway({ env: { DATABASE_URL: db.url, DATABASE_MIGRATION_LOCK_WAIT_MS: '500' } }).then(
        async (g) => {
          await g.close();
          return 'started';
        },
        (err: Error) => err,
      );
      const outcome = await Promise.race([start, new Promise((r) => setTimeout(() => r('still waiting'), 15_000))]);
      expect(outcome).toBeInstanceOf(Error);
      expect(String((outcome as Error).message)).toMatch(
        new RegExp(`waited 500 ms \\(DATABASE_MIGRATION_LOCK_WAIT_MS\\) for the migration lock of schema "${db.schema}" \\(held by server process ${holderPid}\\b`),
      );
      // Another instance migrating for a while: the start waits for it, then finds the schema done.
      const waiting = startTestGateway({ env: { DATABASE_URL: db.url, DATABASE_MIGRATION_LOCK_WAIT_MS: '20000' } });
      await new Promise((r) => setTimeout(r, 700));
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockOf(db.schema as string)]);
      const g = await waiting;
      expect(g.runtime.store.migrationsApplied).toBeGreaterThan(0);
      await g.close();
    } finally {
      await holder.end();
      await db.drop();
    }
  });

  it('refuses a bad DATABASE_MIGRATION_LOCK_WAIT_MS at start', () => {
    expect(() => loadConfig({ DATABASE_URL: databaseUrl, DATABASE_MIGRATION_LOCK_WAIT_MS: 'soon' })).toThrow(/^DATABASE_MIGRATION_LOCK_WAIT_MS must be a whole number/);
    expect(loadConfig({ DATABASE_URL: databaseUrl }).databaseMigrationLockWaitMs).toBe(600_000);
  });
});

describe('pool size and acquire timeout', () => {
  it('DATABASE_POOL_SIZE and DATABASE_POOL_TIMEOUT_MS: with every connection busy, a request fails after the timeout instead of waiting', async () => {
    const small = await startTestGateway({ env: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '1', DATABASE_POOL_TIMEOUT_MS: '300' } });
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      const token = await adminToken(small);
      await createConnection(small, token, { name: 'pool-db', kind: 'DATABASE' });
      const id = await createUser(small, token, { connection: 'pool-db', email: 'pool@pool.example', password: 'password-123' });
      // An update waits on the row this test holds, on the pool's one connection.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id]);
      const update = small.gql('mutation($id: ID!) { updateUser(id: $id, input: { name: "Held" }) { user { name } userErrors { code } } }', { id }, token);
      await until('the update to wait', async () => (await waiting()) >= 1);
      const started = Date.now();
      const read = await small.gql<{ user: { email: string } | null }>('query($id: ID!) { user(id: $id) { email } }', { id }, token);
      const took = Date.now() - started;
      expect(read.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(5000);
      // The log says why, in words an operator acts on.
      await holder.query('COMMIT');
      expect((await update).data).toEqual({ updateUser: { user: { name: 'Held' }, userErrors: [] } });
      expect(readFileSync(small.logFile, 'utf8')).toMatch(/No primary database connection within 300 ms \(DATABASE_POOL_TIMEOUT_MS\): all 1 of the pool \(DATABASE_POOL_SIZE\)/);
      // Free again: the next read is served.
      expect((await small.gql<{ user: { email: string } }>('query($id: ID!) { user(id: $id) { email } }', { id }, token)).data?.user.email).toBe('pool@pool.example');
    } finally {
      await holder.end();
      await small.close();
    }
  });

  it('refuses bad values at start, naming the variable', () => {
    for (const [name, value] of [['DATABASE_POOL_SIZE', '0'], ['DATABASE_POOL_SIZE', 'ten'], ['DATABASE_POOL_TIMEOUT_MS', '-1'], ['DATABASE_POOL_TIMEOUT_MS', '1.5']] as const) {
      expect(() => loadConfig({ DATABASE_URL: databaseUrl, [name]: value })).toThrow(new RegExp(`^${name} must be a whole number from \\d+ to \\d+\\.$`));
    }
    expect(loadConfig({ DATABASE_URL: databaseUrl }).databasePool).toEqual({ size: 10, timeoutMs: 5000 });
  });
});
