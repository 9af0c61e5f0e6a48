// Logins refresh the profile cache: identity providers (recordLogin), the own store, legacy custom
// databases through a real script module on a real second SQLite file, and lazy migration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bcrypt } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLegacyAccount, seedLegacyAccounts, updateLegacyAccount } from '../../scripts/lib/legacy-database.mjs';
import type { UserRow } from '../../src/store/types.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

// A script module of our own, so the test can make the legacy database fail, hang, and count calls.
const LIB = resolve('scripts/lib/legacy-database.mjs');
const FLAKY = `
import { makeScripts } from ${JSON.stringify(LIB)};
const real = makeScripts('flaky');
const state = (globalThis.__flaky ??= { mode: 'ok', calls: {} });
async function guard(identifier, run) {
  state.calls[identifier] = (state.calls[identifier] ?? 0) + 1;
  if (state.mode === 'throw') throw new Error('connection refused by legacy database');
  if (state.mode === 'hang') return new Promise(() => {});
  return run();
}
export const login = (identifier, password) => guard(identifier, () => real.login(identifier, password));
export const getUser = (identifier) => guard(identifier, () => real.getUser(identifier));
`;
const NO_LOGIN = 'export async function getUser() { return null; }\n';

type FlakyState = { mode: 'ok' | 'throw' | 'hang'; calls: Record<string, number> };
const flaky = () => (globalThis as unknown as { __flaky: FlakyState }).__flaky;

let gw: TestGateway;
let scriptsDir: string;
let admin: string;
let login: string;
const PASSWORD = 'legacy-pass-123';

const USER_FIELDS = `id version email emailVerified username phoneNumber name givenName familyName nickname picture
  userMetadata appMetadata blocked migrated loginsCount lastLogin lastIp profileSyncedAt updatedAt
  identities { connection provider userId isSocial profileData }`;

type U = Record<string, unknown> & {
  id: string;
  version: number;
  name: string | null;
  loginsCount: number;
  lastLogin: string | null;
  profileSyncedAt: string | null;
  migrated: boolean;
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  identities: { connection: string; provider: string; userId: string; isSocial: boolean; profileData: Record<string, unknown> | null }[];
};
type Payload = { user: U | null; userErrors: { code: string; message: string }[] };

async function recordLogin(connection: string, profile: Record<string, unknown>, ip?: string): Promise<Payload> {
  const res = await gw.gql<{ recordLogin: Payload }>(
    `mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { ${USER_FIELDS} } userErrors { code message } } }`,
    { input: { connection, profile, ip } },
    login,
  );
  expect(res.errors).toBeUndefined();
  return res.data?.recordLogin as Payload;
}

async function authenticate(connection: string, identifier: string, password = PASSWORD, ip?: string): Promise<Payload> {
  const res = await gw.gql<{ authenticate: Payload }>(
    `mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { ${USER_FIELDS} } userErrors { code message } } }`,
    { input: { connection, identifier, password, ip } },
    login,
  );
  expect(res.errors).toBeUndefined();
  return res.data?.authenticate as Payload;
}

async function read(id: string): Promise<U> {
  const res = await gw.gql<{ user: U }>(`query($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`, { id }, admin);
  return res.data?.user as U;
}

async function edit(id: string, input: Record<string, unknown>) {
  const res = await gw.gql<{ updateUser: { userErrors: unknown[] } }>(
    'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { userErrors { code message } } }',
    { id, input },
    admin,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.updateUser.userErrors).toEqual([]);
}

async function policies(id: string): Promise<Record<string, string>> {
  const res = await gw.gql<{ user: { fieldPolicies: { field: string; editable: boolean; reason: string | null }[] } }>(
    'query($id: ID!) { user(id: $id) { fieldPolicies { field editable reason } } }',
    { id },
    admin,
  );
  return Object.fromEntries((res.data?.user.fieldPolicies ?? []).map((p) => [p.field, p.editable ? 'Y' : (p.reason as string)]));
}

const legacyDb = () => process.env.LEGACY_DB_PATH as string;

