// `npm run bench:stores -- --instances 1,2 --seconds 5`: the profile read (scenario 1's document)
// and a metadata merge, over HTTP, on SQLite (one instance: a file is one process's) and on
// PostgreSQL through one and more instances on one database, each run on a fresh database with the
// demo tenant. Several instances are loaded at once, each by its own autocannon, and their
// requests added up. Loopback only, bounded in time. Results: bench/results/stores.md and .json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_SCOPES, signToken } from '../src/auth/tokens.js';
import { type Cluster, startCluster } from '../scripts/lib/cluster.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { type LoadResult, runLoad } from './lib/load.js';
import { PROFILE } from './lib/queries.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? (args[at + 1] ?? fallback) : fallback;
};
const instanceCounts = arg('--instances', '1,2').split(',').map(Number);
const seconds = Number(arg('--seconds', '5'));
const connections = Number(arg('--connections', '16'));

interface Row {
  store: string;
  instances: number;
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function userIds(url: string, token: string): Promise<string[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ users(first: 100, filter: { connection: "Username-Password-Authentication" }) { edges { node { id } } } }' }),
  });
  const body = (await res.json()) as { data: { users: { edges: { node: { id: string } }[] } } };
  return body.data.users.edges.map((e) => e.node.id);
}

async function measure(store: 'sqlite' | 'postgres', instances: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stores-'));
  const db = await createTestDatabase(dir, store);
  let cluster: Cluster | null = null;
  try {
    // SEED_DEMO unset: the demo tenant is loaded by the instance that creates the database.
    cluster = await startCluster({ instances, databaseUrl: db.url, dir, env: { SEED_DEMO: '', LOG_LEVEL: 'warn' } });
    const token = await signToken(cluster.secret, { sub: 'admin@tenant', scope: ALL_SCOPES, ttlSeconds: 3600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });
    const ids = await userIds(cluster.instances[0]!.url, token);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const ok = (body: string) => !body.includes('"errors"') && !/"userErrors":\[\{/.test(body);
    let n = 0;
    const scenarios = {
      'profile read': () => JSON.stringify({ query: PROFILE, variables: { id: ids[(n += 1) % ids.length] } }),
      'metadata merge': () =>
        JSON.stringify({
          query: 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { version } userErrors { code } } }',
          variables: { id: ids[(n += 1) % ids.length], input: { userMetadata: { [`bench${n % 50}`]: n } } },
        }),
    };
    const rows: Row[] = [];
    for (const [scenario, body] of Object.entries(scenarios)) {
      const results: LoadResult[] = await Promise.all(
        cluster.instances.map((i) =>
          runLoad({ name: scenario, url: i.url, connections: Math.max(1, Math.round(connections / instances)), seconds, warmupSeconds: 1, headers, body, verify: ok, serverPid: i.child.pid as number }),
        ),
      );
      const requests = results.reduce((a, r) => a + r.requests, 0);
      rows.push({
        store,
        instances,
        scenario,
        rps: Math.round(results.reduce((a, r) => a + r.rps, 0)),
        // The slowest instance's percentiles: what a client behind the balancer may meet.
        p50: Math.max(...results.map((r) => r.latencyMs.p50)),
        p99: Math.max(...results.map((r) => r.latencyMs.p99)),
        failed: results.reduce((a, r) => a + r.failedBodies + r.errors + r.non2xx, 0) / Math.max(1, requests),
      });
      console.log(`${store} ×${instances} ${scenario}: ${rows.at(-1)!.rps} req/s, p50 ${rows.at(-1)!.p50.toFixed(1)} ms, p99 ${rows.at(-1)!.p99.toFixed(1)} ms`);
    }
    return rows;
  } finally {
    await cluster?.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
rows.push(...(await measure('sqlite', 1)));
for (const count of instanceCounts) rows.push(...(await measure('postgres', count)));
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'stores.json'), `${JSON.stringify({ at: new Date().toISOString(), seconds, connections, rows }, null, 2)}\n`);
const table = [
  '| store | instances | scenario | req/s | p50 ms | p99 ms | failed |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.store} | ${r.instances} | ${r.scenario} | ${r.rps} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(r.failed * 100).toFixed(1)}% |`),
].join('\n');
writeFileSync(join(out, 'stores.md'), `# Stores and instances (${new Date().toISOString()}, ${seconds} s per run, ${connections} connections in all)\n\n${table}\n`);
console.log(`\n${table}`);
