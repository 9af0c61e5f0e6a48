// Read replicas (#15): two gateways on one PostgreSQL with DATABASE_READ_URL naming a real
// streaming replica that this test starts (test/helpers/replica.ts: pg_basebackup, port 5433) and
// REDIS_URL sharing callers' write positions. With the replica's replay paused, the copy lags as
// far as the test likes: the caller who wrote still reads their write at once through the other
// instance, another caller's read shows the replica's (older) copy, and a block or an erasure
// refuses the token at once (the caller check reads the primary); a mutation's reads are the
// primary's; without REDIS_URL one instance keeps the positions itself, for POSITION_TTL_MS.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.js';
import { signToken } from '../../src/auth/tokens.js';
import { POSITION_TTL_MS } from '../../src/store/pg/replica.js';
import { createTestDatabase, type TestDatabase, withSchema } from '../helpers/database.js';
import { ADMIN_SCOPES } from '../helpers/gateway.js';
import { type Replica, startReplica } from '../helpers/replica.js';

let db: TestDatabase;
let replica: Replica;
let cluster: Cluster;
const dir = mkdtempSync(join(tmpdir(), 'gateway-replica-test-'));

type Gql<T> = { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };

async function gql<T = Record<string, unknown>>(instance: number, query: string, variables: Record<string, unknown>, token: string): Promise<Gql<T>> {
  const res = await fetch(cluster.instances[instance]!.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Gql<T>;
}

const token = (sub: string, scope = '') =>
  signToken(cluster.secret, { sub, scope, orgId: null, ttlSeconds: 600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });

const UPDATE = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { name version } userErrors { code } } }';
const READ = 'query($id: ID!) { user(id: $id) { name } }';

async function newUser(writer: string, email: string): Promise<string> {
  const res = await gql<{ createUser: { user: { id: string } | null; userErrors: unknown[] } }>(
    0,
    'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
    { input: { connection: 'replica-db', email, password: 'long-enough-1', name: 'Before' } },
    writer,
  );
  expect(res.data?.createUser.userErrors).toEqual([]);
  return res.data?.createUser.user?.id as string;
}

let writer: string;
let other: string;

beforeAll(async () => {
  replica = await startReplica();
  db = await createTestDatabase('/tmp');
  if (!db.schema) throw new Error('the replica test runs on PostgreSQL (the postgres vitest project)');
  cluster = await startCluster({
    instances: 2,
    databaseUrl: db.url,
    dir,
    env: {
      DATABASE_READ_URL: withSchema(replica.url, db.schema),
      REDIS_URL: 'redis://127.0.0.1:6379',
      METRICS: '1',
      REDIS_KEY_PREFIX: `test-${randomBytes(4).toString('hex')}:`,
    },
  });
  writer = await token('writer@tenant', ADMIN_SCOPES);
  other = await token('other@tenant', ADMIN_SCOPES);
  const res = await gql<{ createConnection: { userErrors: unknown[] } }>(
    0,
    'mutation { createConnection(input: { name: "replica-db", kind: DATABASE }) { connection { id } userErrors { code } } }',
    {},
    writer,
  );
  expect(res.data?.createConnection.userErrors).toEqual([]);
}, 120_000);

afterEach(async () => {
  await replica?.resume();
});