beforeAll(async () => {
  scriptsDir = mkdtempSync(join(tmpdir(), 'gateway-scripts-'));
  writeFileSync(join(scriptsDir, 'flaky.mjs'), FLAKY);
  writeFileSync(join(scriptsDir, 'no-login.mjs'), NO_LOGIN);
  gw = await startTestGateway({ env: { CUSTOM_DB_SCRIPTS_DIR: scriptsDir, CUSTOM_DB_SCRIPT_TIMEOUT_MS: '400' } });
  admin = await adminToken(gw);
  login = await gw.token('login-server', 'login:users');
  (globalThis as unknown as { __flaky?: FlakyState }).__flaky = { mode: 'ok', calls: {} };
  await createConnection(gw, admin, { name: 'legacy', kind: 'DATABASE', customDatabase: true, customScripts: 'flaky' });
  await createConnection(gw, admin, {
    name: 'legacy-first',
    kind: 'DATABASE',
    customDatabase: true,
    customScripts: 'flaky',
    syncUserRootAttributes: 'ON_FIRST_LOGIN',
  });
  await createConnection(gw, admin, {
    name: 'legacy-never',
    kind: 'DATABASE',
    customDatabase: true,
    customScripts: 'flaky',
    syncUserRootAttributes: 'NEVER_ON_LOGIN',
  });
  await createConnection(gw, admin, { name: 'migrating', kind: 'DATABASE', customDatabase: true, importMode: true, customScripts: 'flaky' });
  await createConnection(gw, admin, { name: 'g-each', kind: 'SOCIAL', strategy: 'google-oauth2' });
  await createConnection(gw, admin, { name: 'g-first', kind: 'SOCIAL', strategy: 'github', syncUserRootAttributes: 'ON_FIRST_LOGIN' });
  await createConnection(gw, admin, { name: 'saml-never', kind: 'ENTERPRISE', strategy: 'samlp', syncUserRootAttributes: 'NEVER_ON_LOGIN' });
  await createConnection(gw, admin, { name: 'pwl-email', kind: 'PASSWORDLESS', strategy: 'email' });
  await createConnection(gw, admin, { name: 'own', kind: 'DATABASE' });
  await seedLegacyAccounts(
    legacyDb(),
    'flaky',
    ['lena', 'omar', 'nina', 'ivan', 'mia', 'zoe', 'hang', 'yara', 'uma', 'pia', 'quinn'].map((who) => ({
      email: `${who}@legacy.example`,
      password: PASSWORD,
      username: who,
      name: `${who} Legacy`,
      given_name: who,
      user_metadata: { from: 'legacy' },
      plan: 'basic',
    })),
    { bcryptCost: 4 },
  );
});
afterAll(async () => {
  await gw?.close();
  rmSync(scriptsDir, { recursive: true, force: true });
});

