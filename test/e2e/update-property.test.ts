// Property: whoever asks and whatever they send, a stored user changes only in fields the policy
// allowed that caller, and a refused or invalid update changes nothing at all. Random tenants'
// users, callers and updates, through HTTP.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let helpDesk: string;
let stranger: string;
const users: string[] = [];

const FIELDS = [
  'email',
  'emailVerified',
  'username',
  'phoneNumber',
  'phoneVerified',
  'password',
  'name',
  'nickname',
  'givenName',
  'familyName',
  'picture',
  'userMetadata',
  'appMetadata',
  'blocked',
] as const;
type InputKey = (typeof FIELDS)[number];
const ENUM: Record<InputKey, string> = {
  email: 'EMAIL',
  emailVerified: 'EMAIL_VERIFIED',
  username: 'USERNAME',
  phoneNumber: 'PHONE_NUMBER',
  phoneVerified: 'PHONE_VERIFIED',
  password: 'PASSWORD',
  name: 'NAME',
  nickname: 'NICKNAME',
  givenName: 'GIVEN_NAME',
  familyName: 'FAMILY_NAME',
  picture: 'PICTURE',
  userMetadata: 'USER_METADATA',
  appMetadata: 'APP_METADATA',
  blocked: 'BLOCKED',
};
const OBSERVED = FIELDS.filter((f) => f !== 'password');
const READ = `query($id: ID!) { user(id: $id) { version ${OBSERVED.join(' ')} } }`;

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  const login = await gw.token('login-server', 'login:users');
  await createConnection(gw, admin, { name: 'p-own', kind: 'DATABASE', requiresUsername: true });
  await createConnection(gw, admin, { name: 'p-own-plain', kind: 'DATABASE' });
  await createConnection(gw, admin, { name: 'p-google', kind: 'SOCIAL', strategy: 'google-oauth2' });
  await createConnection(gw, admin, { name: 'p-github', kind: 'SOCIAL', strategy: 'github', syncUserRootAttributes: 'ON_FIRST_LOGIN' });
  await createConnection(gw, admin, { name: 'p-saml', kind: 'ENTERPRISE', strategy: 'samlp', syncUserRootAttributes: 'NEVER_ON_LOGIN' });
  await createConnection(gw, admin, { name: 'p-sms', kind: 'PASSWORDLESS', strategy: 'sms' });
  await createConnection(gw, admin, { name: 'p-email', kind: 'PASSWORDLESS', strategy: 'email' });
  const org = await createOrganization(gw, admin, { name: 'prop' });
  const deskId = await createUser(gw, admin, { connection: 'p-own-plain', email: 'desk@prop.example', password: 'desk-password-1' });
  await addMember(gw, admin, org, deskId, ['ADMIN']);
  helpDesk = await gw.token(deskId);
  stranger = await gw.token(await createUser(gw, admin, { connection: 'p-own-plain', email: 'x@prop.example', password: 'x-password-12' }));

  users.push(await createUser(gw, admin, { connection: 'p-own', email: 'a@prop.example', username: 'a1', password: 'a-password-12', name: 'A' }));
  users.push(await createUser(gw, admin, { connection: 'p-own-plain', email: 'b@prop.example', password: 'b-password-12' }));
  let i = 0;
  for (const connection of ['p-google', 'p-github', 'p-saml', 'p-sms', 'p-email']) {
    i += 1;
    const profile =
      connection === 'p-sms'
        ? { user_id: `u${i}`, phone_number: `+1415555010${i}`, name: 'Up' }
        : { user_id: `u${i}`, email: `up${i}@prop.example`, email_verified: true, name: 'Up' };
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } } }',
      { input: { connection, profile } },
      login,
    );
    users.push(res.data?.recordLogin.user.id as string);
  }
  // Half the users are in the help desk's organization.
  for (const [j, id] of users.entries()) if (j % 2 === 0) await addMember(gw, admin, org, id);
});
afterAll(async () => {
  await gw?.close();
});

let counter = 0;
const unique = () => {
  counter += 1;
  return counter;
};

/** Valid and invalid values for each field. */
const valueArb: Record<InputKey, fc.Arbitrary<unknown>> = {
  email: fc.oneof(fc.constant('EMAIL'), fc.constant('a@prop.example')),
  emailVerified: fc.boolean(),
  username: fc.oneof(fc.constant('USERNAME'), fc.constant('bad name'), fc.constant('a1')),
  phoneNumber: fc.oneof(fc.constant('+14155550999'), fc.constant(null)),
  phoneVerified: fc.boolean(),
  password: fc.oneof(fc.constant('a-fine-password'), fc.constant('short')),
  name: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(''), fc.constant('x'.repeat(151)), fc.constant(null)),
  nickname: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(null)),
  givenName: fc.string({ minLength: 1, maxLength: 20 }),
  familyName: fc.string({ minLength: 1, maxLength: 20 }),
  picture: fc.oneof(fc.constant('https://img.example/p.png'), fc.constant('javascript:alert(1)')),
  userMetadata: fc.oneof(
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.integer(), fc.constant(null))),
    fc.constant({ 'bad.key': 1 }),
  ),
  appMetadata: fc.oneof(fc.dictionary(fc.constantFrom('plan', 'tier'), fc.string()), fc.constant({ blocked: true })),
  blocked: fc.boolean(),
};

