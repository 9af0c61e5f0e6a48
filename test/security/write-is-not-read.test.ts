// Rows 5 and 11 of the review (issue #13):
// - writing does not grant reading: a token with update:users but not read:users, doing an empty
//   updateUser (or updateUsers), sees only id and version of the user, never appMetadata,
//   identities' raw profiles or memberships; an anonymous resetPassword shows no email either;
// - the help desk's filters never reach beyond its organizations: users(filter: { organization })
//   of an organization it does not administer is FORBIDDEN (it learned who else is a member there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, type Tenant, update } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;
let victim: string;
let writer: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  victim = await tenant.user('vic', { orgs: [tenant.acme, tenant.globex] });
  await update(gw, tenant.admin, victim, { appMetadata: { plan: 'secret-plan' } });
  writer = await gw.token('writer', 'update:users');
});
afterAll(async () => {
  await gw?.close();
});

const FULL = 'id version email appMetadata userMetadata name';
const LEAKY = 'identities { profileData } organizations { organization { name } roles }';

describe('writing does not grant reading', () => {
  it('an empty updateUser shows the writer id and version, and null for every other field it asks', async () => {
    const res = await gw.gql<{ updateUser: { user: Record<string, unknown> | null } }>(
      `mutation($id: ID!) { updateUser(id: $id, input: {}) { user { ${FULL} } userErrors { code } } }`,
      { id: victim },
      writer,
    );
    const user = res.data?.updateUser.user;
    expect(user).toMatchObject({ id: victim, email: null, appMetadata: null, userMetadata: null, name: null });
    expect(typeof user?.version).toBe('number');
    expect(JSON.stringify(res)).not.toMatch(/secret-plan|vic@sec\.example/);
    expect(res.errors?.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
  });

  it('identities and memberships are not read through a write either (the user answers null)', async () => {
    const res = await gw.gql<{ updateUser: { user: unknown } }>(
      `mutation($id: ID!) { updateUser(id: $id, input: {}) { user { id ${LEAKY} } } }`,
      { id: victim },
      writer,
    );
    expect(res.data?.updateUser.user).toBeNull();
    expect(JSON.stringify(res)).not.toMatch(/acme|globex|secret-plan/);
  });

  it('nor through updateUsers', async () => {
    const res = await gw.gql<{ updateUsers: { results: { id: string; user: Record<string, unknown> | null }[] } }>(
      `mutation($items: [UpdateUsersItem!]!) { updateUsers(input: { items: $items }) { results { id user { id version appMetadata email } } } }`,
      { items: [{ id: victim, input: {} }, { id: victim, input: {} }] },
      writer,
    );
    for (const r of res.data?.updateUsers.results ?? []) expect(r.user).toMatchObject({ id: victim, appMetadata: null, email: null });
    expect(JSON.stringify(res)).not.toMatch(/secret-plan|vic@sec\.example/);
  });

  it('a writer who may also read still sees everything', async () => {
    const res = await gw.gql<{ updateUser: { user: Record<string, unknown> } }>(
      `mutation($id: ID!) { updateUser(id: $id, input: {}) { user { ${FULL} } } }`,
      { id: victim },
      tenant.admin,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateUser.user).toMatchObject({ email: 'vic@sec.example', appMetadata: { plan: 'secret-plan' } });
  });

  it('an anonymous resetPassword answers id and version, not the email', async () => {
    const issued = await gw.gql<{ createPasswordResetTicket: { ticket: string } }>(
      'mutation($u: ID!) { createPasswordResetTicket(input: { user: $u }) { ticket } }',
      { u: victim },
      tenant.admin,
    );
    const res = await gw.gql<{ resetPassword: { user: Record<string, unknown> | null; userErrors: unknown[] } }>(
      'mutation($t: String!) { resetPassword(input: { ticket: $t, password: "brand-new-pass-1" }) { user { id version email name } userErrors { code } } }',
      { t: issued.data?.createPasswordResetTicket.ticket },
    );
    expect(res.data?.resetPassword.userErrors).toEqual([]);
    expect(res.data?.resetPassword.user).toMatchObject({ id: victim, email: null, name: null });
  });
});

describe("the help desk's filters stay within its organizations", () => {
  const LIST = 'query($org: ID!) { users(first: 50, filter: { organization: $org }) { totalCount edges { node { id } } } }';

  it('filtering by another organization is FORBIDDEN', async () => {
    const res = await gw.gql(LIST, { org: tenant.globex }, tenant.desk);
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(res.data?.users ?? null).toBeNull();
  });

  it('filtering by its own organization works, and a tenant administrator filters by any', async () => {
    const own = await gw.gql<{ users: { totalCount: number } }>(LIST, { org: tenant.acme }, tenant.desk);
    expect(own.errors).toBeUndefined();
    expect(own.data?.users.totalCount).toBe(2);
    const admin = await gw.gql<{ users: { totalCount: number } }>(LIST, { org: tenant.globex }, tenant.admin);
    expect(admin.data?.users.totalCount).toBe(1);
  });
});
