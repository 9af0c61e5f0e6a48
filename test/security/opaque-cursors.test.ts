// Row 12 of the review (issue #13): a token with only `read:organizations` lists an organization's
// members with `user` null, yet read each member's id out of the edge cursors (base64 of "c:<id>")
// and the invited address from `invitedEmail`. Now cursors are sealed (they hold no id in any
// encoding, and a changed one is BAD_USER_INPUT, never another position or a 500), bound to their
// list and caller, and `invitedEmail` reads as the member's profile does.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, type GqlResponse, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, type Tenant } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;
/** acme's members (the help desk, then the invited ones) and the addresses they were invited at. */
const invited = new Map<string, string>();
let orgReader: string;
let usersReader: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  for (const name of ['ivy', 'ian', 'ida', 'ira', 'isa']) {
    const id = await tenant.user(name);
    const email = `${name}@sec.example`;
    const res = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($o: ID!, $e: String!) { createInvitation(input: { organization: $o, email: $e }) { invitation { ticket } } }',
      { o: tenant.acme, e: email },
      tenant.admin,
    );
    const accepted = await gw.gql<{ acceptInvitation: { userErrors: unknown[] } }>(
      'mutation($t: String!) { acceptInvitation(input: { ticket: $t }) { userErrors { code } } }',
      { t: res.data?.createInvitation.invitation.ticket },
      await gw.token(id),
    );
    expect(accepted.data?.acceptInvitation.userErrors).toEqual([]);
    invited.set(id, email);
  }
  orgReader = await gw.token('org-reader', 'read:organizations');
  usersReader = await gw.token('users-reader', 'read:users read:audit');
});
afterAll(async () => {
  await gw?.close();
});

type MembersPage = {
  organization: {
    members: {
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      edges: { cursor: string; node: { user: { id: string } | null; invitedEmail: string | null; roles: string[] } }[];
    };
  } | null;
};
const MEMBERS = `query($o: ID!, $first: Int, $after: String) {
  organization(id: $o) { members(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { user { id } invitedEmail roles } } } }
}`;

const members = (token: string, after: string | null = null, first = 2) =>
  gw.gql<MembersPage>(MEMBERS, { o: tenant.acme, first, after }, token);

/** Every reading of a cursor a client could try: as it is, base64url/base64 decoded (utf8, latin1), hex. */
function readings(cursor: string): string[] {
  const out = [cursor, decodeURIComponent(cursor)];
  for (const bytes of [Buffer.from(cursor, 'base64url'), Buffer.from(cursor, 'base64')]) {
    out.push(bytes.toString('utf8'), bytes.toString('latin1'), bytes.toString('hex'));
  }
  return out;
}

/** The distinguishing part of a user id (`auth0|<hex>` → `<hex>`), and the id itself. */
const idParts = (id: string) => [id, id.split('|')[1] ?? id];

async function walkMembers(token: string) {
  const edges: NonNullable<MembersPage['organization']>['members']['edges'] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 20; guard++) {
    const res: GqlResponse<MembersPage> = await members(token, after);
    expect(res.errors).toBeUndefined();
    const page = res.data?.organization?.members;
    if (!page) throw new Error('no page');
    edges.push(...page.edges);
    if (!page.pageInfo.hasNextPage) break;
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor);
    after = page.pageInfo.endCursor;
  }
  return edges;
}

