// Messages per audience over real HTTP: one user, one refused field, the same reason for the user,
// their help desk and a tenant administrator, each in their own words; FIELD_NOT_EDITABLE and
// updateUsers' userErrors repeat the sentence fieldPolicies shows that caller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES, errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createConnection } from '../helpers/tenant.js';

type Policy = { field: string; editable: boolean; reason: string | null; message: string | null };

let gw: TestGateway;
let admin: string;
const ids: Record<string, string> = {};

async function idOf(email: string): Promise<string> {
  const res = await gw.gql<{ users: { edges: { node: { id: string } }[] } }>(
    'query($email: String) { users(first: 1, filter: { email: $email }) { edges { node { id } } } }',
    { email },
    admin,
  );
  const id = res.data?.users.edges[0]?.node.id;
  if (!id) throw new Error(`no demo user ${email}`);
  return id;
}

async function policy(token: string, userId: string, field: string): Promise<Policy> {
  const res = await gw.gql<{ user: { fieldPolicies: Policy[] } }>(
    'query($id: ID!) { user(id: $id) { fieldPolicies { field editable reason message } } }',
    { id: userId },
    token,
  );
  const found = res.data?.user.fieldPolicies.find((p) => p.field === field);
  if (!found) throw new Error(`no policy for ${field}: ${JSON.stringify(res.errors)}`);
  return found;
}

beforeAll(async () => {
  gw = await startTestGateway({ seed: true });
  admin = await gw.token('admin@tenant', ADMIN_SCOPES);
  for (const email of ['gabriel.silva@gmail.example', 'helpdesk@acme.example']) ids[email] = await idOf(email);
});
afterAll(async () => {
  await gw?.close();
});

describe('the same refusal, worded for whoever asks', () => {
  it("a Google user's synced name: the user, the help desk and the tenant administrator each read their own sentence", async () => {
    const gabriel = ids['gabriel.silva@gmail.example'] as string;
    const self = await policy(await gw.token(gabriel), gabriel, 'NAME');
    const helpDesk = await policy(await gw.token(ids['helpdesk@acme.example'] as string), gabriel, 'NAME');
    const tenantAdmin = await policy(admin, gabriel, 'NAME');

    for (const p of [self, helpDesk, tenantAdmin]) {
      expect(p).toMatchObject({ editable: false, reason: 'SYNCED_FROM_IDENTITY_PROVIDER' });
    }
    expect(self.message).toBe('Your name comes from your Google account and is updated each time you sign in: change it there.');
    expect(helpDesk.message).toMatch(/^The member's name comes from their Google account/);
    expect(helpDesk.message).toContain('Only a tenant administrator');
    expect(tenantAdmin.message).toContain('syncUserRootAttributes');
    expect(tenantAdmin.message).toContain('ON_FIRST_LOGIN');
  });

  it('FIELD_NOT_EDITABLE carries the sentence fieldPolicies shows the same caller, and nothing is written', async () => {
    const gabriel = ids['gabriel.silva@gmail.example'] as string;
    const callers = { self: await gw.token(gabriel), helpDesk: await gw.token(ids['helpdesk@acme.example'] as string), tenantAdmin: admin };
    const nameNow = async () =>
      (await gw.gql<{ user: { name: string; version: number } }>('query($id: ID!) { user(id: $id) { name version } }', { id: gabriel }, admin)).data?.user;
    const before = await nameNow();
    for (const [who, token] of Object.entries(callers)) {
      const shown = await policy(token, gabriel, 'NAME');
      const res = await gw.gql(
        'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } } }',
        { id: gabriel, input: { name: 'Gabe' } },
        token,
      );
      expect(errorCode(res), who).toBe('FIELD_NOT_EDITABLE');
      expect(res.errors?.[0]?.message, who).toBe(`${shown.message} Nothing was changed.`);
      expect(res.errors?.[0]?.extensions?.fields, who).toEqual([{ field: 'NAME', reason: 'SYNCED_FROM_IDENTITY_PROVIDER' }]);
    }
    expect(await nameNow()).toEqual(before);
  });

  it("updateUsers' userErrors use the same sentence, with the reason", async () => {
    const gabriel = ids['gabriel.silva@gmail.example'] as string;
    const self = await gw.token(gabriel);
    const shown = await policy(self, gabriel, 'NAME');
    const res = await gw.gql<{ updateUsers: { results: { userErrors: { field: string[]; code: string; message: string }[] }[] } }>(
      'mutation($input: UpdateUsersInput!) { updateUsers(input: $input) { results { userErrors { field code message } } } }',
      { input: { items: [{ id: gabriel, input: { name: 'Gabe' } }] } },
      self,
    );
    expect(res.data?.updateUsers.results[0]?.userErrors).toEqual([
      { field: ['name'], code: 'FIELD_NOT_EDITABLE', message: `${shown.message} (SYNCED_FROM_IDENTITY_PROVIDER)` },
    ]);
  });

  it("a connection's display_name option names the provider for its users", async () => {
    await createConnection(gw, admin, {
      name: 'corp-oidc',
      kind: 'ENTERPRISE',
      strategy: 'oidc',
      syncUserRootAttributes: 'ON_EACH_LOGIN',
      options: { display_name: 'Corp Login' },
    });
    const login = await gw.token('login-server', 'login:users');
    const res = await gw.gql<{ recordLogin: { user: { id: string } | null } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } } }',
      { input: { connection: 'corp-oidc', profile: { user_id: 'e-1', email: 'erin@corp.example', name: 'Erin' } } },
      login,
    );
    const erin = res.data?.recordLogin.user?.id as string;
    const self = await policy(await gw.token(erin), erin, 'NAME');
    expect(self.message).toBe('Your name comes from your work account (Corp Login) and is updated each time you sign in: change it there.');
    expect((await policy(admin, erin, 'NAME')).message).toContain('Corp Login (connection corp-oidc)');
  });
});
