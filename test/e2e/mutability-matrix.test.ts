// Every cell of domain.md's mutability matrix, through HTTP with real tokens: for each user kind ×
// sync setting × caller, `fieldPolicies` answers the expected reason, and `updateUser` of that one
// field is accepted exactly when fieldPolicies says editable (refused with the same reason otherwise).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLegacyAccounts } from '../../scripts/lib/legacy-database.mjs';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

const FIELDS = [
  'EMAIL',
  'EMAIL_VERIFIED',
  'USERNAME',
  'PHONE_NUMBER',
  'PHONE_VERIFIED',
  'PASSWORD',
  'NAME',
  'NICKNAME',
  'GIVEN_NAME',
  'FAMILY_NAME',
  'PICTURE',
  'USER_METADATA',
  'APP_METADATA',
  'BLOCKED',
] as const;
type Field = (typeof FIELDS)[number];
const ROOT: Field[] = ['NAME', 'NICKNAME', 'GIVEN_NAME', 'FAMILY_NAME', 'PICTURE'];
const SYNCS = ['ON_EACH_LOGIN', 'ON_FIRST_LOGIN', 'NEVER_ON_LOGIN'] as const;
type Sync = (typeof SYNCS)[number];
type Caller = 'TA' | 'OA' | 'SELF';

const Y = 'Y';
const SYNCED = 'SYNCED_FROM_IDENTITY_PROVIDER';
const MANAGED = 'MANAGED_IN_CUSTOM_DATABASE';
const NS = 'NOT_SUPPORTED_BY_CONNECTION';

type Kind = 'own' | 'own-no-username' | 'legacy-scripts' | 'legacy-no-scripts' | 'migrated' | 'social' | 'enterprise' | 'pwl-email' | 'pwl-sms';

/** domain.md's tenant-administrator matrix, written out. */
function tenantAdmin(kind: Kind, sync: Sync | null, field: Field): string {
  const root = (r: string) => (ROOT.includes(field) ? r : null);
  switch (kind) {
    case 'own':
    case 'migrated':
      return Y;
    case 'own-no-username':
      return field === 'USERNAME' ? NS : Y;
    case 'legacy-scripts':
    case 'legacy-no-scripts': {
      const scripts = kind === 'legacy-scripts';
      const r = root(sync === 'ON_EACH_LOGIN' ? SYNCED : Y);
      if (r) return r;
      if (field === 'EMAIL' || field === 'EMAIL_VERIFIED' || field === 'PASSWORD') return scripts ? Y : MANAGED;
      if (field === 'USERNAME' || field === 'PHONE_NUMBER' || field === 'PHONE_VERIFIED') return MANAGED;
      return Y;
    }
    case 'social':
    case 'enterprise': {
      const r = root(sync === 'ON_EACH_LOGIN' ? SYNCED : Y);
      if (r) return r;
      if (field === 'EMAIL' || field === 'EMAIL_VERIFIED') return SYNCED;
      if (['USERNAME', 'PHONE_NUMBER', 'PHONE_VERIFIED', 'PASSWORD'].includes(field)) return NS;
      return Y;
    }
    case 'pwl-email':
      return ['EMAIL', 'USERNAME', 'PHONE_NUMBER', 'PHONE_VERIFIED', 'PASSWORD'].includes(field) ? NS : Y;
    case 'pwl-sms':
      return ['EMAIL', 'EMAIL_VERIFIED', 'USERNAME', 'PASSWORD'].includes(field) ? NS : Y;
  }
}

/** The help desk and the user start from the tenant administrator's answer (no invitation here). */
function expected(kind: Kind, sync: Sync | null, caller: Caller, field: Field): string {
  const ta = tenantAdmin(kind, sync, field);
  if (caller === 'TA' || ta !== Y) return ta;
  if (['EMAIL_VERIFIED', 'PHONE_VERIFIED', 'APP_METADATA'].includes(field)) return 'REQUIRES_TENANT_ADMIN';
  if (field === 'BLOCKED') return caller === 'OA' ? Y : 'REQUIRES_TENANT_ADMIN';
  if (field === 'PASSWORD') return 'USE_PASSWORD_RESET';
  return Y;
}

const INPUT_KEY: Record<Field, string> = {
  EMAIL: 'email',
  EMAIL_VERIFIED: 'emailVerified',
  USERNAME: 'username',
  PHONE_NUMBER: 'phoneNumber',
  PHONE_VERIFIED: 'phoneVerified',
  PASSWORD: 'password',
  NAME: 'name',
  NICKNAME: 'nickname',
  GIVEN_NAME: 'givenName',
  FAMILY_NAME: 'familyName',
  PICTURE: 'picture',
  USER_METADATA: 'userMetadata',
  APP_METADATA: 'appMetadata',
  BLOCKED: 'blocked',
};