const patchArb = fc
  .subarray([...FIELDS], { minLength: 1, maxLength: 4 })
  .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, valueArb[k]])) as Record<InputKey, fc.Arbitrary<unknown>>));

function materialize(patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...patch };
  if (out.email === 'EMAIL') out.email = `e${unique()}@prop.example`;
  if (out.username === 'USERNAME') out.username = `user${unique()}`;
  return out;
}

type Policy = { field: string; editable: boolean; reason: string | null };

describe('updates change only what the policy allows', () => {
  it('holds for random callers, users and updates', async () => {
    const outcomes = { accepted: 0, notEditable: 0, invalid: 0, hidden: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('TA', 'OA', 'SELF', 'STRANGER'),
        patchArb,
        async (userIndex, callerKind, rawPatch) => {
          const id = users[userIndex] as string;
          const token =
            callerKind === 'TA' ? admin : callerKind === 'OA' ? helpDesk : callerKind === 'STRANGER' ? stranger : await gw.token(id);
          const input = materialize(rawPatch);
          const before = (await gw.gql<{ user: Record<string, unknown> }>(READ, { id }, admin)).data?.user as Record<string, unknown>;
          const seen = await gw.gql<{ user: { fieldPolicies: Policy[] } | null }>(
            'query($id: ID!) { user(id: $id) { fieldPolicies { field editable reason } } }',
            { id },
            token,
          );
          const policies = seen.data?.user?.fieldPolicies ?? null;

          const res = await gw.gql<{ updateUser: { user: unknown; userErrors: { code: string }[] } | null }>(
            'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id } userErrors { code } } }',
            { id, input },
            token,
          );
          const after = (await gw.gql<{ user: Record<string, unknown> }>(READ, { id }, admin)).data?.user as Record<string, unknown>;

          const named = Object.keys(input) as InputKey[];
          const refused = policies ? named.filter((k) => !policies.find((p) => p.field === ENUM[k])?.editable) : named;
          if (policies === null) outcomes.hidden += 1;
          else if (refused.length > 0) outcomes.notEditable += 1;
          if (policies === null) {
            // A caller who cannot see the user (or whose own account is blocked) learns nothing and changes nothing.
            expect(['NOT_FOUND', 'UNAUTHENTICATED']).toContain(errorCode(res));
          } else if (refused.length > 0) {
            expect(errorCode(res)).toBe('FIELD_NOT_EDITABLE');
            expect((res.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(refused.map((k) => ENUM[k]).sort());
          }
          const accepted = res.errors === undefined && res.data?.updateUser?.userErrors.length === 0;
          if (!accepted) {
            if (policies !== null && refused.length === 0) outcomes.invalid += 1;
            expect(after).toEqual(before);
            return;
          }
          outcomes.accepted += 1;
          expect(refused).toEqual([]);
          // Every permitted field took its value: nothing the caller sent was dropped.
          for (const key of named) {
            if (key === 'password') continue;
            if (key === 'userMetadata' || key === 'appMetadata') {
              const patch = input[key] as Record<string, unknown> | null;
              const merged: Record<string, unknown> = patch === null ? {} : { ...(before[key] as object) };
              for (const [k, v] of Object.entries(patch ?? {})) {
                if (v === null) delete merged[k];
                else merged[k] = v;
              }
              expect(after[key], key).toEqual(merged);
            } else {
              expect(after[key], key).toEqual(input[key]);
            }
          }
          // The version moves by one exactly when something really changed (a password always counts).
          const changed = named.some((k) => k === 'password') || OBSERVED.some((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
          expect(after.version, 'version').toBe((before.version as number) + (changed ? 1 : 0));
          for (const key of OBSERVED) {
            if (named.includes(key)) continue;
            // A changed email resets emailVerified unless the update set it.
            if (key === 'emailVerified' && named.includes('email') && input.email !== before.email) {
              expect(after.emailVerified).toBe(false);
              continue;
            }
            // Likewise a changed phone number resets phoneVerified (domain rule: only the update may set it).
            if (key === 'phoneVerified' && named.includes('phoneNumber') && input.phoneNumber !== before.phoneNumber) {
              expect(after.phoneVerified).toBe(false);
              continue;
            }
            expect(after[key], key).toEqual(before[key]);
          }
        },
      ),
      { numRuns: 200 },
    );
    // Every branch of the property was exercised, so it is not vacuously true.
    for (const [outcome, count] of Object.entries(outcomes)) expect(count, outcome).toBeGreaterThan(5);
  }, 120_000);
});
