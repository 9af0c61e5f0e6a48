// Rate limits across instances: with REDIS_URL, two gateways on one PostgreSQL count one caller's
// budget together, so a caller alternating between instances gets the one budget, not one each.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens.js';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
let cluster: Cluster;

beforeAll(async () => {
  db = await createTestDatabase('/tmp');
  cluster = await startCluster({
    instances: 2,
    databaseUrl: db.url,
    env: { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: `test-${randomBytes(4).toString('hex')}:`, RATE_LIMIT_END_USER_PER_MINUTE: '12' },
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await db?.drop();
});

/** Requests accepted before the first RATE_LIMITED, sending the i-th request to `instanceOf(i)`. */
async function acceptedBefore429(sub: string, instanceOf: (i: number) => number): Promise<number> {
  const token = await signToken(cluster.secret, { sub, scope: '', orgId: null, ttlSeconds: 600, issuer: 'https://issuer.test/', audience: 'profile-gateway' });
  for (let i = 0; i < 100; i += 1) {
    const res = await fetch(cluster.instances[instanceOf(i)]!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    if (res.status === 429) return i;
  }
  throw new Error('never rate limited');
}

it('gives a caller one budget across instances, not one per instance', async () => {
  const alone = await acceptedBefore429(`auth0|alone-${randomBytes(4).toString('hex')}`, () => 0);
  const alternating = await acceptedBefore429(`auth0|both-${randomBytes(4).toString('hex')}`, (i) => i % 2);
  expect(alone).toBeGreaterThan(0);
  expect(alternating).toBe(alone);
});