describe('a token with only read:organizations', () => {
  it('pages through the members without learning who they are: no id in any cursor, invitedEmail null', async () => {
    const edges = await walkMembers(orgReader);
    expect(edges).toHaveLength(invited.size + 1);
    for (const edge of edges) {
      expect(edge.node.user).toBeNull();
      expect(edge.node.invitedEmail).toBeNull();
      expect(edge.node.roles.length).toBeGreaterThan(0);
    }
    const ids = [tenant.deskId, ...invited.keys()];
    for (const edge of edges) {
      for (const text of readings(edge.cursor)) {
        for (const id of ids) for (const part of idParts(id)) expect(text).not.toContain(part);
        for (const email of invited.values()) expect(text).not.toContain(email);
      }
    }
  });

  it('cannot use a member cursor as a position in users (another list) or as another caller', async () => {
    const first = await members(orgReader, null, 1);
    const cursor = first.data?.organization?.members.pageInfo.endCursor;
    expect(cursor).toBeTruthy();
    // The same cursor is a position for its own caller and list…
    expect((await members(orgReader, cursor)).errors).toBeUndefined();
    // …and nothing anywhere else.
    expect(errorCode(await gw.gql('query($a: String) { users(after: $a) { totalCount } }', { a: cursor }, usersReader))).toBe('BAD_USER_INPUT');
    expect(errorCode(await members(await gw.token('another-org-reader', 'read:organizations'), cursor))).toBe('BAD_USER_INPUT');
    expect(errorCode(await members(tenant.desk, cursor))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql('query($o: ID!, $a: String) { organization(id: $o) { members(after: $a) { totalCount } } }', { o: tenant.globex, a: cursor }, orgReader))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

describe('invitedEmail follows the member’s read rule', () => {
  it('a tenant administrator with read:users and acme’s help desk read it; the member reads their own', async () => {
    const admin = await gw.token('both', 'read:users read:organizations');
    for (const token of [admin, tenant.desk]) {
      const edges = await walkMembers(token);
      const seen = new Map(edges.map((e) => [e.node.user?.id, e.node.invitedEmail]));
      for (const [id, email] of invited) expect(seen.get(id)).toBe(email);
      // The help desk was added directly: no invitation.
      expect(seen.get(tenant.deskId)).toBeNull();
    }
    const [id, email] = [...invited][0] ?? [];
    const own = await gw.gql<{ me: { organizations: { invitedEmail: string | null }[] } }>('{ me { organizations { invitedEmail } } }', {}, await gw.token(id ?? ''));
    expect(own.data?.me.organizations).toEqual([{ invitedEmail: email }]);
  });

  it('a help desk reading another organization’s members sees none of that organization’s memberships of its own members', async () => {
    // ira is a member of acme (the desk's organization) and now also joins globex by invitation.
    const id = [...invited.keys()][3] ?? '';
    const res = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($o: ID!, $e: String!) { createInvitation(input: { organization: $o, email: $e }) { invitation { ticket } } }',
      { o: tenant.globex, e: invited.get(id) },
      tenant.admin,
    );
    const accepted = await gw.gql<{ acceptInvitation: { userErrors: unknown[] } }>(
      'mutation($t: String!) { acceptInvitation(input: { ticket: $t }) { userErrors { code } } }',
      { t: res.data?.createInvitation.invitation.ticket },
      await gw.token(id),
    );
    expect(accepted.data?.acceptInvitation.userErrors).toEqual([]);
    // The desk with read:organizations may list globex's members, but the shared member is not shown as
    // theirs there, and globex's invited address stays hidden.
    const desk = await gw.token(tenant.deskId, 'read:organizations');
    const page = await gw.gql<MembersPage>(MEMBERS, { o: tenant.globex, first: 100, after: null }, desk);
    expect(page.errors).toBeUndefined();
    const edges = page.data?.organization?.members.edges ?? [];
    expect(edges.length).toBeGreaterThan(0);
    for (const e of edges) expect(e.node).toMatchObject({ user: null, invitedEmail: null });
    // A tenant administrator sees that membership whole.
    const admin = await gw.token('both', 'read:users read:organizations');
    const whole = await gw.gql<MembersPage>(MEMBERS, { o: tenant.globex, first: 100, after: null }, admin);
    expect(whole.data?.organization?.members.edges.map((e) => e.node)).toContainEqual(
      expect.objectContaining({ user: { id }, invitedEmail: invited.get(id) }),
    );
    // The desk still sees ira's acme membership, as before.
    expect((await walkMembers(desk)).map((e) => e.node.user?.id)).toContain(id);
  });

  it('a writer without read:users reads it as null in a membership payload', async () => {
    const manager = await gw.token('org-manager', 'update:organizations');
    const [id] = [...invited.keys()];
    const res = await gw.gql<{ updateOrganizationMember: { membership: { user: unknown; invitedEmail: string | null } | null } }>(
      'mutation($o: ID!, $u: ID!) { updateOrganizationMember(input: { organization: $o, user: $u, roles: [MEMBER] }) { membership { user { id } invitedEmail } userErrors { code } } }',
      { o: tenant.acme, u: id },
      manager,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateOrganizationMember.membership).toEqual({ user: null, invitedEmail: null });
  });
});

describe('every cursor is sealed: users, users in an order, members, audit', () => {
  const LISTS: { name: string; query: string; token: () => string; vars: () => Record<string, unknown>; page: (d: Record<string, unknown>) => { edges: { cursor: string }[] } }[] = [
    {
      name: 'users',
      query: 'query($after: String) { users(first: 2, after: $after) { edges { cursor node { id } } } }',
      token: () => usersReader,
      vars: () => ({}),
      page: (d) => d.users as { edges: { cursor: string }[] },
    },
    {
      name: 'users by email',
      query: 'query($after: String) { users(first: 2, after: $after, orderBy: { field: EMAIL, direction: DESC }) { edges { cursor node { id } } } }',
      token: () => usersReader,
      vars: () => ({}),
      page: (d) => d.users as { edges: { cursor: string }[] },
    },
    {
      name: 'members',
      query: 'query($o: ID!, $after: String) { organization(id: $o) { members(first: 2, after: $after) { edges { cursor node { roles } } } } }',
      token: () => orgReader,
      vars: () => ({ o: tenant.acme }),
      page: (d) => (d.organization as { members: { edges: { cursor: string }[] } }).members,
    },
    {
      name: 'audit',
      query: 'query($after: String) { auditEvents(first: 2, after: $after) { edges { cursor node { id targetUserId } } } }',
      token: () => usersReader,
      vars: () => ({}),
      page: (d) => d.auditEvents as { edges: { cursor: string }[] },
    },
  ];

  for (const list of LISTS) {
    it(`${list.name}: no cursor holds an id, and a cursor of another order is refused`, async () => {
      const res = await gw.gql<Record<string, unknown>>(list.query, list.vars(), list.token());
      expect(res.errors).toBeUndefined();
      const page = list.page(res.data ?? {});
      expect(page.edges.length).toBe(2);
      for (const edge of page.edges) {
        for (const text of readings(edge.cursor)) {
          for (const id of [tenant.deskId, ...invited.keys()]) for (const part of idParts(id)) expect(text).not.toContain(part);
          expect(text).not.toMatch(/^c:/);
        }
      }
    });
  }

  it('a users cursor of one order is not a position in another', async () => {
    const byId = await gw.gql<{ users: { pageInfo: { endCursor: string } } }>('{ users(first: 1) { pageInfo { endCursor } } }', {}, usersReader);
    const cursor = byId.data?.users.pageInfo.endCursor;
    const res = await gw.gql('query($a: String) { users(after: $a, orderBy: { field: EMAIL, direction: ASC }) { totalCount } }', { a: cursor }, usersReader);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });

  it('the old readable cursors ("c:<id>" in base64url) are refused', async () => {
    for (const id of [tenant.deskId, ...invited.keys()]) {
      const forged = Buffer.from(`c:${id}`, 'utf8').toString('base64url');
      expect(errorCode(await members(orgReader, forged))).toBe('BAD_USER_INPUT');
      expect(errorCode(await gw.gql('query($a: String) { users(after: $a) { totalCount } }', { a: forged }, usersReader))).toBe('BAD_USER_INPUT');
    }
  });

  it('property: a changed cursor never yields another position’s data, nor a 500; only the issued one pages', async () => {
    const all = await walkMembers(orgReader);
    const cursors = all.map((e) => e.cursor).slice(0, -1);
    const expected = new Map<string, string>();
    for (const cursor of cursors) {
      const issued = await members(orgReader, cursor, 1);
      // The expectation is an answer, not an error (else a wrongly refused cursor would be "expected").
      expect(issued.errors).toBeUndefined();
      expect(issued.data?.organization?.members.edges.length).toBe(1);
      expected.set(cursor, JSON.stringify(issued.data));
    }
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const tamper = fc.oneof(
      // Flip one bit of the sealed bytes.
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      // Replace one character.
      fc.record({ kind: fc.constant('char' as const), at: fc.nat(), to: fc.constantFrom(...ALPHABET.split('')) }),
      // Cut or extend.
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), text: fc.string({ minLength: 1, maxLength: 8 }) }),
      // Splice two issued cursors together.
      fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), other: fc.nat() }),
      // Anything at all.
      fc.record({ kind: fc.constant('any' as const), text: fc.string({ maxLength: 120 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), tamper, async (which, t) => {
        const original = cursors[which % cursors.length] ?? '';
        let changed: string;
        switch (t.kind) {
          case 'flip': {
            const bytes = Buffer.from(original, 'base64url');
            const i = t.at % bytes.length;
            bytes[i] = (bytes[i] ?? 0) ^ (1 << t.bit);
            changed = bytes.toString('base64url');
            break;
          }
          case 'char': {
            const i = t.at % original.length;
            changed = original.slice(0, i) + t.to + original.slice(i + 1);
            break;
          }
          case 'cut':
            changed = original.slice(0, t.at % original.length);
            break;
          case 'append':
            changed = original + t.text;
            break;
          case 'splice': {
            const other = cursors[t.other % cursors.length] ?? '';
            const i = t.at % original.length;
            changed = original.slice(0, i) + other.slice(i);
            break;
          }
          case 'any':
            changed = t.text;
            break;
        }
        const res = await members(orgReader, changed, 1);
        expect(res.status).toBeLessThan(500);
        if (expected.has(changed)) {
          // An issued cursor (the tampering gave one back): its own page, exactly.
          expect(JSON.stringify(res.data)).toBe(expected.get(changed));
        } else {
          // Anything else, an empty `after` included, is no position: refused, with no data.
          expect(errorCode(res)).toBe('BAD_USER_INPUT');
          expect(res.data?.organization ?? null).toBeNull();
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
