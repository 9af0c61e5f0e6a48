// U+0000 and unpaired UTF-16 surrogates in profile text and metadata (found in review of the
// PostgreSQL store, which refuses them as text and jsonb where SQLite would keep them): on both
// stores they are the user error INVALID_CHARACTERS naming the field, and nothing is written.
// The request body is raw JSON text, so the characters arrive as a client would send them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, readAsAdmin, type Tenant, UPDATE, type UserErrors } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;
let victim: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  victim = await tenant.user('nul');
});
afterAll(async () => {
  await gw?.close();
});

async function rawUpdate(inputJson: string) {
  const body = `{"query": ${JSON.stringify(UPDATE)}, "variables": {"id": ${JSON.stringify(victim)}, "input": ${inputJson}}}`;
  const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.admin}` }, body });
  expect(res.status).toBeLessThan(500);
  return (await res.json()) as { data?: { updateUser: { user: unknown; userErrors: UserErrors } }; errors?: unknown[] };
}

describe('unusable characters', () => {
  it.each([
    ['a NUL in a name', '{"name": "Ann\\u0000a"}', ['name']],
    ['a lone high surrogate in a nickname', '{"nickname": "x\\ud800"}', ['nickname']],
    ['a lone low surrogate in a family name', '{"familyName": "\\udc00y"}', ['familyName']],
    ['a NUL in a metadata string', '{"userMetadata": {"note": "a\\u0000b"}}', ['userMetadata', 'note']],
    ['a lone surrogate deep in metadata', '{"appMetadata": {"a": {"b": ["ok", "\\ud83d"]}}}', ['appMetadata', 'a', 'b', '1']],
    ['a NUL in a metadata key', '{"userMetadata": {"k\\u0000": 1}}', ['userMetadata', 'k\u0000']],
  ])('%s is INVALID_CHARACTERS, and nothing is written', async (_name, input, field) => {
    const before = await readAsAdmin(gw, tenant.admin, victim, 'version name nickname familyName userMetadata appMetadata');
    const res = await rawUpdate(input);
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateUser.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_CHARACTERS', field })]);
    expect(await readAsAdmin(gw, tenant.admin, victim, 'version name nickname familyName userMetadata appMetadata')).toEqual(before);
  });

  it('a paired surrogate (an emoji) is text like any other, on both stores', async () => {
    const res = await rawUpdate('{"nickname": "\\ud83d\\ude00", "userMetadata": {"mood": "\\ud83d\\ude00"}}');
    expect(res.data?.updateUser.userErrors).toEqual([]);
    const after = await readAsAdmin<{ nickname: string; userMetadata: { mood: string } }>(gw, tenant.admin, victim, 'nickname userMetadata');
    expect(after.nickname).toBe('😀');
    expect(after.userMetadata.mood).toBe('😀');
  });

  it('a login keeps well-formed text: U+0000 removed, lone surrogates replaced, on both stores (the login is not refused)', async () => {
    const made = await gw.gql<{ createConnection: { userErrors: unknown[] } }>(
      'mutation { createConnection(input: { name: "nul-social", kind: SOCIAL, strategy: "google-oauth2", syncUserRootAttributes: ON_EACH_LOGIN }) { userErrors { code } } }',
      {},
      tenant.admin,
    );
    expect(made.data?.createConnection.userErrors).toEqual([]);
    const loginServer = await gw.token('login-server', 'login:users');
    // JSON.stringify spells U+0000 and lone surrogates as \u escapes: the body is what a client sends.
    const body = JSON.stringify({
      query: 'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id name nickname identities { userId profileData } } userErrors { code } } }',
      variables: {
        input: {
          connection: 'nul-social',
          profile: { user_id: 'g\u00001', email: 'nul@social.example', name: 'Zo\u0000e', nickname: 'x\ud800', extra: { 'k\u0000': ['\udc00', '\\u0000 stays as typed'] } },
        },
      },
    });
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${loginServer}` }, body });
    const json = (await res.json()) as { data?: { recordLogin: { user: { name: string; nickname: string; identities: { userId: string; profileData: Record<string, unknown> }[] } | null; userErrors: unknown[] } } };
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data?.recordLogin.userErrors).toEqual([]);
    const user = json.data?.recordLogin.user;
    expect(user?.name).toBe('Zoe');
    expect(user?.nickname).toBe('x\ufffd');
    expect(user?.identities[0]?.userId).toBe('g1');
    expect(user?.identities[0]?.profileData.extra).toEqual({ k: ['\ufffd', '\\u0000 stays as typed'] });
  });
});