describe('identity providers (recordLogin)', () => {
  it('creates the user on the first login with every field the profile carries, ignoring upstream metadata', async () => {
    const { user, userErrors } = await recordLogin(
      'g-each',
      {
        user_id: '1001',
        email: 'ana@gmail.example',
        email_verified: true,
        name: 'Ana Upstream',
        given_name: 'Ana',
        picture: 'https://lh3.example/ana.png',
        user_metadata: { sneaky: true },
        app_metadata: { roles: ['admin'] },
      },
      '203.0.113.5',
    );
    expect(userErrors).toEqual([]);
    expect(user).toMatchObject({
      id: 'google-oauth2|1001',
      email: 'ana@gmail.example',
      emailVerified: true,
      name: 'Ana Upstream',
      givenName: 'Ana',
      picture: 'https://lh3.example/ana.png',
      userMetadata: {},
      appMetadata: {},
      loginsCount: 1,
      lastIp: '203.0.113.5',
      version: 1,
    });
    expect(user?.identities).toEqual([
      {
        connection: 'g-each',
        provider: 'google-oauth2',
        userId: '1001',
        isSocial: true,
        profileData: expect.objectContaining({ user_id: '1001', name: 'Ana Upstream' }),
      },
    ]);
    expect(user?.lastLogin).toBe(user?.profileSyncedAt);
  });

  it('under ON_EACH_LOGIN a login overwrites an edited root attribute; a key the profile leaves out is kept', async () => {
    const id = 'google-oauth2|1001';
    // The tenant admin cannot edit name here (SYNCED); set it as the store would, to see the login win.
    const [row] = await gw.runtime.store.users.byIds([id]);
    await gw.runtime.store.users.apply(id, row as UserRow, { changes: { name: 'Edited', familyName: 'Kept' } }, { actorId: 'test', operation: 'test' }, { uniqueKeys: false });
    const { user } = await recordLogin('g-each', { user_id: '1001', name: 'Ana Again', email: 'ana@gmail.example' });
    expect(user).toMatchObject({ name: 'Ana Again', familyName: 'Kept', givenName: 'Ana', loginsCount: 2 });
  });

  it('under ON_FIRST_LOGIN an admin edit of name survives later logins; email is refreshed', async () => {
    const first = await recordLogin('g-first', { user_id: '77', email: 'sam@old.example', email_verified: false, name: 'Sam Upstream' });
    const id = first.user?.id as string;
    await edit(id, { name: 'Samuel (edited)', userMetadata: { theme: 'dark' } });
    const later = await recordLogin('g-first', { user_id: '77', email: 'sam@new.example', email_verified: true, name: 'Sam Changed Upstream' });
    expect(later.user).toMatchObject({
      name: 'Samuel (edited)',
      email: 'sam@new.example',
      emailVerified: true,
      userMetadata: { theme: 'dark' },
      loginsCount: 2,
    });
  });

  it('under NEVER_ON_LOGIN a new user has empty root attributes, and logins never fill them', async () => {
    const first = await recordLogin('saml-never', { user_id: 'e-9', email: 'eve@corp.example', name: 'Eve', given_name: 'Eve', picture: 'https://x.example/e.png' });
    expect(first.user).toMatchObject({ id: 'samlp|saml-never|e-9', email: 'eve@corp.example', name: null, givenName: null, picture: null });
    const later = await recordLogin('saml-never', { user_id: 'e-9', name: 'Eve Again' });
    expect(later.user?.name).toBeNull();
  });

  it('passwordless: root attributes are set on creation and never overwritten by a later login', async () => {
    await recordLogin('pwl-email', { user_id: 'p1', email: 'pia@mail.example', name: 'Pia' });
    const later = await recordLogin('pwl-email', { user_id: 'p1', email: 'pia@mail.example', name: 'Pia Changed' });
    expect(later.user?.name).toBe('Pia');
  });

  it('counts logins without bumping the version when only bookkeeping changed, and never touches metadata or blocked', async () => {
    const first = await recordLogin('g-first', { user_id: '88', email: 'kim@x.example', name: 'Kim' });
    const id = first.user?.id as string;
    await edit(id, { userMetadata: { a: 1 }, appMetadata: { plan: 'gold' } });
    const before = await read(id);
    const again = await recordLogin('g-first', { user_id: '88', email: 'kim@x.example', name: 'Kim', user_metadata: { a: 2 }, blocked: true }, '198.51.100.1');
    expect(again.user).toMatchObject({
      version: before.version,
      loginsCount: before.loginsCount + 1,
      lastIp: '198.51.100.1',
      userMetadata: { a: 1 },
      appMetadata: { plan: 'gold' },
      blocked: false,
    });
    expect(Date.parse(again.user?.lastLogin as string)).toBeGreaterThanOrEqual(Date.parse(before.lastLogin as string));
  });

  it('refuses a blocked user with USER_BLOCKED and changes nothing', async () => {
    const first = await recordLogin('g-first', { user_id: '99', email: 'bo@x.example' });
    const id = first.user?.id as string;
    await edit(id, { blocked: true });
    const before = await read(id);
    const res = await recordLogin('g-first', { user_id: '99', email: 'changed@x.example' });
    expect(res).toEqual({ user: null, userErrors: [expect.objectContaining({ code: 'USER_BLOCKED' })] });
    expect(await read(id)).toEqual(before);
  });

  it('needs a user_id, and a connection that is not a database', async () => {
    expect((await recordLogin('g-first', { email: 'x@y.example' })).userErrors[0]?.code).toBe('INVALID_PROFILE');
    expect((await recordLogin('own', { user_id: '1' })).userErrors[0]?.code).toBe('NOT_SUPPORTED_BY_CONNECTION');
  });
});

