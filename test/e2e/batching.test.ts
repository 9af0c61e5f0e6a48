// No N+1: a page of users with their connections, organizations and field policies costs a small,
// constant number of SQL statements, the same for 10 users as for 100.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization } from '../helpers/tenant.js';

let gw: TestGateway;
let reader: string;
let statements: string[] = [];
let counting = false;
let orgA: string;

beforeAll(async () => {
  gw = await startTestGateway({
    // The outbox's and the event delivery's polls would count as statements of whatever request is running.
    outboxIntervalMs: 3_600_000,
    env: { EVENTS_POLL_MS: '60000' },
    onStatement: (sql) => {
      if (counting) statements.push(sql);
    },
  });
  const admin = await adminToken(gw);
  const connections = [
    await createConnection(gw, admin, { name: 'b-db', kind: 'DATABASE' }),
    await createConnection(gw, admin, { name: 'b-google', kind: 'SOCIAL', strategy: 'google-oauth2' }),
    await createConnection(gw, admin, { name: 'b-sms', kind: 'PASSWORDLESS', strategy: 'sms' }),
  ];
  orgA = await createOrganization(gw, admin, { name: 'b-a' });
  const orgB = await createOrganization(gw, admin, { name: 'b-b' });
  for (let i = 0; i < 120; i++) {
    const id = `auth0|${i.toString(16).padStart(24, '0')}`;
    await gw.runtime.store.users.create(
      {
        id,
        connectionId: connections[i % 3] as string,
        email: `b${i}@batch.example`,
        identity: { provider: 'auth0', upstreamUserId: id.slice(6), isSocial: false, profileData: null },
      },
      { actorId: 'test', operation: 'createUser' },
      { uniqueKeys: true },
    );
    if (i % 2 === 0) await addMember(gw, admin, orgA, id, i % 10 === 0 ? ['ADMIN'] : ['MEMBER']);
    if (i % 3 === 0) await addMember(gw, admin, orgB, id);
  }
  reader = await gw.token('reader', 'read:users read:organizations update:users');
});
afterAll(async () => {
  await gw?.close();
});

async function count(query: string, variables: Record<string, unknown>): Promise<number> {
  statements = [];
  counting = true;
  const res = await gw.gql(query, variables, reader);
  counting = false;
  expect(res.errors).toBeUndefined();
  return statements.length;
}

const USERS = `query($first: Int) { users(first: $first) { edges { node {
  id email connection { name kind } organizations { roles organization { name } } fieldPolicies { field editable reason }
} } } }`;

const MEMBERS = `query($id: ID!, $first: Int) { organization(id: $id) { members(first: $first) { edges { node {
  roles user { id email connection { name } fieldPolicies { field editable } }
} } } } }`;

const PROFILE = `query($id: ID!) { user(id: $id) {
  id version email emailVerified username phoneNumber phoneVerified name nickname givenName familyName picture
  userMetadata appMetadata blocked migrated createdAt updatedAt lastLogin lastIp loginsCount profileSyncedAt
  connection { id name kind strategy customDatabase importMode syncUserRootAttributes }
  identities { connection provider userId isSocial profileData }
  organizations { roles invitedEmail joinedAt organization { id name displayName } }
  fieldPolicies { field editable reason message }
} }`;

describe('batched reads', () => {
  it('one profile with every field, identities, organizations and fieldPolicies: at most 3 statements', async () => {
    // The caller check, the user with its identities and memberships (and organizations), its connection.
    const id = `auth0|${(0).toString(16).padStart(24, '0')}`;
    statements = [];
    counting = true;
    const res = await gw.gql<{ user: { organizations: unknown[]; identities: unknown[] } }>(PROFILE, { id }, reader);
    counting = false;
    expect(res.errors).toBeUndefined();
    expect(res.data?.user.organizations).toHaveLength(2);
    expect(res.data?.user.identities).toHaveLength(1);
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3);
  });


  it('users(first: N) with connection, organizations and fieldPolicies: constant statements', async () => {
    const ten = await count(USERS, { first: 10 });
    const hundred = await count(USERS, { first: 100 });
    expect(ten).toBeGreaterThan(2);
    expect(hundred).toBe(ten);
    expect(hundred).toBeLessThanOrEqual(10);
  });

  it('organization members(first: N) with users and their policies: constant statements', async () => {
    const ten = await count(MEMBERS, { id: orgA, first: 10 });
    const sixty = await count(MEMBERS, { id: orgA, first: 60 });
    expect(ten).toBeGreaterThan(2);
    expect(sixty).toBe(ten);
    expect(sixty).toBeLessThanOrEqual(10);
  });
});
