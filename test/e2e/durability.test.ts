// Durability: `kill -9` of the gateway during a write load loses no acknowledged write. Runs on
// both stores (the node project on a SQLite file, the postgres project on a schema of its own): a
// write is acknowledged only after its transaction committed, and a commit survives the process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens.js';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ADMIN_SCOPES } from '../helpers/gateway.js';

let dir: string;
let db: TestDatabase;
let cluster: Cluster;

afterAll(async () => {
  await cluster?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function gql(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  type User = { id: string; userMetadata?: Record<string, number> };
  return (await res.json()) as { data?: { user?: User | null } & Record<string, { user?: User | null } | null> };
}

describe('kill -9 during a write load', () => {
  it('loses no acknowledged write', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-durability-'));
    db = await createTestDatabase(dir);
    cluster = await startCluster({ instances: 1, databaseUrl: db.url, dir });
    const admin = await signToken(cluster.secret, { sub: 'admin@tenant', scope: ADMIN_SCOPES, orgId: null, ttlSeconds: 600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });
    const url = cluster.instances[0]!.url;
    await gql(url, admin, 'mutation { createConnection(input: { name: "durable-db", kind: DATABASE }) { connection { id } } }', {});

    // Writers create users and bump a counter in one user's metadata until the process dies.
    const created = await gql(url, admin, 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
      input: { connection: 'durable-db', email: 'counter@durable.example', password: 'long-enough-1' },
    });
    const counterId = created.data?.createUser?.user?.id as string;
    const acknowledgedUsers: string[] = [];
    const acknowledgedKeys: string[] = [];
    let n = 0;
    let dead = false;
    const writer = async (w: number) => {
      while (!dead) {
        const i = (n += 1);
        try {
          if (i % 2 === 0) {
            const r = await gql(url, admin, 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
              input: { connection: 'durable-db', email: `u${i}@durable.example`, password: 'long-enough-1' },
            });
            const id = r.data?.createUser?.user?.id;
            if (id) acknowledgedUsers.push(id);
          } else {
            const r = await gql(url, admin, 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } } }', {
              id: counterId,
              input: { userMetadata: { [`w${w}_${i}`]: i } },
            });
            if (r.data?.updateUser?.user?.id) acknowledgedKeys.push(`w${w}_${i}`);
          }
        } catch {
          // The connection died with the process: that write was never acknowledged.
          return;
        }
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 3000));
    cluster.kill(0);
    dead = true;
    await Promise.all(writers);
    expect(acknowledgedUsers.length).toBeGreaterThan(3);
    expect(acknowledgedKeys.length).toBeGreaterThan(3);

    // Started again on the same database: every acknowledged write is there.
    const again = await cluster.start(0);
    for (const id of acknowledgedUsers) {
      const r = await gql(again.url, admin, 'query($id: ID!) { user(id: $id) { id } }', { id });
      expect((r.data?.user as { id: string } | null)?.id).toBe(id);
    }
    const counter = await gql(again.url, admin, 'query($id: ID!) { user(id: $id) { id userMetadata } }', { id: counterId });
    const keys = Object.keys((counter.data?.user as { userMetadata?: object } | null)?.userMetadata ?? {});
    for (const key of acknowledgedKeys) expect(keys).toContain(key);
  }, 120_000);
});
