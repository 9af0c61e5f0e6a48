// updateUser's semantics through HTTP: metadata merge, validation, versions, atomicity,
// concurrency, passwords, and legacy users whose script runs first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLegacyAccount, seedLegacyAccounts } from '../../scripts/lib/legacy-database.mjs';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let login: string;
let n = 0;

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) {
    user { id version email emailVerified username name userMetadata appMetadata phoneNumber picture updatedAt }
    userErrors { field code message }
  }
}`;

type Updated = {
  updateUser: {
    user: {
      id: string;
      version: number;
      email: string;
      emailVerified: boolean;
      username: string | null;
      name: string | null;
      userMetadata: Record<string, unknown>;
      appMetadata: Record<string, unknown>;
      phoneNumber: string | null;
      picture: string | null;
      updatedAt: string;
    } | null;
    userErrors: { field: string[] | null; code: string; message: string }[];
  } | null;
};

const update = (id: string, input: Record<string, unknown>, token = admin) => gw.gql<Updated>(UPDATE, { id, input }, token);

async function newUser(extra: Record<string, unknown> = {}): Promise<string> {
  n += 1;
  return createUser(gw, admin, {
    connection: 'upd',
    email: `u${n}@upd.example`,
    username: `user${n}`,
    password: 'first-password-1',
    ...extra,
  });
}

async function readBack(id: string) {
  const res = await gw.gql<{ user: Record<string, unknown> }>(
    'query($id: ID!) { user(id: $id) { version email emailVerified username name nickname givenName familyName picture phoneNumber phoneVerified userMetadata appMetadata blocked } }',
    { id },
    admin,
  );
  return res.data?.user as Record<string, unknown>;
}

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  login = await gw.token('login-server', 'login:users');
  await createConnection(gw, admin, { name: 'upd', kind: 'DATABASE', requiresUsername: true });
  await createConnection(gw, admin, { name: 'upd-google', kind: 'SOCIAL', strategy: 'google-oauth2' });
  await createConnection(gw, admin, { name: 'upd-legacy', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-db', syncUserRootAttributes: 'ON_FIRST_LOGIN' });
});
afterAll(async () => {
  await gw?.close();
});

describe('metadata', () => {
  it('merges one level deep: given keys replace, null removes, nested objects are replaced whole', async () => {
    const id = await newUser({ userMetadata: { a: 1, b: { x: 1, y: 2 }, c: 'keep' } });
    const res = await update(id, { userMetadata: { a: 2, b: { z: 3 }, d: [1, 2], c: null } });
    expect(res.data?.updateUser?.userErrors).toEqual([]);
    expect(res.data?.updateUser?.user?.userMetadata).toEqual({ a: 2, b: { z: 3 }, d: [1, 2] });
    const cleared = await update(id, { userMetadata: null });
    expect(cleared.data?.updateUser?.user?.userMetadata).toEqual({});
  });

  it('refuses bad keys, reserved app_metadata names and more than 16 KB, writing nothing', async () => {
    const id = await newUser({ userMetadata: { keep: true } });
    const before = await readBack(id);
    const cases: [Record<string, unknown>, string][] = [
      [{ userMetadata: { 'a.b': 1 } }, 'INVALID_METADATA_KEY'],
      [{ userMetadata: { nested: { $where: 1 } } }, 'INVALID_METADATA_KEY'],
      [{ appMetadata: { blocked: true } }, 'RESERVED_METADATA_KEY'],
      [{ appMetadata: { clientID: 'x' } }, 'RESERVED_METADATA_KEY'],
      [{ userMetadata: { big: 'x'.repeat(16 * 1024) } }, 'METADATA_TOO_LARGE'],
    ];
    for (const [input, code] of cases) {
      const res = await update(id, { name: 'Should not stick', ...input });
      expect(res.data?.updateUser?.user, code).toBeNull();
      expect(res.data?.updateUser?.userErrors.map((e) => e.code), code).toContain(code);
    }
    expect(await readBack(id)).toEqual(before);
  });

  it('loses nothing when many updates of different keys of one user run at once', async () => {
    const id = await newUser();
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => update(id, { userMetadata: { [`key${i}`]: i } })),
    );
    for (const r of results) expect(r.data?.updateUser?.userErrors).toEqual([]);
    const after = await readBack(id);
    expect(after.userMetadata).toEqual(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`key${i}`, i])));
    expect(after.version).toBe(1 + 25);
  });
});

describe('validation', () => {
  it('answers each bad value with a userErrors code, and writes nothing', async () => {
    const id = await newUser();
    const before = await readBack(id);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: 'x'.repeat(151) }, 'name', 'INVALID_LENGTH'],
      [{ name: '' }, 'name', 'INVALID_LENGTH'],
      [{ nickname: 'x'.repeat(301) }, 'nickname', 'INVALID_LENGTH'],
      [{ givenName: 'x'.repeat(151) }, 'givenName', 'INVALID_LENGTH'],
      [{ username: 'has space' }, 'username', 'INVALID_USERNAME'],
      [{ username: 'x'.repeat(129) }, 'username', 'INVALID_LENGTH'],
      [{ password: 'short' }, 'password', 'PASSWORD_TOO_WEAK'],
      [{ password: 'é'.repeat(37) }, 'password', 'PASSWORD_TOO_LONG'],
      [{ picture: 'javascript:alert(1)' }, 'picture', 'INVALID_PICTURE'],
      [{ picture: 'ftp://files.example/a.png' }, 'picture', 'INVALID_PICTURE'],
      [{ email: null }, 'email', 'REQUIRED'],
      [{ username: null }, 'username', 'REQUIRED'],
      [{ blocked: null }, 'blocked', 'REQUIRED'],
    ];
    for (const [input, field, code] of cases) {
      const res = await update(id, input);
      expect(res.errors, code).toBeUndefined();
      expect(res.data?.updateUser?.user, code).toBeNull();
      expect(res.data?.updateUser?.userErrors, JSON.stringify(input)).toContainEqual(
        expect.objectContaining({ field: [field], code }),
      );
    }
    expect(await readBack(id)).toEqual(before);
  });

  it('rejects malformed scalars (email, phone, URL) with BAD_USER_INPUT', async () => {
    const id = await newUser();
    for (const input of [{ email: 'not-an-email' }, { phoneNumber: '0123' }, { picture: 'not a url' }]) {
      const res = await update(id, input);
      expect(errorCode(res), JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    const inline = await gw.gql(`mutation { updateUser(id: "${id}", input: { email: "nope" }) { user { id } } }`, {}, admin);
    expect(errorCode(inline)).toBe('BAD_USER_INPUT');
  });

  it('refuses an email or username another user of the connection has, case-insensitively', async () => {
    const a = await newUser();
    const b = await newUser();
    const aUser = await readBack(a);
    const res = await update(b, { email: String(aUser.email).toUpperCase() });
    expect(res.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ field: ['email'], code: 'EMAIL_TAKEN' })]);
    const res2 = await update(b, { username: String(aUser.username).toUpperCase() });
    expect(res2.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ field: ['username'], code: 'USERNAME_TAKEN' })]);
    // Changing the case of one's own email is no clash.
    const own = await readBack(b);
    const res3 = await update(b, { email: String(own.email).toUpperCase() });
    expect(res3.data?.updateUser?.userErrors).toEqual([]);
  });
});

describe('versions and changes', () => {
  it('bumps the version on a real change only, and honours expectedVersion', async () => {
    const id = await newUser({ name: 'Same' });
    expect((await readBack(id)).version).toBe(1);
    const same = await update(id, { name: 'Same' });
    expect(same.data?.updateUser?.user?.version).toBe(1);
    const changed = await update(id, { name: 'Different', expectedVersion: 1 });
    expect(changed.data?.updateUser?.user?.version).toBe(2);
    const stale = await update(id, { name: 'Lost update', expectedVersion: 1 });
    expect(stale.data?.updateUser?.user).toBeNull();
    expect(stale.data?.updateUser?.userErrors).toEqual([
      expect.objectContaining({ field: ['expectedVersion'], code: 'VERSION_CONFLICT' }),
    ]);
    expect((await readBack(id)).name).toBe('Different');
    const password = await update(id, { password: 'another-password-1' });
    expect(password.data?.updateUser?.user?.version).toBe(3);
  });

  it('a changed email is unverified unless the same update sets emailVerified', async () => {
    const id = await newUser({ emailVerified: true });
    const res = await update(id, { email: `fresh${n}@upd.example` });
    expect(res.data?.updateUser?.user?.emailVerified).toBe(false);
    const res2 = await update(id, { email: `fresher${n}@upd.example`, emailVerified: true });
    expect(res2.data?.updateUser?.user?.emailVerified).toBe(true);
  });

  it('a new password works at the next login and the old one does not', async () => {
    const id = await newUser();
    await update(id, { password: 'brand-new-password' });
    const user = await readBack(id);
    const auth = (password: string) =>
      gw.gql<{ authenticate: { user: { id: string } | null; userErrors: { code: string }[] } }>(
        'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id } userErrors { code } } }',
        { input: { connection: 'upd', identifier: user.email, password } },
        login,
      );
    expect((await auth('first-password-1')).data?.authenticate.userErrors).toEqual([{ code: 'WRONG_CREDENTIALS' }]);
    expect((await auth('brand-new-password')).data?.authenticate.user?.id).toBe(id);
  });

  it('a denied field denies the whole update: nothing is written', async () => {
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } } }',
      { input: { connection: 'upd-google', profile: { user_id: 'g-1', email: 'g1@gmail.example', name: 'From Google' } } },
      login,
    );
    const id = res.data?.recordLogin.user.id as string;
    const before = await readBack(id);
    const denied = await update(id, { userMetadata: { ok: 1 }, name: 'Edited', email: 'other@gmail.example' });
    expect(errorCode(denied)).toBe('FIELD_NOT_EDITABLE');
    expect(denied.errors?.[0]?.extensions?.fields).toEqual([
      { field: 'EMAIL', reason: 'SYNCED_FROM_IDENTITY_PROVIDER' },
      { field: 'NAME', reason: 'SYNCED_FROM_IDENTITY_PROVIDER' },
    ]);
    expect(denied.errors?.[0]?.message).toMatch(/ON_FIRST_LOGIN/);
    expect(await readBack(id)).toEqual(before);
  });
});

describe('legacy custom-database users', () => {
  let id: string;
  let email: string;
  const path = () => process.env.LEGACY_DB_PATH as string;

  beforeAll(async () => {
    email = 'lee.legacy@upd.example';
    await seedLegacyAccounts(path(), 'legacy-db', [{ email, password: 'legacy-pass-1', name: 'Lee' }], { bcryptCost: 4 });
    const res = await gw.gql<{ authenticate: { user: { id: string } } }>(
      'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id } } }',
      { input: { connection: 'upd-legacy', identifier: email, password: 'legacy-pass-1' } },
      login,
    );
    id = res.data?.authenticate.user.id as string;
  });

  it('changes the email in the legacy database first (changeEmail), then the cache', async () => {
    const res = await update(id, { email: 'lee.new@upd.example' });
    expect(res.data?.updateUser?.userErrors).toEqual([]);
    expect(res.data?.updateUser?.user?.email).toBe('lee.new@upd.example');
    expect(readLegacyAccount(path(), 'legacy-db', 'lee.new@upd.example')).toMatchObject({ email: 'lee.new@upd.example', email_verified: false });
    expect(readLegacyAccount(path(), 'legacy-db', email)).toBeNull();
    email = 'lee.new@upd.example';
  });

  it('refuses to change email and password in one update (two scripts cannot be one transaction)', async () => {
    const res = await update(id, { email: 'lee.other@upd.example', password: 'legacy-pass-2' });
    expect(res.data?.updateUser?.user).toBeNull();
    expect(res.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ code: 'UPDATE_SEPARATELY' })]);
    expect(readLegacyAccount(path(), 'legacy-db', email)).not.toBeNull();
  });

  it('changes the password through changePassword, so the legacy login takes the new one', async () => {
    const res = await update(id, { password: 'legacy-pass-2' });
    expect(res.data?.updateUser?.userErrors).toEqual([]);
    const auth = await gw.gql<{ authenticate: { user: { id: string } | null } }>(
      'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id } } }',
      { input: { connection: 'upd-legacy', identifier: email, password: 'legacy-pass-2' } },
      login,
    );
    expect(auth.data?.authenticate.user?.id).toBe(id);
  });

  it('checks everything that could refuse the update before the script runs', async () => {
    const before = await readBack(id);
    const stale = await update(id, { email: 'lee.stale@upd.example', expectedVersion: 999 });
    expect(stale.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ code: 'VERSION_CONFLICT' })]);
    const badMetadata = await update(id, { email: 'lee.meta@upd.example', userMetadata: { 'bad.key': 1 } });
    expect(badMetadata.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_METADATA_KEY' })]);
    // The legacy database was not touched: the address it knows is still the cached one.
    expect(readLegacyAccount(path(), 'legacy-db', 'lee.stale@upd.example')).toBeNull();
    expect(readLegacyAccount(path(), 'legacy-db', 'lee.meta@upd.example')).toBeNull();
    expect(readLegacyAccount(path(), 'legacy-db', email)).not.toBeNull();
    expect(await readBack(id)).toEqual(before);
  });

  it('needs two updates for the verification flag and the password too (two script calls)', async () => {
    const res = await update(id, { emailVerified: true, password: 'legacy-pass-3' });
    expect(res.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ code: 'UPDATE_SEPARATELY' })]);
    // Naming the current email changes nothing there: one script call, accepted.
    const same = await update(id, { email, password: 'legacy-pass-3' });
    expect(same.data?.updateUser?.userErrors).toEqual([]);
  });

  it('versions and audits a password changed through the script', async () => {
    const before = await readBack(id);
    const res = await update(id, { password: 'legacy-pass-4' });
    expect(res.data?.updateUser?.user?.version).toBe((before.version as number) + 1);
    const audit = await gw.gql<{ auditEvents: { edges: { node: { operation: string; fields: string[] } }[] } }>(
      'query($id: ID!) { auditEvents(first: 1, filter: { userId: $id }) { edges { node { operation fields } } } }',
      { id },
      admin,
    );
    expect(audit.data?.auditEvents.edges[0]?.node).toEqual({ operation: 'updateUser', fields: ['password'] });
  });

  it('changes nothing when the script fails', async () => {
    // Another legacy account already has this address: the legacy database refuses.
    await seedLegacyAccounts(path(), 'legacy-db', [{ email: 'taken@upd.example', password: 'legacy-pass-1' }], { bcryptCost: 4 });
    const before = await readBack(id);
    const res = await update(id, { email: 'taken@upd.example' });
    expect(res.data?.updateUser?.user).toBeNull();
    expect(res.data?.updateUser?.userErrors).toEqual([expect.objectContaining({ code: 'CONNECTION_UNAVAILABLE' })]);
    expect(await readBack(id)).toEqual(before);
  });
});