afterAll(async () => {
  await cluster?.stop();
  await db?.drop();
  await replica?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('reads on a streaming replica (DATABASE_READ_URL)', () => {
  it('lets the writer read their write at once through another instance, while another caller reads the lagging replica', async () => {
    const id = await newUser(writer, 'lag@replica.example');
    await replica.catchUp();
    await replica.pause();
    const update = await gql<{ updateUser: { user: { name: string } | null; userErrors: unknown[] } }>(0, UPDATE, { id, input: { name: 'After' } }, writer);
    expect(update.data?.updateUser).toMatchObject({ user: { name: 'After' }, userErrors: [] });
    // The writer, on the other instance, in a later request: the primary (the replica has not replayed it).
    for (const i of [1, 0]) expect((await gql<{ user: { name: string } }>(i, READ, { id }, writer)).data?.user.name).toBe('After');
    // Another caller reads the replica: still the copy from before the write.
    for (const i of [1, 0]) expect((await gql<{ user: { name: string } }>(i, READ, { id }, other)).data?.user.name).toBe('Before');
    // The replica's pool has connections (its gauge beside the primary's).
    const metrics = await (await fetch(new URL('/metrics', cluster.instances[1]!.url))).text();
    const replicaConnections = [...metrics.matchAll(/^gateway_db_pool_connections\{[^}]*pool="replica"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(replicaConnections).toBeGreaterThan(0);
    // A mutation decides on the primary: the other caller's write with the current version wins.
    const theirs = await gql<{ updateUser: { user: { name: string; version: number } | null; userErrors: unknown[] } }>(1, UPDATE, { id, input: { nickname: 'n', expectedVersion: 2 } }, other);
    expect(theirs.data?.updateUser).toEqual({ user: { name: 'After', version: 3 }, userErrors: [] });
    // A user created while the replica is paused: another caller's query does not find it there,
    // but their mutation (every read of a mutation is the primary's) does.
    // (Two callers who have not written: `other` now has, and reads the primary until the replica catches up.)
    const fresh = await newUser(writer, 'paused@replica.example');
    const [reader, mutator] = await Promise.all([token('reader@tenant', ADMIN_SCOPES), token('mutator@tenant', ADMIN_SCOPES)]);
    expect((await gql<{ user: { name: string } | null }>(1, READ, { id: fresh }, reader)).data?.user).toBeNull();
    expect((await gql<{ user: { name: string } | null }>(1, READ, { id: fresh }, other)).data?.user?.name).toBe('Before');
    const onFresh = await gql<{ updateUser: { user: { name: string } | null; userErrors: unknown[] } }>(1, UPDATE, { id: fresh, input: { name: 'Found' } }, mutator);
    expect(onFresh.data?.updateUser).toMatchObject({ user: { name: 'Found' }, userErrors: [] });
    // Replay resumed: the other caller's reads catch up.
    await replica.resume();
    await replica.catchUp();
    expect((await gql<{ user: { name: string } }>(1, READ, { id }, writer)).data?.user.name).toBe('After');
    const caughtUp = await gql<{ user: { name: string } }>(0, 'query($id: ID!) { user(id: $id) { name nickname } }', { id }, await token('third@tenant', ADMIN_SCOPES));
    expect(caughtUp.data?.user).toEqual({ name: 'After', nickname: 'n' });
  });

  it('refuses a blocked or erased user’s token at once, though the replica has not replayed the block', async () => {
    const blocked = await newUser(writer, 'blocked@replica.example');
    const erased = await newUser(writer, 'erased@replica.example');
    const blockedToken = await token(blocked);
    const erasedToken = await token(erased);
    await replica.catchUp();
    for (const [sub, own] of [[blocked, blockedToken], [erased, erasedToken]] as const) {
      expect((await gql<{ me: { id: string } }>(1, '{ me { id } }', {}, own)).data?.me.id).toBe(sub);
    }
    await replica.pause();
    expect((await gql<{ updateUser: { userErrors: unknown[] } }>(0, UPDATE, { id: blocked, input: { blocked: true } }, writer)).data?.updateUser.userErrors).toEqual([]);
    const del = await gql<{ deleteUser: { userErrors: unknown[] } }>(0, 'mutation($id: ID!) { deleteUser(id: $id) { deletedUserId userErrors { code } } }', { id: erased }, writer);
    expect(del.data?.deleteUser.userErrors).toEqual([]);
    // The replica still has both users as they were…
    expect((await gql<{ user: { name: string } | null }>(1, READ, { id: erased }, other)).data?.user?.name).toBe('Before');
    // …but their tokens are refused on both instances.
    for (const i of [1, 0]) {
      expect((await gql(i, '{ me { id } }', {}, blockedToken)).errors?.[0]?.message).toMatch(/blocked/i);
      expect((await gql(i, '{ me { id } }', {}, erasedToken)).errors?.[0]?.message).toMatch(/deleted/i);
    }
  });

  it('keeps write positions in the process without REDIS_URL, for POSITION_TTL_MS', async () => {
    const single = await startCluster({ instances: 1, databaseUrl: db.url, dir, env: { DATABASE_READ_URL: withSchema(replica.url, db!.schema!), AUTH_JWT_SECRET: cluster.secret } });
    try {
      const id = await newUser(writer, 'alone@replica.example');
      await replica.catchUp();
      await replica.pause();
      const res = await fetch(single.instances[0]!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
        body: JSON.stringify({ query: UPDATE, variables: { id, input: { name: 'Alone' } } }),
      });
      expect(((await res.json()) as Gql<{ updateUser: { userErrors: unknown[] } }>).data?.updateUser.userErrors).toEqual([]);
      const read = async () => {
        const r = await fetch(single.instances[0]!.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
          body: JSON.stringify({ query: READ, variables: { id } }),
        });
        return ((await r.json()) as Gql<{ user: { name: string } }>).data?.user.name;
      };
      expect(await read()).toBe('Alone');
      // Past the TTL the position is forgotten: the (still paused) replica serves the writer too.
      await new Promise((resolve) => setTimeout(resolve, POSITION_TTL_MS + 300));
      expect(await read()).toBe('Before');
    } finally {
      await single.stop();
    }
  }, 60_000);
});