describe('the own store', () => {
  it('verifies the password, counts the login, and answers WRONG_CREDENTIALS and USER_BLOCKED', async () => {
    const id = await createUser(gw, admin, { connection: 'own', email: 'olga@own.example', password: 'own-password-1' });
    expect((await authenticate('own', 'OLGA@own.example', 'wrong-password')).userErrors[0]?.code).toBe('WRONG_CREDENTIALS');
    expect((await authenticate('own', 'nobody@own.example', 'own-password-1')).userErrors[0]?.code).toBe('WRONG_CREDENTIALS');
    const ok = await authenticate('own', 'OLGA@own.example', 'own-password-1', '192.0.2.1');
    expect(ok.user).toMatchObject({ id, loginsCount: 1, lastIp: '192.0.2.1', version: 1 });
    await edit(id, { blocked: true });
    expect((await authenticate('own', 'olga@own.example', 'own-password-1')).userErrors[0]?.code).toBe('USER_BLOCKED');
  });

  it('verifies an imported bcrypt hash and replaces it with the current scheme', async () => {
    const connectionId = (await gw.runtime.store.connections.byName('own'))?.id as string;
    const hash = await bcrypt({ password: 'imported-pass-1', salt: new Uint8Array(16).fill(7), costFactor: 4, outputType: 'encoded' });
    await gw.runtime.store.users.create(
      {
        id: 'auth0|bcrypt0000000000000001',
        connectionId,
        email: 'bea@own.example',
        passwordHash: hash,
        identity: { provider: 'auth0', upstreamUserId: 'bcrypt0000000000000001', isSocial: false, profileData: null },
      },
      { actorId: 'test', operation: 'importUsers' },
      // A database connection's keys are unique (the domain's keysAreUnique).
      { uniqueKeys: true },
    );
    const ok = await authenticate('own', 'bea@own.example', 'imported-pass-1');
    expect(ok.userErrors).toEqual([]);
    expect(await gw.runtime.store.users.passwordHashOf('auth0|bcrypt0000000000000001')).toMatch(/^\$scrypt\$/);
    expect((await authenticate('own', 'bea@own.example', 'imported-pass-1')).user?.loginsCount).toBe(2);
  });
});

