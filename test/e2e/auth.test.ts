// Tokens are fully verified: signature, expiry, issuer, audience and the algorithm allow-list.
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';
import type { UserRow } from '../../src/store/types.js';

let gw: TestGateway;
const ME = '{ me { id } users(first: 1) { totalCount } }';

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function sign(
  claims: Record<string, unknown>,
  secret = gw.secret,
  header: Record<string, unknown> = {},
) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header });
  if (!('exp' in claims)) jwt = jwt.setExpirationTime('10m');
  return jwt.sign(new TextEncoder().encode(secret));
}

const base = () => ({
  sub: 'admin@tenant',
  scope: 'read:users',
  iss: 'https://issuer.test/',
  aud: 'profile-gateway',
});

describe('tokens', () => {
  it('accepts a valid token', async () => {
    const res = await gw.gql(ME, {}, await sign(base()));
    expect(res.errors).toBeUndefined();
    expect(res.data).toMatchObject({ me: null, users: { totalCount: 0 } });
  });

  const refused: [string, () => Promise<string | null>][] = [
    ['no token', async () => null],
    ['a malformed token', async () => 'not-a-jwt'],
    ['an expired token', async () => sign({ ...base(), exp: now() - 60 })],
    [
      'a token without exp',
      async () => {
        const header = b64({ alg: 'HS256', typ: 'JWT' });
        const payload = b64(base());
        const sig = createHmac('sha256', gw.secret).update(`${header}.${payload}`).digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
    ],
    ['a wrongly signed token', async () => sign(base(), 'another-secret-another-secret-xx')],
    [
      'an alg:none token',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...base(), exp: now() + 600 })}.`,
    ],
    ['a token for another audience', async () => sign({ ...base(), aud: 'someone-else' })],
    ['a token from another issuer', async () => sign({ ...base(), iss: 'https://evil.test/' })],
    [
      'an HS512 token (algorithm not allowed)',
      async () =>
        new SignJWT(base())
          .setProtectedHeader({ alg: 'HS512' })
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(gw.secret)),
    ],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what} with UNAUTHENTICATED and no data`, async () => {
      const res = await gw.gql(ME, {}, await make());
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      expect(res.data?.me ?? null).toBeNull();
      expect(JSON.stringify(res)).not.toMatch(/stack|at .*\.ts/);
    });
  }

  it('refuses a token once it expires, even after it was accepted (verified tokens are cached)', async () => {
    const token = await sign({ ...base(), exp: now() + 2 });
    expect((await gw.gql(ME, {}, token)).errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2600));
    expect(errorCode(await gw.gql(ME, {}, token))).toBe('UNAUTHENTICATED');
  });

  it('refuses mutations without a valid token too', async () => {
    const res = await gw.gql(
      'mutation { createConnection(input: { name: "x", kind: DATABASE }) { connection { id } } }',
      {},
      null,
    );
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('stops honouring a token the moment its user is blocked', async () => {
    const admin = await adminToken(gw);
    await createConnection(gw, admin, { name: 'tokens-db', kind: 'DATABASE' });
    const id = await createUser(gw, admin, {
      connection: 'tokens-db',
      email: 'blockme@example.com',
      password: 'long-enough-1',
    });
    const own = await gw.token(id);
    expect((await gw.gql<{ me: { id: string } }>('{ me { id } }', {}, own)).data?.me?.id).toBe(id);
    const [row] = await gw.runtime.store.users.byIds([id]);
    await gw.runtime.store.users.apply(id, row as UserRow, { changes: { blocked: true } }, { actorId: 'test', operation: 'block' }, { uniqueKeys: true });
    const res = await gw.gql('{ me { id } }', {}, own);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });
});