let counter = 0;
function valueFor(field: Field): unknown {
  counter += 1;
  switch (field) {
    case 'EMAIL':
      return `changed${counter}@new.example`;
    case 'USERNAME':
      return `user_${counter}`;
    case 'PHONE_NUMBER':
      return `+1415555${String(counter).padStart(4, '0')}`;
    case 'PASSWORD':
      return `new-password-${counter}`;
    case 'PICTURE':
      return `https://img.example/${counter}.png`;
    case 'USER_METADATA':
      return { [`k${counter}`]: counter };
    case 'APP_METADATA':
      return { plan: `p${counter}` };
    case 'EMAIL_VERIFIED':
    case 'PHONE_VERIFIED':
      return true;
    case 'BLOCKED':
      // Unchanged on purpose: blocking would end the user's own token for the next cases.
      return false;
    default:
      return `Changed ${counter}`;
  }
}

interface Case {
  kind: Kind;
  sync: Sync | null;
  userId: string;
}

let gw: TestGateway;
let admin: string;
let helpDesk: string;
let outsider: string;
const cases: Case[] = [];
const PASSWORD = 'legacy-password-1';

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  const login = await gw.token('login-server', 'login:users');
  await createConnection(gw, admin, { name: 'staff', kind: 'DATABASE' });
  const helpDeskId = await createUser(gw, admin, { connection: 'staff', email: 'desk@staff.example', password: 'desk-password-1' });
  const outsiderId = await createUser(gw, admin, { connection: 'staff', email: 'out@staff.example', password: 'out-password-1' });
  const org = await createOrganization(gw, admin, { name: 'matrix' });
  await addMember(gw, admin, org, helpDeskId, ['ADMIN']);
  helpDesk = await gw.token(helpDeskId);
  outsider = await gw.token(outsiderId);

  const kinds: { kind: Kind; syncs: readonly (Sync | null)[] }[] = [
    { kind: 'own', syncs: SYNCS },
    { kind: 'own-no-username', syncs: SYNCS },
    { kind: 'legacy-scripts', syncs: SYNCS },
    { kind: 'legacy-no-scripts', syncs: SYNCS },
    { kind: 'migrated', syncs: SYNCS },
    { kind: 'social', syncs: SYNCS },
    { kind: 'enterprise', syncs: SYNCS },
    { kind: 'pwl-email', syncs: [null] },
    { kind: 'pwl-sms', syncs: [null] },
  ];
  let n = 0;
  for (const { kind, syncs } of kinds) {
    for (const sync of syncs) {
      n += 1;
      const name = `c${n}-${kind}`;
      const email = `user${n}@matrix.example`;
      const syncInput = sync ? { syncUserRootAttributes: sync } : {};
      let userId: string;
      if (kind === 'own' || kind === 'own-no-username') {
        await createConnection(gw, admin, { name, kind: 'DATABASE', requiresUsername: kind === 'own', ...syncInput });
        userId = await createUser(gw, admin, {
          connection: name,
          email,
          password: PASSWORD,
          ...(kind === 'own' ? { username: `matrix${n}` } : {}),
          name: 'Before',
        });
      } else if (kind === 'legacy-scripts' || kind === 'legacy-no-scripts' || kind === 'migrated') {
        // legacy-db has every script; legacy-import only login and getUser.
        const script = kind === 'legacy-scripts' ? 'legacy-db' : 'legacy-import';
        await createConnection(gw, admin, {
          name,
          kind: 'DATABASE',
          customDatabase: true,
          importMode: kind === 'migrated',
          // A migrated user is judged as an own-store user: usernames need requires_username.
          requiresUsername: kind === 'migrated',
          customScripts: script,
          ...syncInput,
        });
        await seedLegacyAccounts(process.env.LEGACY_DB_PATH as string, script, [
          { email, password: PASSWORD, username: `legacy${n}`, name: 'Before', phone_number: '+14155550000' },
        ], { bcryptCost: 4 });
        const res = await gw.gql<{ authenticate: { user: { id: string; migrated: boolean } | null; userErrors: unknown[] } }>(
          'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id migrated } userErrors { code message } } }',
          { input: { connection: name, identifier: email, password: PASSWORD } },
          login,
        );
        expect(res.data?.authenticate.userErrors).toEqual([]);
        expect(res.data?.authenticate.user?.migrated).toBe(kind === 'migrated');
        userId = res.data?.authenticate.user?.id as string;
      } else {
        const [connKind, strategy] =
          kind === 'social'
            ? ['SOCIAL', 'google-oauth2']
            : kind === 'enterprise'
              ? ['ENTERPRISE', 'samlp']
              : ['PASSWORDLESS', kind === 'pwl-email' ? 'email' : 'sms'];
        await createConnection(gw, admin, { name, kind: connKind, strategy, ...syncInput });
        const profile =
          kind === 'pwl-sms'
            ? { user_id: `up${n}`, phone_number: '+14155550000', phone_verified: true, name: 'Before' }
            : { user_id: `up${n}`, email, email_verified: true, name: 'Before' };
        const res = await gw.gql<{ recordLogin: { user: { id: string } | null; userErrors: unknown[] } }>(
          'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } userErrors { code message } } }',
          { input: { connection: name, profile } },
          login,
        );
        expect(res.data?.recordLogin.userErrors).toEqual([]);
        userId = res.data?.recordLogin.user?.id as string;
      }
      await addMember(gw, admin, org, userId);
      cases.push({ kind, sync, userId });
    }
  }
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

