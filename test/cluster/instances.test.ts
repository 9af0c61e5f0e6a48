// Many instances, proven: three gateway processes (scripts/lib/cluster.ts, as `npm run cluster`
// starts them) on one PostgreSQL schema. Every decision that matters is the database's, so what one
// instance writes or refuses, every other sees at once.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { signToken } from '../../src/auth/tokens.js';
import { MIGRATIONS_FOLDER_PG } from '../../src/config.js';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.js';
import { recordEvents } from '../../src/store/pg/events.js';
import * as pgTables from '../../src/store/pg/tables.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN_SCOPES } from '../helpers/gateway.js';

let db: TestDatabase;
let cluster: Cluster;
let admin: string;
const outboxDir = mkdtempSync(join(tmpdir(), 'gateway-cluster-test-'));

type Gql<T> = { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };

async function gql<T = Record<string, unknown>>(instance: number, query: string, variables: Record<string, unknown> = {}, token = admin): Promise<Gql<T>> {
  const res = await fetch(cluster.instances[instance]!.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Gql<T>;
}

const token = (sub: string, scope = '') =>
  signToken(cluster.secret, { sub, scope, orgId: null, ttlSeconds: 600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });

async function newUser(instance: number, email: string): Promise<string> {
  const res = await gql<{ createUser: { user: { id: string } | null; userErrors: unknown[] } }>(
    instance,
    'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
    { input: { connection: 'cluster-db', email, password: 'long-enough-1', emailVerified: true } },
  );
  expect(res.data?.createUser.userErrors).toEqual([]);
  return res.data?.createUser.user?.id as string;
}

const UPDATE = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { version } userErrors { code } } }';

beforeAll(async () => {
  db = await createTestDatabase('/tmp');
  if (!db.schema) throw new Error('the cluster tests run on PostgreSQL (the postgres vitest project)');
  // Three instances starting together on an empty schema.
  cluster = await startCluster({ instances: 3, databaseUrl: db.url, dir: outboxDir });
  admin = await token('admin@tenant', ADMIN_SCOPES);
  const res = await gql<{ createConnection: { userErrors: unknown[] } }>(
    0,
    'mutation { createConnection(input: { name: "cluster-db", kind: DATABASE }) { connection { id } userErrors { code } } }',
  );
  expect(res.data?.createConnection.userErrors).toEqual([]);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await db?.drop();
  rmSync(outboxDir, { recursive: true, force: true });
});