describe('a legacy custom database', () => {
  it("caches the user at the first login; a change in the legacy database shows after the next login, not before", async () => {
    const first = await authenticate('legacy', 'lena@legacy.example');
    expect(first.userErrors).toEqual([]);
    const id = first.user?.id as string;
    expect(first.user).toMatchObject({ name: 'lena Legacy', migrated: false, userMetadata: { from: 'legacy' }, appMetadata: { plan: 'basic' } });
    await updateLegacyAccount(legacyDb(), 'flaky', 'lena@legacy.example', { name: 'Lena Renamed', username: 'lena2' });
    expect((await read(id)).name).toBe('lena Legacy');
    const again = await authenticate('legacy', 'lena@legacy.example');
    expect(again.user).toMatchObject({ name: 'Lena Renamed', username: 'lena2', loginsCount: 2 });
  });

  it('keeps an admin edit of name under ON_FIRST_LOGIN; metadata from the script only on creation', async () => {
    const first = await authenticate('legacy-first', 'omar@legacy.example');
    const id = first.user?.id as string;
    await edit(id, { name: 'Omar (edited)', userMetadata: { from: null, mine: true } });
    await updateLegacyAccount(legacyDb(), 'flaky', 'omar@legacy.example', { name: 'Omar Upstream', user_metadata: { from: 'changed' } });
    const again = await authenticate('legacy-first', 'omar@legacy.example');
    expect(again.user).toMatchObject({ name: 'Omar (edited)', userMetadata: { mine: true } });
  });

  it('leaves root attributes empty under NEVER_ON_LOGIN, on creation too', async () => {
    const first = await authenticate('legacy-never', 'nina@legacy.example');
    expect(first.user).toMatchObject({ name: null, givenName: null, email: 'nina@legacy.example', username: 'nina' });
  });

  it("takes an address from a cached user whose legacy database gave it to someone else", async () => {
    const pia = (await authenticate('legacy', 'pia@legacy.example')).user?.id as string;
    await authenticate('legacy', 'quinn@legacy.example');
    // In the legacy database, Pia moves to a new address and Quinn takes her old one.
    await updateLegacyAccount(legacyDb(), 'flaky', 'pia@legacy.example', { email: 'pia.moved@legacy.example' });
    await updateLegacyAccount(legacyDb(), 'flaky', 'quinn@legacy.example', { email: 'pia@legacy.example' });
    const quinn = await authenticate('legacy', 'pia@legacy.example');
    expect(quinn.userErrors).toEqual([]);
    expect(quinn.user?.email).toBe('pia@legacy.example');
    // Pia's cached address was stale: it gave way, and her next login brings the new one.
    expect((await read(pia)).email).toBeNull();
    expect((await authenticate('legacy', 'pia.moved@legacy.example')).user).toMatchObject({ id: pia, email: 'pia.moved@legacy.example' });
  });

  it('answers WRONG_CREDENTIALS when the script says null', async () => {
    expect((await authenticate('legacy', 'lena@legacy.example', 'not-it')).userErrors[0]?.code).toBe('WRONG_CREDENTIALS');
  });

  it('when the script throws or hangs: CONNECTION_UNAVAILABLE within the timeout, and the cached profile is still served', async () => {
    const id = (await authenticate('legacy', 'zoe@legacy.example')).user?.id as string;
    const cached = await read(id);
    for (const mode of ['throw', 'hang'] as const) {
      flaky().mode = mode;
      const started = Date.now();
      const res = await authenticate('legacy', 'zoe@legacy.example');
      const took = Date.now() - started;
      flaky().mode = 'ok';
      expect(res).toEqual({ user: null, userErrors: [expect.objectContaining({ code: 'CONNECTION_UNAVAILABLE' })] });
      expect(took).toBeLessThan(3000);
      expect(await read(id)).toEqual(cached);
    }
  });

  it('refuses a blocked user with USER_BLOCKED', async () => {
    const id = (await authenticate('legacy', 'hang@legacy.example')).user?.id as string;
    await edit(id, { blocked: true });
    expect((await authenticate('legacy', 'hang@legacy.example')).userErrors[0]?.code).toBe('USER_BLOCKED');
  });
});