type Policy = { field: Field; editable: boolean; reason: string | null; message: string | null };

async function policiesAs(token: string, id: string): Promise<Policy[] | null> {
  const res = await gw.gql<{ user: { fieldPolicies: Policy[] } | null }>(
    'query($id: ID!) { user(id: $id) { fieldPolicies { field editable reason message } } }',
    { id },
    token,
  );
  expect(res.errors).toBeUndefined();
  return res.data?.user?.fieldPolicies ?? null;
}

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { user { id version } userErrors { field code message } }
}`;

describe('the mutability matrix through HTTP', () => {
  it('covers every user kind and sync setting', () => {
    expect(cases).toHaveLength(23);
  });

  for (const caller of ['SELF', 'OA', 'TA'] as const) {
    it(`${caller}: fieldPolicies gives the expected answer for every cell, and updateUser agrees with it`, async () => {
      let checked = 0;
      for (const c of cases) {
        const token = caller === 'TA' ? admin : caller === 'OA' ? helpDesk : await gw.token(c.userId);
        const policies = await policiesAs(token, c.userId);
        expect(policies?.map((p) => p.field)).toEqual([...FIELDS]);
        for (const field of FIELDS) {
          const want = expected(c.kind, c.sync, caller, field);
          const policy = policies?.find((p) => p.field === field) as Policy;
          const where = `${caller} ${c.kind} ${c.sync ?? '-'} ${field}`;
          expect(policy.editable ? Y : policy.reason, where).toBe(want);
          if (!policy.editable) expect(policy.message, where).toMatch(/\w{3,}/);

          const res = await gw.gql<{ updateUser: { user: unknown; userErrors: { code: string }[] } }>(
            UPDATE,
            { id: c.userId, input: { [INPUT_KEY[field]]: valueFor(field) } },
            token,
          );
          if (policy.editable) {
            expect(res.errors, where).toBeUndefined();
            expect(res.data?.updateUser.userErrors, where).toEqual([]);
          } else {
            expect(errorCode(res), where).toBe('FIELD_NOT_EDITABLE');
            expect(res.errors?.[0]?.extensions?.fields, where).toEqual([{ field, reason: want }]);
            expect(res.data?.updateUser ?? null, where).toBeNull();
          }
          checked += 1;
        }
      }
      expect(checked).toBe(23 * 14);
    }, 120_000);
  }

  it('anyone else cannot see the user: fieldPolicies is unreachable and every update answers NOT_FOUND', async () => {
    for (const c of cases) {
      expect(await policiesAs(outsider, c.userId)).toBeNull();
      for (const field of FIELDS) {
        const res = await gw.gql(UPDATE, { id: c.userId, input: { [INPUT_KEY[field]]: valueFor(field) } }, outsider);
        expect(errorCode(res), `${c.kind} ${field}`).toBe('NOT_FOUND');
      }
      const missing = await gw.gql(UPDATE, { id: 'auth0|missing', input: { name: 'x' } }, outsider);
      expect(missing.errors?.[0]?.message.replace('auth0|missing', 'ID')).toBe(
        (await gw.gql(UPDATE, { id: c.userId, input: { name: 'x' } }, outsider)).errors?.[0]?.message.replace(c.userId, 'ID'),
      );
    }
  });

  it('a token with update:users but not read:users still reaches every user for writes', async () => {
    const writer = await gw.token('writer', 'update:users');
    const c = cases.find((x) => x.kind === 'social' && x.sync === 'ON_FIRST_LOGIN') as Case;
    const res = await gw.gql<{ updateUser: { user: { id: string } } }>(UPDATE, { id: c.userId, input: { name: 'By writer' } }, writer);
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateUser.user.id).toBe(c.userId);
  });
});
