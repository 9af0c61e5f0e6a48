// The reading rules of domain.md, through every path: user, users, node, me and nested memberships.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  addMember,
  adminToken,
  createConnection,
  createOrganization,
  createUser,
} from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
const ids: Record<string, string> = {};
const orgs: Record<string, string> = {};

const PROFILE = 'id email name appMetadata userMetadata';

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  await createConnection(gw, admin, { name: 'read-db', kind: 'DATABASE' });
  for (const who of ['helpdesk', 'member', 'outsider', 'otherorg', 'plain']) {
    ids[who] = await createUser(gw, admin, {
      connection: 'read-db',
      email: `${who}@example.com`,
      password: 'long-enough-1',
      name: who,
      appMetadata: { plan: 'gold' },
      userMetadata: { color: 'blue' },
    });
  }
  orgs.a = await createOrganization(gw, admin, { name: 'org-a' });
  orgs.b = await createOrganization(gw, admin, { name: 'org-b' });
  await addMember(gw, admin, orgs.a, ids.helpdesk as string, ['ADMIN']);
  await addMember(gw, admin, orgs.a, ids.member as string);
  await addMember(gw, admin, orgs.a, ids.plain as string);
  await addMember(gw, admin, orgs.b, ids.otherorg as string);
});
afterAll(async () => {
  await gw?.close();
});

type U = { id: string; email: string | null; appMetadata: unknown; userMetadata: unknown } | null;

async function readUser(token: string, id: string) {
  return gw.gql<{ user: U; node: U }>(
    `query($id: ID!) { user(id: $id) { ${PROFILE} } node(id: $id) { ... on User { ${PROFILE} } } }`,
    { id },
    token,
  );
}