describe('lazy migration (import mode)', () => {
  it('migrates at the first login, then never calls the script again', async () => {
    flaky().calls = {};
    const before = await authenticate('migrating', 'ivan@legacy.example');
    expect(before.user).toMatchObject({ migrated: true, name: 'ivan Legacy', userMetadata: { from: 'legacy' } });
    const id = before.user?.id as string;
    expect(flaky().calls['ivan@legacy.example']).toBe(1);

    // The legacy database changes and then goes down: the migrated user neither sees nor needs it.
    await updateLegacyAccount(legacyDb(), 'flaky', 'ivan@legacy.example', { name: 'Ivan Changed In Legacy' });
    flaky().mode = 'throw';
    const later = await authenticate('migrating', 'ivan@legacy.example', PASSWORD, '192.0.2.9');
    flaky().mode = 'ok';
    expect(later.userErrors).toEqual([]);
    expect(later.user).toMatchObject({ id, name: 'ivan Legacy', loginsCount: 2, migrated: true });
    expect((await authenticate('migrating', 'ivan@legacy.example', 'wrong')).userErrors[0]?.code).toBe('WRONG_CREDENTIALS');
    expect(flaky().calls['ivan@legacy.example']).toBe(1);
  });

  it("the legacy password, under an address the gateway no longer knows them by, does not undo a migrated user's changes", async () => {
    const first = await authenticate('migrating', 'uma@legacy.example');
    const id = first.user?.id as string;
    expect(first.user?.migrated).toBe(true);
    await edit(id, { email: 'uma.new@gateway.example', password: 'gateway-password-1' });
    const before = await read(id);
    // The old address still reaches the legacy database, whose password is the old one.
    const replay = await authenticate('migrating', 'uma@legacy.example', PASSWORD);
    expect(replay).toEqual({ user: null, userErrors: [expect.objectContaining({ code: 'WRONG_CREDENTIALS' })] });
    expect(await read(id)).toEqual(before);
    expect((await authenticate('migrating', 'uma.new@gateway.example', 'gateway-password-1')).user?.id).toBe(id);
  });

  it("a migrated user's fields become editable as an own-store user's", async () => {
    const legacy = (await authenticate('legacy', 'mia@legacy.example')).user?.id as string;
    expect(await policies(legacy)).toMatchObject({ EMAIL: 'MANAGED_IN_CUSTOM_DATABASE', PHONE_NUMBER: 'MANAGED_IN_CUSTOM_DATABASE', NAME: 'SYNCED_FROM_IDENTITY_PROVIDER', PASSWORD: 'MANAGED_IN_CUSTOM_DATABASE' });
    const migrated = (await gw.runtime.store.users.findByIdentifier((await gw.runtime.store.connections.byName('migrating'))?.id as string, 'ivan@legacy.example'))?.id as string;
    expect(await policies(migrated)).toMatchObject({ EMAIL: 'Y', PHONE_NUMBER: 'Y', NAME: 'Y', PASSWORD: 'Y', EMAIL_VERIFIED: 'Y' });
  });

  it('converts a user cached before import mode was switched on, keeping their metadata', async () => {
    const connectionId = (await gw.runtime.store.connections.byName('migrating'))?.id as string;
    const upstreamId = readLegacyAccount(legacyDb(), 'flaky', 'yara@legacy.example')?.user_id as string;
    // Cached by a login while the connection was still a plain legacy database.
    await gw.runtime.store.users.create(
      {
        id: `auth0|${upstreamId}`,
        connectionId,
        email: 'yara@legacy.example',
        name: 'Yara Cached',
        userMetadata: { kept: true },
        identity: { provider: 'auth0', upstreamUserId: upstreamId, isSocial: false, profileData: null },
      },
      { actorId: 'test', operation: 'authenticate' },
      // A database connection's keys are unique (the domain's keysAreUnique).
      { uniqueKeys: true },
    );
    const res = await authenticate('migrating', 'yara@legacy.example');
    expect(res.userErrors).toEqual([]);
    expect(res.user).toMatchObject({ id: `auth0|${upstreamId}`, migrated: true, userMetadata: { kept: true }, name: 'yara Legacy' });
    flaky().mode = 'throw';
    const again = await authenticate('migrating', 'yara@legacy.example');
    flaky().mode = 'ok';
    expect(again.user?.migrated).toBe(true);
  });

  it('refuses, without a 500, a script user_id another connection already uses', async () => {
    // mia logged in through `legacy` above; `migrating` reaches the same legacy database.
    const res = await authenticate('migrating', 'mia@legacy.example');
    expect(res).toEqual({ user: null, userErrors: [expect.objectContaining({ code: 'USER_ID_TAKEN' })] });
  });
});

describe('scripts are validated when the connection is created', () => {
  it('refuses a script without login, or one that does not exist', async () => {
    for (const customScripts of ['no-login', 'missing-script']) {
      const res = await gw.gql<{ createConnection: { connection: unknown; userErrors: { field: string[]; code: string }[] } }>(
        'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { connection { id } userErrors { field code message } } }',
        { input: { name: `bad-${customScripts}`, kind: 'DATABASE', customDatabase: true, customScripts } },
        admin,
      );
      expect(res.data?.createConnection.connection).toBeNull();
      expect(res.data?.createConnection.userErrors).toEqual([expect.objectContaining({ field: ['customScripts'], code: 'INVALID_SCRIPT' })]);
    }
  });
});
