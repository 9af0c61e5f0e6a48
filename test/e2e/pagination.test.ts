// Relay pagination over 250 users: every user exactly once, in order, with bounds enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection } from '../helpers/tenant.js';

let gw: TestGateway;
let reader: string;
const created: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
  const admin = await adminToken(gw);
  const connectionId = await createConnection(gw, admin, { name: 'many', kind: 'DATABASE' });
  // Inserted through the store (hashing 250 passwords would only slow the test down).
  for (let i = 0; i < 250; i++) {
    const id = `auth0|${i.toString(16).padStart(24, '0')}`;
    const res = await gw.runtime.store.users.create(
      {
        id,
        connectionId,
        email: `user${i}@many.example`,
        name: `User ${i}`,
        blocked: i % 10 === 0,
        identity: { provider: 'auth0', upstreamUserId: id.slice(6), isSocial: false, profileData: null },
      },
      { actorId: 'test', operation: 'createUser' },
      // A database connection's keys are unique (the domain's keysAreUnique).
      { uniqueKeys: true },
    );
    expect(res.ok).toBe(true);
    created.push(id);
  }
  reader = await gw.token('reader', 'read:users');
});
afterAll(async () => {
  await gw?.close();
});

type Page = {
  users: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: { id: string } }[];
  };
};
const PAGE = `query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } }
}`;

async function walk(first: number, filter?: Record<string, unknown>): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const res: { data?: Page | null } = await gw.gql<Page>(PAGE, { first, after, filter }, reader);
    const page = res.data?.users;
    if (!page) throw new Error('no page');
    seen.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) break;
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor);
    after = page.pageInfo.endCursor;
  }
  return seen;
}

describe('users pagination', () => {
  for (const size of [1, 7, 100]) {
    it(`pages of ${size} visit all 250 users once, in order`, async () => {
      const seen = await walk(size);
      expect(seen).toHaveLength(250);
      expect(new Set(seen).size).toBe(250);
      expect(seen).toEqual([...created].sort());
    }, 60_000);
  }

  it('reports the total and filters before paging', async () => {
    const res = await gw.gql<Page>(PAGE, { first: 5, filter: { blocked: true } }, reader);
    expect(res.data?.users.totalCount).toBe(25);
    const all = await walk(10, { blocked: true });
    expect(all).toHaveLength(25);
    const byEmail = await gw.gql<Page>(PAGE, { filter: { email: 'USER42@MANY.example' } }, reader);
    expect(byEmail.data?.users.edges.map((e) => e.node.id)).toEqual([created[42]]);
    const search = await gw.gql<Page>(PAGE, { filter: { search: 'User 24' } }, reader);
    // "User 24", "User 240" … "User 249"
    expect(search.data?.users.totalCount).toBe(11);
    const byConnection = await gw.gql<Page>(PAGE, { first: 1, filter: { connection: 'many' } }, reader);
    expect(byConnection.data?.users.totalCount).toBe(250);
  });

  it('rejects first above 100 or below 1, and malformed cursors, with BAD_USER_INPUT', async () => {
    for (const first of [0, -1, 101, 1000]) {
      const res = await gw.gql(PAGE, { first }, reader);
      expect(res.status).toBe(200);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
    }
    for (const after of ['garbage', '!!!', Buffer.from('x:y').toString('base64url')]) {
      expect(errorCode(await gw.gql(PAGE, { after }, reader))).toBe('BAD_USER_INPUT');
    }
  });

  it('answers an unknown id with null and a bad id type with BAD_USER_INPUT, never a 500', async () => {
    const res = await gw.gql('{ user(id: "auth0|nope") { id } node(id: "org_nope") { id } }', {}, reader);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ user: null, node: null });
    const bad = await gw.gql('query($id: ID!) { user(id: $id) { id } }', { id: { not: 'an id' } }, reader);
    expect(bad.status).toBeLessThan(500);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });
});
