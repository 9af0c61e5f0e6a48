// AUTH_JWKS_URL: RS256 and ES256 tokens verified against a key set served over HTTP.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let jwksServer: Server;
const keys: Record<string, CryptoKey> = {};

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { extractable: true });
  keys.rsa = rsa.privateKey;
  keys.ec = ec.privateKey;
  keys.stranger = stranger.privateKey;
  const jwks: { keys: JWK[] } = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ],
  };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const port = (jwksServer.address() as AddressInfo).port;
  gw = await startTestGateway({ env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
});
afterAll(async () => {
  await gw?.close();
  jwksServer?.close();
});

const claims = { scope: 'read:users' };
const sign = (key: CryptoKey, alg: string, kid: string) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, kid })
    .setSubject('jwks-admin')
    .setIssuer('https://issuer.test/')
    .setAudience('profile-gateway')
    .setExpirationTime('5m')
    .sign(key);

const QUERY = '{ users(first: 1) { totalCount } }';

describe('tokens from a JWKS', () => {
  it('accepts RS256 and ES256 tokens signed by keys of the set', async () => {
    for (const token of [await sign(keys.rsa as CryptoKey, 'RS256', 'rsa-1'), await sign(keys.ec as CryptoKey, 'ES256', 'ec-1')]) {
      const res = await gw.gql(QUERY, {}, token);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ users: { totalCount: 0 } });
    }
  });

  it('refuses a key outside the set, and HS256 (no shared secret is configured)', async () => {
    const foreign = await sign(keys.stranger as CryptoKey, 'RS256', 'rsa-1');
    expect(errorCode(await gw.gql(QUERY, {}, foreign))).toBe('UNAUTHENTICATED');
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('https://issuer.test/')
      .setAudience('profile-gateway')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('some-secret-some-secret-some-secret'));
    expect(errorCode(await gw.gql(QUERY, {}, hs))).toBe('UNAUTHENTICATED');
  });
});
