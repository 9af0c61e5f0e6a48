// Declared attributes through the real server: declarations on a connection, the policy per key
// (roles, lifecycle, undeclared keys), schema validation, and viewing rules in every read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

beforeAll(async () => {
  gw = await startTestGateway();
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