describe('reading rules', () => {
  it('a tenant administrator with read:users reads every field of everyone', async () => {
    const token = await gw.token('admin@tenant', 'read:users');
    for (const id of Object.values(ids)) {
      const res = await readUser(token, id);
      expect(res.errors).toBeUndefined();
      expect(res.data?.user).toMatchObject({
        id,
        appMetadata: { plan: 'gold' },
        userMetadata: { color: 'blue' },
      });
      expect(res.data?.node).toEqual(res.data?.user);
    }
    const list = await gw.gql<{ users: { totalCount: number } }>('{ users { totalCount } }', {}, token);
    expect(list.data?.users.totalCount).toBe(5);
  });

  it('update:users alone does not read profiles', async () => {
    const token = await gw.token('writer', 'update:users');
    const res = await readUser(token, ids.member as string);
    expect(res.data).toEqual({ user: null, node: null });
  });

  it('a user reads their own profile, app_metadata included, and nobody else', async () => {
    const token = await gw.token(ids.member as string);
    const own = await readUser(token, ids.member as string);
    expect(own.data?.user).toMatchObject({ id: ids.member, appMetadata: { plan: 'gold' } });
    const me = await gw.gql<{ me: U }>(`{ me { ${PROFILE} } }`, {}, token);
    expect(me.data?.me).toEqual(own.data?.user);
    for (const other of ['helpdesk', 'outsider', 'plain']) {
      const res = await readUser(token, ids[other] as string);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ user: null, node: null });
    }
    const list = await gw.gql<{ users: { totalCount: number; edges: { node: { id: string } }[] } }>(
      '{ users { totalCount edges { node { id } } } }',
      {},
      token,
    );
    expect(list.data?.users.edges.map((e) => e.node.id)).toEqual([ids.member]);
  });

  it("the help desk reads its organization's members, with app_metadata as null and no error", async () => {
    const token = await gw.token(ids.helpdesk as string);
    const res = await readUser(token, ids.member as string);
    expect(res.errors).toBeUndefined();
    expect(res.data?.user).toEqual({
      id: ids.member,
      email: 'member@example.com',
      name: 'member',
      appMetadata: null,
      userMetadata: { color: 'blue' },
    });
    const list = await gw.gql<{ users: { edges: { node: { id: string; appMetadata: unknown } }[] } }>(
      '{ users(first: 100) { edges { node { id appMetadata } } } }',
      {},
      token,
    );
    const seen = list.data?.users.edges.map((e) => e.node.id).sort();
    expect(seen).toEqual([ids.helpdesk, ids.member, ids.plain].sort());
    // Their own profile is theirs in full.
    expect(list.data?.users.edges.find((e) => e.node.id === ids.helpdesk)?.node.appMetadata).toEqual({
      plan: 'gold',
    });
  });

  it('the help desk sees nothing of users outside its organization, by any path', async () => {
    const token = await gw.token(ids.helpdesk as string);
    for (const other of ['outsider', 'otherorg']) {
      const res = await readUser(token, ids[other] as string);
      expect(res.data).toEqual({ user: null, node: null });
    }
    const org = await gw.gql('query($id: ID!) { organization(id: $id) { id } }', { id: orgs.b }, token);
    expect(org.data).toEqual({ organization: null });
    const members = await gw.gql(
      'query($id: ID!) { node(id: $id) { ... on Organization { members { edges { node { user { id } } } } } } }',
      { id: orgs.b },
      token,
    );
    expect(members.data).toEqual({ node: null });
  });

  it("with an org_id claim for another organization, the help desk's powers do not apply", async () => {
    const token = await gw.token(ids.helpdesk as string, '', { orgId: orgs.b });
    const res = await readUser(token, ids.member as string);
    expect(res.data).toEqual({ user: null, node: null });
  });

  it('a plain member sees other members of the organization only as null users', async () => {
    const token = await gw.token(ids.plain as string);
    const res = await gw.gql<{
      me: { organizations: { organization: { name: string }; user: { id: string } | null }[] };
    }>('{ me { organizations { organization { name } user { id } } } }', {}, token);
    expect(res.data?.me.organizations).toEqual([
      { organization: { name: 'org-a' }, user: { id: ids.plain } },
    ]);
    const list = await gw.gql(
      'query($id: ID!) { organization(id: $id) { members { totalCount } } }',
      { id: orgs.a },
      token,
    );
    expect(errorCode(list)).toBe('FORBIDDEN');
  });

  it('the help desk lists its members, and their user objects follow the reading rules', async () => {
    const token = await gw.token(ids.helpdesk as string);
    const res = await gw.gql<{
      organization: {
        members: {
          totalCount: number;
          edges: { node: { roles: string[]; user: { id: string; appMetadata: unknown } } }[];
        };
      };
    }>(
      'query($id: ID!) { organization(id: $id) { members { totalCount edges { node { roles user { id appMetadata } } } } } }',
      { id: orgs.a },
      token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.organization.members.totalCount).toBe(3);
    const member = res.data?.organization.members.edges.find((e) => e.node.user.id === ids.member);
    expect(member?.node).toEqual({ roles: ['MEMBER'], user: { id: ids.member, appMetadata: null } });
  });

  it('an unrelated caller gets null for a user, exactly as for a missing one', async () => {
    const token = await gw.token(ids.outsider as string);
    const existing = await readUser(token, ids.member as string);
    const missing = await readUser(token, 'auth0|doesnotexist');
    expect(existing).toEqual(missing);
  });

  it('connections are configuration: read:connections reads them, a user sees only the kind of their own', async () => {
    const token = await gw.token(ids.member as string);
    const res = await gw.gql<{ me: { connection: { name: string; kind: string; options: unknown } } }>(
      '{ me { connection { name kind options userCount } } }',
      {},
      token,
    );
    expect(res.data?.me.connection).toEqual({
      name: 'read-db',
      kind: 'DATABASE',
      options: null,
      userCount: null,
    });
    expect(errorCode(await gw.gql('{ connections { id } }', {}, token))).toBe('FORBIDDEN');
  });
  it("the help desk reads neither the raw upstream profile nor a member's other organizations", async () => {
    const login = await gw.token('login-server', 'login:users');
    await gw.gql(
      'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { connection { id } } }',
      { input: { name: 'read-google', kind: 'SOCIAL', strategy: 'google-oauth2' } },
      admin,
    );
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } } }',
      { input: { connection: 'read-google', profile: { user_id: 'g7', email: 'g7@gmail.example', app_metadata: { secret: 'plan' } } } },
      login,
    );
    const id = res.data?.recordLogin.user.id as string;
    await addMember(gw, admin, orgs.a as string, id);
    await addMember(gw, admin, orgs.b as string, id);
    const q = 'query($id: ID!) { user(id: $id) { identities { userId profileData } organizations { organization { name } } } }';
    const desk = await gw.gql<{ user: { identities: { profileData: unknown }[]; organizations: { organization: { name: string } }[] } }>(q, { id }, await gw.token(ids.helpdesk as string));
    expect(desk.data?.user.identities).toEqual([{ userId: 'g7', profileData: null }]);
    expect(desk.data?.user.organizations).toEqual([{ organization: { name: 'org-a' } }]);
    const full = await gw.gql<{ user: { identities: { profileData: unknown }[]; organizations: unknown[] } }>(q, { id }, await gw.token('admin', 'read:users'));
    expect(full.data?.user.identities[0]?.profileData).toMatchObject({ app_metadata: { secret: 'plan' } });
    expect(full.data?.user.organizations).toHaveLength(2);
  });
});
