// Declared attributes through the real server: declarations on a connection, the policy per key
// (roles, lifecycle, undeclared keys), schema validation, and viewing rules in every read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_STORE } from '../helpers/database.js';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

const DECLARATIONS = [
  { key: 'locale', in: 'USER_METADATA', schema: { type: 'string', pattern: '^[a-z]{2}(-[A-Z]{2})?$' }, edit: ['TENANT_ADMIN', 'HELP_DESK', 'SELF'], view: ['TENANT_ADMIN', 'HELP_DESK', 'SELF'] },
  { key: 'department', in: 'USER_METADATA', schema: { type: 'string', maxLength: 40 }, edit: ['TENANT_ADMIN', 'HELP_DESK'], view: ['TENANT_ADMIN', 'HELP_DESK', 'SELF'] },
  { key: 'employeeNumber', in: 'USER_METADATA', schema: { type: 'integer', minimum: 1 }, edit: ['TENANT_ADMIN'], view: ['TENANT_ADMIN', 'HELP_DESK'], lifecycle: 'CREATE_ONLY' },
  { key: 'termsAcceptedAt', in: 'USER_METADATA', schema: { type: 'string', format: 'date-time' }, edit: ['SELF', 'TENANT_ADMIN'], view: ['TENANT_ADMIN', 'SELF'], lifecycle: 'WRITE_ONCE' },
  { key: 'plan', in: 'APP_METADATA', schema: { enum: ['free', 'pro'] }, edit: ['TENANT_ADMIN', 'SELF'], view: ['TENANT_ADMIN', 'SELF'] },
];

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { user { id userMetadata appMetadata } userErrors { field code message } }
}`;
const POLICIES = `query($id: ID!) { user(id: $id) { userMetadata appMetadata attributePolicies { key in editable reason message } } }`;

type Policy = { key: string; in: string; editable: boolean; reason: string | null; message: string | null };

let gw: TestGateway;
let admin: string;
let connectionId: string;
let userId: string;
let self: string;
let helpDesk: string;

async function update(token: string, input: Record<string, unknown>, id = userId) {
  return gw.gql<{ updateUser: { user: { userMetadata: Record<string, unknown> | null } | null; userErrors: { field: string[]; code: string }[] } }>(
    UPDATE,
    { id, input },
    token,
  );
}

async function policies(token: string, id = userId) {
  const res = await gw.gql<{ user: { userMetadata: Record<string, unknown>; appMetadata: Record<string, unknown> | null; attributePolicies: Policy[] } }>(
    POLICIES,
    { id },
    token,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.user;
}

const policyOf = (list: Policy[], key: string) => list.find((p) => p.key === key)!;

const statements: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ onStatement: (sql) => statements.push(sql) });
  admin = await adminToken(gw);
  connectionId = await createConnection(gw, admin, { name: 'staff', kind: 'DATABASE' });
  const res = await gw.gql<{ updateConnection: { connection: { attributes: unknown[]; undeclaredAttributes: string }; userErrors: unknown[] } }>(
    `mutation($id: ID!, $input: UpdateConnectionInput!) {
      updateConnection(id: $id, input: $input) { connection { attributes { key in schema edit view lifecycle } undeclaredAttributes } userErrors { field code message } }
    }`,
    { id: connectionId, input: { attributes: DECLARATIONS, undeclaredAttributes: 'ADMIN_ONLY' } },
    admin,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.updateConnection.userErrors).toEqual([]);
  expect(res.data?.updateConnection.connection.attributes).toHaveLength(5);
  expect(res.data?.updateConnection.connection.undeclaredAttributes).toBe('ADMIN_ONLY');
  userId = await createUser(gw, admin, {
    connection: 'staff',
    email: 'ada@staff.example',
    password: 'correct horse battery',
    userMetadata: { employeeNumber: 42, locale: 'en' },
    appMetadata: { plan: 'free' },
  });
  const org = await createOrganization(gw, admin, { name: 'staff-org', connections: ['staff'] });
  const deskId = await createUser(gw, admin, { connection: 'staff', email: 'desk@staff.example', password: 'correct horse battery' });
  await addMember(gw, admin, org, userId);
  await addMember(gw, admin, org, deskId, ['ADMIN']);
  self = await gw.token(userId);
  helpDesk = await gw.token(deskId);
});

afterAll(async () => {
  await gw?.close();
});

describe('declarations', () => {
  it('refuses a declaration whose schema does not compile, naming the key, and stores nothing', async () => {
    const res = await gw.gql<{ updateConnection: { connection: unknown; userErrors: { field: string[]; code: string; message: string }[] } }>(
      `mutation($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { connection { id } userErrors { field code message } } }`,
      { id: connectionId, input: { attributes: [{ key: 'broken', in: 'USER_METADATA', schema: { type: 'no-such-type' }, edit: [], view: [] }] } },
      admin,
    );
    expect(res.data?.updateConnection.connection).toBeNull();
    expect(res.data?.updateConnection.userErrors[0]).toMatchObject({ field: ['attributes', 'broken'], code: 'INVALID_ATTRIBUTE_DECLARATION' });
    const after = await gw.gql<{ connection: { attributes: { key: string }[] } }>(`query($id: ID!) { connection(id: $id) { attributes { key } } }`, { id: connectionId }, admin);
    expect(after.data?.connection.attributes.map((a) => a.key)).toEqual(DECLARATIONS.map((d) => d.key));
  });
});

describe('attributePolicies and writes agree', () => {
  it('the user: edits locale, not department (help desk and admin only), not employeeNumber, writes termsAcceptedAt once; plan is app_metadata, never theirs', async () => {
    const before = await policies(self);
    expect(policyOf(before.attributePolicies, 'locale')).toMatchObject({ editable: true, reason: null });
    expect(policyOf(before.attributePolicies, 'department')).toMatchObject({ editable: false, reason: 'REQUIRES_TENANT_ADMIN' });
    expect(policyOf(before.attributePolicies, 'employeeNumber')).toMatchObject({ editable: false, reason: 'REQUIRES_TENANT_ADMIN' });
    expect(policyOf(before.attributePolicies, 'termsAcceptedAt')).toMatchObject({ editable: true });
    // The object's own rule comes first: app_metadata is the tenant administrator's alone.
    expect(policyOf(before.attributePolicies, 'plan')).toMatchObject({ in: 'APP_METADATA', editable: false, reason: 'REQUIRES_TENANT_ADMIN' });

    expect((await update(self, { userMetadata: { locale: 'fr' } })).data?.updateUser.userErrors).toEqual([]);
    const refused = await update(self, { userMetadata: { locale: 'de', department: 'ops' } });
    expect(errorCode(refused)).toBe('FIELD_NOT_EDITABLE');
    expect(refused.errors?.[0]?.extensions?.fields).toEqual([{ field: 'USER_METADATA', key: 'department', reason: 'REQUIRES_TENANT_ADMIN' }]);
    expect((await policies(self)).userMetadata.locale).toBe('fr'); // refused whole: locale did not change either

    expect((await update(self, { userMetadata: { termsAcceptedAt: '2026-12-01T10:00:00Z' } })).data?.updateUser.userErrors).toEqual([]);
    expect(policyOf((await policies(self)).attributePolicies, 'termsAcceptedAt')).toMatchObject({ editable: false, reason: 'WRITE_ONCE' });
    const again = await update(self, { userMetadata: { termsAcceptedAt: '2027-01-01T10:00:00Z' } });
    expect(again.errors?.[0]?.extensions?.fields).toEqual([{ field: 'USER_METADATA', key: 'termsAcceptedAt', reason: 'WRITE_ONCE' }]);
  });

  it('the help desk edits department but cannot see termsAcceptedAt; nobody changes employeeNumber after creation', async () => {
    expect((await update(helpDesk, { userMetadata: { department: 'research' } })).data?.updateUser.userErrors).toEqual([]);
    const desk = await policies(helpDesk);
    expect(desk.userMetadata).toMatchObject({ department: 'research', employeeNumber: 42 });
    expect(desk.userMetadata).not.toHaveProperty('termsAcceptedAt');
    expect(desk.appMetadata).toBeNull();

    const adminView = await policies(admin);
    expect(policyOf(adminView.attributePolicies, 'employeeNumber')).toMatchObject({ editable: false, reason: 'CREATE_ONLY' });
    const res = await update(admin, { userMetadata: { employeeNumber: 43 } });
    expect(res.errors?.[0]?.extensions?.fields).toEqual([{ field: 'USER_METADATA', key: 'employeeNumber', reason: 'CREATE_ONLY' }]);
  });

  it('the user does not see employeeNumber (view: admin and help desk), in userMetadata and in exportUserData', async () => {
    const mine = await policies(self);
    expect(mine.userMetadata).not.toHaveProperty('employeeNumber');
    expect(mine.userMetadata).toHaveProperty('locale');
    const exported = await gw.gql<{ exportUserData: { user: { user_metadata: Record<string, unknown> } } }>(
      'query($id: ID!) { exportUserData(id: $id) }',
      { id: userId },
      self,
    );
    expect(exported.data?.exportUserData.user.user_metadata).not.toHaveProperty('employeeNumber');
    expect(exported.data?.exportUserData.user.user_metadata).toHaveProperty('locale');
  });

  it('a value that breaks its schema is INVALID_ATTRIBUTE naming the key; nothing is written', async () => {
    const res = await update(self, { userMetadata: { locale: 'not a locale' } });
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateUser.user).toBeNull();
    expect(res.data?.updateUser.userErrors).toEqual([expect.objectContaining({ field: ['userMetadata', 'locale'], code: 'INVALID_ATTRIBUTE' })]);
    expect((await policies(self)).userMetadata.locale).toBe('fr');
  });

  it('undeclared keys under ADMIN_ONLY: the administrator may set one, the user may not', async () => {
    expect((await update(admin, { userMetadata: { favouriteColour: 'teal' } })).data?.updateUser.userErrors).toEqual([]);
    const res = await update(self, { userMetadata: { shoeSize: 42 } });
    expect(res.errors?.[0]?.extensions?.fields).toEqual([{ field: 'USER_METADATA', key: 'shoeSize', reason: 'UNDECLARED_ATTRIBUTE' }]);
  });

  it('createUser checks values against their schemas, and REJECT refuses undeclared keys at creation too', async () => {
    const bad = await gw.gql<{ createUser: { user: unknown; userErrors: { field: string[]; code: string }[] } }>(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code message } } }',
      { input: { connection: 'staff', email: 'bad@staff.example', password: 'correct horse battery', userMetadata: { employeeNumber: 0 } } },
      admin,
    );
    expect(bad.data?.createUser.user).toBeNull();
    expect(bad.data?.createUser.userErrors).toEqual([expect.objectContaining({ field: ['userMetadata', 'employeeNumber'], code: 'INVALID_ATTRIBUTE' })]);

    await gw.gql(
      `mutation($id: ID!) { updateConnection(id: $id, input: { undeclaredAttributes: REJECT }) { userErrors { code } } }`,
      { id: connectionId },
      admin,
    );
    const undeclared = await gw.gql<{ createUser: { user: unknown; userErrors: { field: string[]; code: string }[] } }>(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code message } } }',
      { input: { connection: 'staff', email: 'new@staff.example', password: 'correct horse battery', userMetadata: { nickname2: 'x' } } },
      admin,
    );
    expect(undeclared.data?.createUser.userErrors).toEqual([expect.objectContaining({ field: ['userMetadata', 'nickname2'], code: 'FIELD_NOT_EDITABLE' })]);
    const adminRefused = await update(admin, { userMetadata: { another: 1 } });
    expect(adminRefused.errors?.[0]?.extensions?.fields).toEqual([{ field: 'USER_METADATA', key: 'another', reason: 'UNDECLARED_ATTRIBUTE' }]);
  });
});

describe('search by declared attributes', () => {
  const SEARCH = `query($filter: UserFilter, $orderBy: UserOrder, $after: String, $first: Int) {
    users(filter: $filter, orderBy: $orderBy, after: $after, first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { node { id email } } }
  }`;
  type Page = { users: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; email: string } }[] } };
  const emails = (p: Page) => p.users.edges.map((e) => e.node.email);

  beforeAll(async () => {
    await gw.gql(`mutation($id: ID!) { updateConnection(id: $id, input: { undeclaredAttributes: ALLOW }) { userErrors { code } } }`, { id: connectionId }, admin);
    for (let i = 0; i < 12; i++) {
      await createUser(gw, admin, {
        connection: 'staff',
        email: `s${String(i).padStart(2, '0')}@staff.example`,
        password: 'correct horse battery',
        userMetadata: { employeeNumber: 100 + i, locale: i % 3 === 0 ? 'de' : i % 3 === 1 ? 'de-AT' : 'en', department: i < 6 ? 'sales' : 'support' },
      });
    }
  });

  it('equals, prefix and typed bounds; consistent with the last committed write', async () => {
    const de = await gw.gql<Page>(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'locale', in: 'USER_METADATA', equals: 'de' }] }, first: 100 }, admin);
    expect(de.errors).toBeUndefined();
    expect(emails(de.data!).sort()).toEqual(['s00', 's03', 's06', 's09'].map((e) => `${e}@staff.example`));
    expect(de.data!.users.totalCount).toBe(4);
    const prefix = await gw.gql<Page>(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'locale', in: 'USER_METADATA', prefix: 'de' }] }, first: 100 }, admin);
    expect(prefix.data!.users.totalCount).toBe(8);
    const range = await gw.gql<Page>(
      SEARCH,
      { filter: { connection: 'staff', attributes: [{ key: 'employeeNumber', in: 'USER_METADATA', gte: '105', lte: '107' }, { key: 'department', in: 'USER_METADATA', equals: 'support' }] }, first: 100 },
      admin,
    );
    expect(emails(range.data!).sort()).toEqual(['s06@staff.example', 's07@staff.example']);
    // A write is found by the very next search.
    const s06 = range.data!.users.edges.find((e) => e.node.email === 's06@staff.example')!.node.id;
    expect((await update(admin, { userMetadata: { department: 'sales' } }, s06)).data?.updateUser.userErrors).toEqual([]);
    const after = await gw.gql<Page>(
      SEARCH,
      { filter: { connection: 'staff', attributes: [{ key: 'department', in: 'USER_METADATA', equals: 'support' }, { key: 'employeeNumber', in: 'USER_METADATA', gte: '105', lte: '107' }] } },
      admin,
    );
    expect(emails(after.data!)).toEqual(['s07@staff.example']);
  });

  it('orders by a field and pages without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: { data?: Page | null } = await gw.gql<Page>(SEARCH, { filter: { connection: 'staff' }, orderBy: { field: 'EMAIL', direction: 'DESC' }, first: 4, after: cursor }, admin);
      seen.push(...emails(page.data!));
      if (!page.data!.users.pageInfo.hasNextPage) break;
      cursor = page.data!.users.pageInfo.endCursor;
    }
    const all = await gw.gql<Page>(SEARCH, { filter: { connection: 'staff' }, first: 100 }, admin);
    expect(seen).toEqual(emails(all.data!).sort().reverse());
  });

  it('refuses a search by an undeclared key, without a connection, or by a key the caller may not view', async () => {
    const undeclared = await gw.gql(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'favouriteColour', in: 'USER_METADATA', equals: 'teal' }] } }, admin);
    expect(errorCode(undeclared)).toBe('BAD_USER_INPUT');
    const noConnection = await gw.gql(SEARCH, { filter: { attributes: [{ key: 'locale', in: 'USER_METADATA', equals: 'de' }] } }, admin);
    expect(errorCode(noConnection)).toBe('BAD_USER_INPUT');
    // termsAcceptedAt is viewed by tenant administrators and the user only.
    const desk = await gw.gql(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'termsAcceptedAt', in: 'USER_METADATA', prefix: '2026' }] } }, helpDesk);
    expect(errorCode(desk)).toBe('FORBIDDEN');
    // The help desk's search stays inside its organization: of the staff users only its members match.
    const deskSearch = await gw.gql<Page>(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'locale', in: 'USER_METADATA', prefix: '' }] } }, helpDesk);
    expect(emails(deskSearch.data!)).toEqual(['ada@staff.example']);
  });

  it('the search is served by the expression index declared with the attribute (EXPLAIN)', async () => {
    statements.length = 0;
    await gw.gql(SEARCH, { filter: { connection: 'staff', attributes: [{ key: 'locale', in: 'USER_METADATA', equals: 'de' }] } }, admin);
    if (TEST_STORE === 'sqlite') {
      const query = statements.find((s) => s.includes(`json_extract(user_metadata, '$."locale"')`) && !s.includes('count('));
      expect(query).toBeDefined();
      const params = (query!.match(/\?/g) ?? []).map(() => 'x');
      const plan = await gw.database.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, params);
      expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING (COVERING )?INDEX users_attr_/);
    } else {
      const query = statements.find((s) => s.includes(`(user_metadata -> 'locale')`) && !s.includes('count('));
      expect(query).toBeDefined();
      // The planner would scan a table this small whatever the indexes: asked not to, it shows which it can use.
      const literal = query!.replace(/\$\d+::jsonb/g, `'"de"'::jsonb`).replace(/limit \$\d+/g, 'limit 10').replace(/\$\d+/g, "'x'");
      await gw.database.query('SET enable_seqscan = off');
      const plan = await gw.database.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${literal}`);
      expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan using users_attr_|Bitmap Index Scan on users_attr_/);
    }
  });
});