describe('several gateways on one PostgreSQL', () => {
  it('ran the migrations once, though three instances started together', async () => {
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER_PG });
    const rows = await db.query<{ n: string }>('SELECT count(*) AS n FROM __drizzle_migrations');
    expect(Number(rows[0]?.n)).toBe(migrations.length);
    const applied = cluster.instances.map((i) => Number(/"event":"migrated"[^\n]*"applied":(\d+)/.exec(i.output())?.[1]));
    expect(applied.sort()).toEqual([0, 0, migrations.length]);
  });

  it('reads through one instance what another just wrote', async () => {
    const id = await newUser(0, 'written@cluster.example');
    const res = await gql<{ updateUser: { userErrors: unknown[] } }>(1, UPDATE, { id, input: { name: 'Written Through One' } });
    expect(res.data?.updateUser.userErrors).toEqual([]);
    const read = await gql<{ user: { name: string; email: string } }>(2, 'query($id: ID!) { user(id: $id) { name email } }', { id });
    expect(read.data?.user).toEqual({ name: 'Written Through One', email: 'written@cluster.example' });
  });

  it('refuses a blocked or deleted user’s token on every instance at once', async () => {
    const blocked = await newUser(0, 'blocked@cluster.example');
    const own = await token(blocked);
    for (const i of [0, 1, 2]) expect((await gql<{ me: { id: string } }>(i, '{ me { id } }', {}, own)).data?.me?.id).toBe(blocked);
    expect((await gql<{ updateUser: { userErrors: unknown[] } }>(0, UPDATE, { id: blocked, input: { blocked: true } })).data?.updateUser.userErrors).toEqual([]);
    for (const i of [1, 2, 0]) expect((await gql(i, '{ me { id } }', {}, own)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const erased = await newUser(1, 'erased@cluster.example');
    const theirs = await token(erased);
    expect((await gql<{ me: { id: string } }>(2, '{ me { id } }', {}, theirs)).data?.me?.id).toBe(erased);
    const del = await gql<{ deleteUser: { userErrors: unknown[] } }>(1, 'mutation($id: ID!) { deleteUser(id: $id) { deletedUserId userErrors { code } } }', { id: erased });
    expect(del.data?.deleteUser.userErrors).toEqual([]);
    for (const i of [2, 0]) expect((await gql(i, '{ me { id } }', {}, theirs)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets exactly one of two instances win with the same expectedVersion; the other gets VERSION_CONFLICT', async () => {
    for (let round = 0; round < 5; round += 1) {
      const id = await newUser(0, `race${round}@cluster.example`);
      const [a, b] = await Promise.all([
        gql<{ updateUser: { user: { version: number } | null; userErrors: { code: string }[] } }>(1, UPDATE, { id, input: { name: 'From One', expectedVersion: 1 } }),
        gql<{ updateUser: { user: { version: number } | null; userErrors: { code: string }[] } }>(2, UPDATE, { id, input: { name: 'From Two', expectedVersion: 1 } }),
      ]);
      const codes = [a, b].map((r) => r.data?.updateUser.userErrors.map((e) => e.code) ?? ['no data']);
      expect(codes.filter((c) => c.length === 0)).toHaveLength(1);
      expect(codes.filter((c) => c.includes('VERSION_CONFLICT'))).toHaveLength(1);
    }
  });

  it('loses no key of 200 concurrent userMetadata merges through three instances', async () => {
    const id = await newUser(0, 'merges@cluster.example');
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => gql<{ updateUser: { userErrors: unknown[] } }>(i % 3, UPDATE, { id, input: { userMetadata: { [`k${i}`]: i } } })),
    );
    for (const r of results) expect(r.data?.updateUser.userErrors).toEqual([]);
    const read = await gql<{ user: { userMetadata: Record<string, number>; version: number } }>(1, 'query($id: ID!) { user(id: $id) { userMetadata version } }', { id });
    expect(read.data?.user.userMetadata).toEqual(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])));
    expect(read.data?.user.version).toBe(1 + 200);
  }, 120_000);

  it('gives an email of a database connection to one of two instances creating it at once', async () => {
    const input = { connection: 'cluster-db', email: 'Same@Cluster.example', password: 'long-enough-1' };
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        gql<{ createUser: { user: { id: string } | null; userErrors: { code: string }[] } }>(
          i,
          'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
          { input: { ...input, email: i === 0 ? input.email : input.email.toLowerCase() } },
        ),
      ),
    );
    expect(results.filter((r) => r.data?.createUser.user)).toHaveLength(1);
    expect(results.filter((r) => r.data?.createUser.userErrors.length)).toHaveLength(2);
  });

  it('sends each outbox message once, though three instances’ senders poll the same outbox', async () => {
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => newUser(i % 3, `mail${i}@cluster.example`)));
    await Promise.all(
      ids.map(async (id, i) => {
        const res = await gql<{ createPasswordResetTicket: { userErrors: unknown[] } }>(
          i % 3,
          'mutation($u: ID!) { createPasswordResetTicket(input: { user: $u }) { userErrors { code } } }',
          { u: id },
          await token(id),
        );
        expect(res.data?.createPasswordResetTicket.userErrors).toEqual([]);
      }),
    );
    const began = Date.now();
    const sentCount = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL AND to_address LIKE 'mail%@cluster.example'"))[0]?.n);
    while ((await sentCount()) < ids.length) {
      if (Date.now() - began > 30_000) throw new Error(`only ${await sentCount()} of ${ids.length} messages were sent`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const lines = [0, 1, 2]
      .map((i) => join(outboxDir, `outbox-${i}.log`))
      .filter(existsSync)
      .flatMap((f) => readFileSync(f, 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as { to: string })
      .filter((m) => /^mail\d+@cluster\.example$/.test(m.to));
    expect(lines.map((m) => m.to).sort()).toEqual(Array.from({ length: 24 }, (_, i) => `mail${i}@cluster.example`).sort());
  }, 60_000);

  it('a consumer following the events misses none, though three instances commit them concurrently', async () => {
    const reader = await token('events-reader', 'read:events');
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => newUser(i % 3, `order${i}@cluster.example`)));
    const start = Number((await db.query<{ s: string | null }>('SELECT max(seq) AS s FROM change_events'))[0]?.s ?? 0);
    // The consumer's cursor starts at the last event so far (an event's id is a cursor too).
    let cursor: string | null = (await db.query<{ id: string }>('SELECT id FROM change_events WHERE seq = $1', [start]))[0]?.id ?? null;
    const seen: string[] = [];
    const follow = async () => {
      for (;;) {
        const res = await gql<{ events: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
          0,
          'query($after: String) { events(after: $after, first: 100) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
          { after: cursor },
          reader,
        );
        const page = res.data?.events;
        if (!page) throw new Error(`no events page: ${JSON.stringify(res.errors)}`);
        seen.push(...page.edges.map((e) => e.node.id));
        if (page.pageInfo.endCursor) cursor = page.pageInfo.endCursor;
        if (!page.pageInfo.hasNextPage) return;
      }
    };
    let writing = true;
    const following = (async () => {
      while (writing) await follow();
    })();
    // Many users written at once through every instance: their transactions overlap, and a seq
    // taken first may commit last. The consumer reads while they do.
    await Promise.all(
      ids.flatMap((id, u) =>
        Array.from({ length: 15 }, async (_, k) => {
          const res = await gql<{ updateUser: { userErrors: unknown[] } }>((u + k) % 3, UPDATE, { id, input: { name: `Order ${u} ${k}` } });
          expect(res.data?.updateUser.userErrors).toEqual([]);
        }),
      ),
    );
    writing = false;
    await following;
    await follow();
    const recorded = (await db.query<{ id: string }>('SELECT id FROM change_events WHERE seq > $1 ORDER BY seq', [start])).map((r) => r.id);
    expect(recorded.length).toBeGreaterThanOrEqual(ids.length * 15);
    expect(seen).toEqual(recorded);
  }, 60_000);

  it('a seq taken first but committed last is not skipped: a later event waits for it to commit', async () => {
    const reader = await token('slow-reader', 'read:events');
    const id = await newUser(0, 'slow@cluster.example');
    const lastId = async () => (await db.query<{ id: string }>('SELECT id FROM change_events ORDER BY seq DESC LIMIT 1'))[0]?.id ?? null;
    const after = await lastId();
    const read = async () => {
      const res = await gql<{ events: { edges: { node: { id: string; subject: string; type: string } }[] } }>(
        1,
        'query($after: String) { events(after: $after, first: 100) { edges { node { id subject type } } } }',
        { after },
        reader,
      );
      return res.data?.events.edges.map((e) => e.node) ?? [];
    };
    // Another writer (an instance whose commit is slow) records an event and holds its transaction open.
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const store = drizzle({ client: pool, schema: pgTables });
    let inserted!: () => void;
    const insertedNow = new Promise<void>((r) => (inserted = r));
    let commit!: () => void;
    const committing = new Promise<void>((r) => (commit = r));
    const slow = store.transaction(async (tx) => {
      await recordEvents(tx, [{ type: 'connection.updated', subject: 'slow-writer', data: { actor: 'slow-writer', fields: ['name'] } }], new Date());
      inserted();
      await committing;
    });
    try {
      await insertedNow;
      // A write through an instance meanwhile: its event must not get past the open one.
      const write = gql<{ updateUser: { userErrors: unknown[] } }>(2, UPDATE, { id, input: { name: 'After The Slow One' } });
      await new Promise((r) => setTimeout(r, 500));
      expect(await read()).toEqual([]);
      commit();
      await slow;
      expect((await write).data?.updateUser.userErrors).toEqual([]);
      const events = await read();
      expect(events.map((e) => [e.type, e.subject])).toEqual([
        ['connection.updated', 'slow-writer'],
        ['user.updated', id],
      ]);
    } finally {
      commit();
      await slow.catch(() => undefined);
      await pool.end();
    }
  }, 30_000);
});
