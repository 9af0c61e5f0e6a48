import { describe, expect, it } from 'vitest';
import { FIELD_LABELS, fieldPolicies, isLegacyUser, refusedFields } from '../../src/domain/policy.js';
import {
  type CallerRoles,
  type ConnectionFacts,
  MUTABILITY_REASONS,
  type MutabilityReason,
  PROFILE_FIELDS,
  type ProfileField,
  ROOT_ATTRIBUTE_SYNCS,
  ROOT_ATTRIBUTES,
  type RootAttributeSync,
  type UserFacts,
} from '../../src/domain/types.js';

// The expected values below are written out from shared/domain.md ("Who may change what"), not
// derived from the implementation: a literal matrix for the tenant administrator, a literal table
// of the help-desk / self adjustments, and a few lines combining them.

const Y = 'Y';
const SYNCED = 'SYNCED_FROM_IDENTITY_PROVIDER';
const MANAGED = 'MANAGED_IN_CUSTOM_DATABASE';
const NS = 'NOT_SUPPORTED_BY_CONNECTION';
const RTA = 'REQUIRES_TENANT_ADMIN';
/** Root attributes of legacy, social and enterprise users: SYNCED under on_each_login, else Y. */
const SYNCED_ON_EACH_LOGIN = 'SYNCED_ON_EACH_LOGIN';

type Cell = typeof Y | MutabilityReason;

/** One row of domain.md's tenant-administrator matrix. */
interface MatrixRow {
  email: Cell;
  email_verified: Cell;
  username: Cell;
  phone_number: Cell;
  phone_verified: Cell;
  password: Cell;
  rootAttributes: typeof Y | typeof SYNCED_ON_EACH_LOGIN;
  metadataAndBlocked: Cell;
}

interface UserKind {
  label: string;
  connection: Omit<ConnectionFacts, 'sync'>;
  migrated: boolean;
  matrix: MatrixRow;
}

const NO_SCRIPTS = { changeEmail: false, changePassword: false, create: false };

function database(
  name: string,
  options: Partial<Omit<ConnectionFacts, 'sync' | 'kind'>> = {},
): Omit<ConnectionFacts, 'sync'> {
  return {
    kind: 'DATABASE',
    strategy: 'auth0',
    name,
    customDatabase: false,
    importMode: false,
    requiresUsername: false,
    scripts: NO_SCRIPTS,
    ...options,
  };
}

function upstream(
  kind: ConnectionFacts['kind'],
  strategy: string,
  name: string,
): Omit<ConnectionFacts, 'sync'> {
  return {
    kind,
    strategy,
    name,
    customDatabase: false,
    importMode: false,
    requiresUsername: false,
    scripts: NO_SCRIPTS,
  };
}

const OWN_STORE_WITH_USERNAME: MatrixRow = {
  email: Y,
  email_verified: Y,
  username: Y,
  phone_number: Y,
  phone_verified: Y,
  password: Y,
  rootAttributes: Y,
  metadataAndBlocked: Y,
};
const OWN_STORE_WITHOUT_USERNAME: MatrixRow = { ...OWN_STORE_WITH_USERNAME, username: NS };

function legacyRow(changeEmail: boolean, changePassword: boolean): MatrixRow {
  return {
    email: changeEmail ? Y : MANAGED,
    email_verified: changeEmail ? Y : MANAGED,
    username: MANAGED,
    phone_number: MANAGED,
    phone_verified: MANAGED,
    password: changePassword ? Y : MANAGED,
    rootAttributes: SYNCED_ON_EACH_LOGIN,
    metadataAndBlocked: Y,
  };
}

const SOCIAL_OR_ENTERPRISE: MatrixRow = {
  email: SYNCED,
  email_verified: SYNCED,
  username: NS,
  phone_number: NS,
  phone_verified: NS,
  password: NS,
  rootAttributes: SYNCED_ON_EACH_LOGIN,
  metadataAndBlocked: Y,
};
const PASSWORDLESS_EMAIL: MatrixRow = {
  email: NS,
  email_verified: Y,
  username: NS,
  phone_number: NS,
  phone_verified: NS,
  password: NS,
  rootAttributes: Y,
  metadataAndBlocked: Y,
};
const PASSWORDLESS_SMS: MatrixRow = {
  email: NS,
  email_verified: NS,
  username: NS,
  phone_number: Y,
  phone_verified: Y,
  password: NS,
  rootAttributes: Y,
  metadataAndBlocked: Y,
};
// Not in the spec: a passwordless strategy other than email or sms refuses every identity field.
const PASSWORDLESS_OTHER: MatrixRow = { ...PASSWORDLESS_SMS, phone_number: NS, phone_verified: NS };

const USER_KINDS: UserKind[] = [
  {
    label: 'own store, requires_username',
    connection: database('users', { requiresUsername: true }),
    migrated: false,
    matrix: OWN_STORE_WITH_USERNAME,
  },
  {
    label: 'own store, no username',
    connection: database('users'),
    migrated: false,
    matrix: OWN_STORE_WITHOUT_USERNAME,
  },
  ...[true, false].flatMap((importMode) =>
    [true, false].map(
      (requiresUsername): UserKind => ({
        // No scripts at all: a migrated user never needs them.
        label: `migrated custom db, importMode ${importMode}, requires_username ${requiresUsername}`,
        connection: database('legacy-db', { customDatabase: true, importMode, requiresUsername }),
        migrated: true,
        matrix: requiresUsername ? OWN_STORE_WITH_USERNAME : OWN_STORE_WITHOUT_USERNAME,
      }),
    ),
  ),
  ...[true, false].flatMap((importMode) =>
    [true, false].flatMap((changeEmail) =>
      [true, false].map(
        (changePassword): UserKind => ({
          label: `legacy, importMode ${importMode}, changeEmail ${changeEmail}, changePassword ${changePassword}`,
          connection: database('legacy-db', {
            customDatabase: true,
            importMode,
            // requires_username must not matter for a legacy user: the database owns usernames.
            requiresUsername: true,
            scripts: { changeEmail, changePassword, create: true },
          }),
          migrated: false,
          matrix: legacyRow(changeEmail, changePassword),
        }),
      ),
    ),
  ),
  {
    label: 'social',
    connection: upstream('SOCIAL', 'google-oauth2', 'google-oauth2'),
    migrated: false,
    matrix: SOCIAL_OR_ENTERPRISE,
  },
  {
    label: 'enterprise',
    connection: upstream('ENTERPRISE', 'samlp', 'acme-saml'),
    migrated: false,
    matrix: SOCIAL_OR_ENTERPRISE,
  },
  {
    label: 'passwordless email',
    connection: upstream('PASSWORDLESS', 'email', 'email'),
    migrated: false,
    matrix: PASSWORDLESS_EMAIL,
  },
  {
    label: 'passwordless sms',
    connection: upstream('PASSWORDLESS', 'sms', 'sms'),
    migrated: false,
    matrix: PASSWORDLESS_SMS,
  },
  {
    label: 'passwordless, unknown strategy',
    connection: upstream('PASSWORDLESS', 'carrier-pigeon', 'pigeons'),
    migrated: false,
    matrix: PASSWORDLESS_OTHER,
  },
];

function tenantAdminCell(row: MatrixRow, field: ProfileField, sync: RootAttributeSync): Cell {
  switch (field) {
    case 'name':
    case 'nickname':
    case 'given_name':
    case 'family_name':
    case 'picture':
      if (row.rootAttributes === Y) return Y;
      return sync === 'on_each_login' ? SYNCED : Y;
    case 'user_metadata':
    case 'app_metadata':
    case 'blocked':
      return row.metadataAndBlocked;
    default:
      return row[field];
  }
}

// What the help desk (OA) and the user (SELF) get where the tenant administrator gets Y.
// (email when the user is invitation-bound is handled apart.)
const DELEGATED: Record<ProfileField, { OA: Cell; SELF: Cell }> = {
  email: { OA: Y, SELF: Y },
  email_verified: { OA: RTA, SELF: RTA },
  username: { OA: Y, SELF: Y },
  phone_number: { OA: Y, SELF: Y },
  phone_verified: { OA: RTA, SELF: RTA },
  password: { OA: 'USE_PASSWORD_RESET', SELF: 'USE_PASSWORD_RESET' },
  name: { OA: Y, SELF: Y },
  nickname: { OA: Y, SELF: Y },
  given_name: { OA: Y, SELF: Y },
  family_name: { OA: Y, SELF: Y },
  picture: { OA: Y, SELF: Y },
  user_metadata: { OA: Y, SELF: Y },
  app_metadata: { OA: RTA, SELF: RTA },
  blocked: { OA: Y, SELF: RTA },
};

type Role = 'TA' | 'OA' | 'SELF';

function roleCell(role: Role, taCell: Cell, field: ProfileField, invitationBound: boolean): Cell {
  if (role === 'TA' || taCell !== Y) return taCell;
  if (field === 'email' && invitationBound) return 'INVITATION_BOUND_EMAIL';
  return DELEGATED[field][role];
}

/** `roles` in privilege order (TA, OA, SELF). */
function expectedCell(roles: Role[], taCell: Cell, field: ProfileField, invitationBound: boolean): Cell {
  const cells = roles.map((role) => roleCell(role, taCell, field, invitationBound));
  if (cells.length === 0) return 'NOT_AUTHORIZED';
  return cells.includes(Y) ? Y : cells[0]!;
}

const CALLERS: Array<{ roles: Role[]; caller: CallerRoles }> = [
  { roles: ['TA'], caller: { tenantAdmin: true, helpDesk: false, self: false } },
  { roles: ['OA'], caller: { tenantAdmin: false, helpDesk: true, self: false } },
  { roles: ['SELF'], caller: { tenantAdmin: false, helpDesk: false, self: true } },
  { roles: [], caller: { tenantAdmin: false, helpDesk: false, self: false } },
  { roles: ['OA', 'SELF'], caller: { tenantAdmin: false, helpDesk: true, self: true } },
  { roles: ['TA', 'SELF'], caller: { tenantAdmin: true, helpDesk: false, self: true } },
  { roles: ['TA', 'OA'], caller: { tenantAdmin: true, helpDesk: true, self: false } },
  { roles: ['TA', 'OA', 'SELF'], caller: { tenantAdmin: true, helpDesk: true, self: true } },
];

function connectionOf(kind: UserKind, sync: RootAttributeSync): ConnectionFacts {
  return { ...kind.connection, sync };
}

const CASES = USER_KINDS.flatMap((kind) =>
  ROOT_ATTRIBUTE_SYNCS.flatMap((sync) =>
    CALLERS.flatMap(({ roles, caller }) =>
      [false, true].map((invitationBound) => ({
        name: `${kind.label} | ${sync} | caller [${roles.join('+') || 'none'}] | invitationBound ${invitationBound}`,
        kind,
        sync,
        roles,
        caller,
        invitationBound,
      })),
    ),
  ),
);

describe('fieldPolicies: the whole matrix', () => {
  it.each(CASES)('$name', ({ kind, sync, roles, caller, invitationBound }) => {
    const user: UserFacts = { migrated: kind.migrated, invitationBound };
    const policies = fieldPolicies(caller, connectionOf(kind, sync), user);

    const actual: Record<string, Cell> = {};
    const expected: Record<string, Cell> = {};
    for (const field of PROFILE_FIELDS) {
      const decision = policies[field];
      actual[field] = decision.editable ? Y : decision.reason;
      expected[field] = expectedCell(
        roles,
        tenantAdminCell(kind.matrix, field, sync),
        field,
        invitationBound,
      );

      // The two halves of a decision agree.
      if (decision.editable) {
        expect(decision).toEqual({ editable: true, reason: null, message: null });
      } else {
        expect(MUTABILITY_REASONS).toContain(decision.reason);
        expect(decision.message.trim()).not.toBe('');
      }
    }
    expect(actual).toEqual(expected);
    expect(Object.keys(policies).sort()).toEqual([...PROFILE_FIELDS].sort());
  });
});

// ---------------------------------------------------------------------------------------------

const TA: CallerRoles = { tenantAdmin: true, helpDesk: false, self: false };
const OA: CallerRoles = { tenantAdmin: false, helpDesk: true, self: false };
const SELF: CallerRoles = { tenantAdmin: false, helpDesk: false, self: true };
const NOBODY: CallerRoles = { tenantAdmin: false, helpDesk: false, self: false };
const PLAIN_USER: UserFacts = { migrated: false, invitationBound: false };

const google = { ...upstream('SOCIAL', 'google-oauth2', 'google-oauth2'), sync: 'on_each_login' } as const;
const legacyDb: ConnectionFacts = {
  ...database('legacy-db', { customDatabase: true }),
  sync: 'on_each_login',
};
const passwordlessEmail: ConnectionFacts = {
  ...upstream('PASSWORDLESS', 'email', 'email'),
  sync: 'on_each_login',
};
const ownStore: ConnectionFacts = { ...database('users'), sync: 'on_each_login' };

describe('fieldPolicies: messages (worded by messages.ts for the caller who asks)', () => {
  it('root attributes under on_each_login: the tenant administrator reads the connection and ON_FIRST_LOGIN', () => {
    for (const connection of [google, legacyDb]) {
      const policies = fieldPolicies(TA, connection, PLAIN_USER);
      for (const field of ROOT_ATTRIBUTES) {
        const { message } = policies[field];
        expect(message).toContain(connection.name);
        expect(message).toContain('ON_FIRST_LOGIN');
        expect(message).toContain('syncUserRootAttributes');
        expect(message).toMatch(new RegExp(`^${FIELD_LABELS[field]} `));
      }
    }
    expect(fieldPolicies(TA, google, PLAIN_USER).given_name.message).toBe(
      "givenName is overwritten from Google (connection google-oauth2) at every login; set the connection's sync " +
        '(syncUserRootAttributes) to ON_FIRST_LOGIN to edit it here.',
    );
  });

  it('the same reason reaches the help desk and the user, each in their own words', () => {
    const ta = fieldPolicies(TA, google, PLAIN_USER);
    const oa = fieldPolicies(OA, google, PLAIN_USER);
    const self = fieldPolicies(SELF, google, PLAIN_USER);
    for (const field of ['name', 'email'] as const) {
      expect(oa[field].reason).toBe(ta[field].reason);
      expect(self[field].reason).toBe(ta[field].reason);
      expect(new Set([ta[field].message, oa[field].message, self[field].message]).size).toBe(3);
    }
    expect(self.name.message).toBe(
      'Your name comes from your Google account and is updated each time you sign in: change it there.',
    );
    expect(oa.name.message).toContain('Only a tenant administrator');
  });

  it('an explicit audience words the same decisions for another reader', () => {
    const forUser = fieldPolicies(TA, legacyDb, PLAIN_USER, 'SELF');
    const forAdmin = fieldPolicies(TA, legacyDb, PLAIN_USER);
    for (const field of PROFILE_FIELDS) {
      expect(forUser[field].reason).toBe(forAdmin[field].reason);
      expect(forUser[field].editable).toBe(forAdmin[field].editable);
    }
    expect(forUser.password.message).toContain("ask your organization's administrator");
    expect(forAdmin.password.message).toContain('changePassword');
  });

  it('the tenant administrator reads the setting or the script that would make a field editable', () => {
    const legacy = fieldPolicies(TA, legacyDb, PLAIN_USER);
    expect(legacy.username.message).toBe(
      'username is managed in the custom database legacy-db; change it there, ' +
        'and the cached profile refreshes at the next login.',
    );
    expect(legacy.email.message).toContain('changeEmail');
    expect(legacy.password.message).toContain('changePassword');
    expect(fieldPolicies(TA, ownStore, PLAIN_USER).username.message).toContain('requires_username');
    expect(fieldPolicies(TA, google, PLAIN_USER).email.message).toContain('change it there');
    expect(fieldPolicies(TA, passwordlessEmail, PLAIN_USER).password.message).toBe(
      "passwordless email connection 'email' users have no password.",
    );
  });

  it('invitation-bound email: the help desk learns that only a tenant administrator can change it', () => {
    const bound = { migrated: false, invitationBound: true };
    expect(fieldPolicies(OA, ownStore, bound).email.message).toContain('only a tenant administrator');
    expect(fieldPolicies(SELF, ownStore, bound).email.message).toContain('invitation');
  });

  it('password: the help desk sends a reset ticket, the user uses password reset', () => {
    expect(fieldPolicies(OA, ownStore, PLAIN_USER).password.message).toContain('createPasswordResetTicket');
    expect(fieldPolicies(SELF, ownStore, PLAIN_USER).password.message).toContain('password reset');
  });

  it('a caller with no role is not authorized for anything, and told what it would take', () => {
    const policies = fieldPolicies(NOBODY, ownStore, PLAIN_USER);
    for (const field of PROFILE_FIELDS) {
      expect(policies[field]).toEqual({
        editable: false,
        reason: 'NOT_AUTHORIZED',
        message: expect.stringContaining('update:users'),
      });
    }
  });

  it('several roles: the refusal of the most privileged role present, in its words', () => {
    // Legacy without changePassword: TA says MANAGED, so OA/SELF say MANAGED too.
    expect(
      fieldPolicies({ tenantAdmin: true, helpDesk: true, self: true }, legacyDb, PLAIN_USER).password,
    ).toEqual(fieldPolicies(TA, legacyDb, PLAIN_USER).password);
    // OA + SELF on app_metadata: both REQUIRES_TENANT_ADMIN; the help desk's message is kept.
    expect(
      fieldPolicies({ tenantAdmin: false, helpDesk: true, self: true }, ownStore, PLAIN_USER).app_metadata,
    ).toEqual(fieldPolicies(OA, ownStore, PLAIN_USER).app_metadata);
  });
});

describe('fieldPolicies: shape', () => {
  it('answers every ProfileField, in PROFILE_FIELDS order', () => {
    for (const caller of [TA, OA, SELF, NOBODY]) {
      expect(Object.keys(fieldPolicies(caller, ownStore, PLAIN_USER))).toEqual([...PROFILE_FIELDS]);
    }
  });

  it('returns fresh objects: mutating one answer does not change the next', () => {
    const first = fieldPolicies(TA, ownStore, PLAIN_USER);
    (first.email as { editable: boolean }).editable = false;
    expect(fieldPolicies(TA, ownStore, PLAIN_USER).email.editable).toBe(true);
    expect(first.email_verified.editable).toBe(true);
  });
});

describe('FIELD_LABELS', () => {
  it('is the camelCase GraphQL name of every field', () => {
    expect(FIELD_LABELS).toEqual({
      email: 'email',
      email_verified: 'emailVerified',
      username: 'username',
      phone_number: 'phoneNumber',
      phone_verified: 'phoneVerified',
      password: 'password',
      name: 'name',
      nickname: 'nickname',
      given_name: 'givenName',
      family_name: 'familyName',
      picture: 'picture',
      user_metadata: 'userMetadata',
      app_metadata: 'appMetadata',
      blocked: 'blocked',
    });
  });
});

describe('refusedFields', () => {
  it('lists the refused named fields in PROFILE_FIELDS order, each once, with reason and message', () => {
    const policies = fieldPolicies(SELF, google, { migrated: false, invitationBound: false });
    const refused = refusedFields(policies, [
      'blocked',
      'user_metadata',
      'password',
      'name',
      'email',
      'password',
      'app_metadata',
    ]);
    expect(refused.map(({ field, reason }) => [field, reason])).toEqual([
      ['email', SYNCED],
      ['password', NS],
      ['name', SYNCED],
      ['app_metadata', RTA],
      ['blocked', RTA],
    ]);
    for (const entry of refused) expect(entry.message).toBe(policies[entry.field].message);
  });

  it('is empty when every named field is editable, or when none is named', () => {
    const policies = fieldPolicies(TA, ownStore, PLAIN_USER);
    expect(refusedFields(policies, ['email', 'name', 'blocked'])).toEqual([]);
    expect(refusedFields(fieldPolicies(NOBODY, ownStore, PLAIN_USER), [])).toEqual([]);
  });

  it('accepts any iterable', () => {
    const policies = fieldPolicies(NOBODY, ownStore, PLAIN_USER);
    const refused = refusedFields(policies, new Set<ProfileField>(['picture', 'email']));
    expect(refused.map((entry) => entry.field)).toEqual(['email', 'picture']);
  });
});

describe('isLegacyUser', () => {
  it('is a custom-database user not yet migrated', () => {
    const custom = { ...database('legacy-db', { customDatabase: true }), sync: 'on_each_login' } as const;
    expect(isLegacyUser(custom, { migrated: false, invitationBound: false })).toBe(true);
    expect(isLegacyUser({ ...custom, importMode: true }, { migrated: false, invitationBound: false })).toBe(
      true,
    );
    expect(isLegacyUser(custom, { migrated: true, invitationBound: false })).toBe(false);
    expect(isLegacyUser(ownStore, PLAIN_USER)).toBe(false);
    expect(isLegacyUser(google, PLAIN_USER)).toBe(false);
  });
});

describe('shared members and who set a block (help desk only)', () => {
  const shared: UserFacts = { ...PLAIN_USER, memberOfAnotherOrganization: true };
  it.each([
    ['a shared member: email and blocked', OA, shared, { email: 'MEMBER_OF_ANOTHER_ORGANIZATION', blocked: 'MEMBER_OF_ANOTHER_ORGANIZATION' }],
    ['a shared member, for SELF: the rule does not apply', SELF, shared, { email: null, blocked: RTA }],
    ['a shared member, for a tenant admin', TA, shared, { email: null, blocked: null }],
    ["a tenant admin's block", OA, { ...PLAIN_USER, blockedBy: 'tenant_admin' }, { email: null, blocked: 'BLOCKED_BY_TENANT_ADMIN' }],
    ["another help desk's block", OA, { ...PLAIN_USER, blockedBy: 'another_help_desk' }, { email: null, blocked: RTA }],
    ["this help desk's own block", OA, { ...PLAIN_USER, blockedBy: 'this_help_desk' }, { email: null, blocked: null }],
    ['an invitation-bound shared member: the invitation reason first', OA, { ...shared, invitationBound: true }, { email: 'INVITATION_BOUND_EMAIL', blocked: 'MEMBER_OF_ANOTHER_ORGANIZATION' }],
  ] as const)('%s', (_what, caller, user, expected) => {
    const policies = fieldPolicies(caller, ownStore, user);
    expect({ email: policies.email.reason, blocked: policies.blocked.reason }).toEqual(expected);
    expect(policies.name.editable).toBe(true);
  });
});

describe("the help desk's block refusals, in the help desk's words", () => {
  it('says who set the block: a tenant administrator, or another organization\'s help desk', () => {
    const byAdmin = fieldPolicies(OA, ownStore, { ...PLAIN_USER, blockedBy: 'tenant_admin' }).blocked;
    expect(byAdmin.message).toBe('A tenant administrator blocked this member: only a tenant administrator can unblock them.');
    const byOther = fieldPolicies(OA, ownStore, { ...PLAIN_USER, blockedBy: 'another_help_desk' }).blocked;
    expect(byOther).toMatchObject({ reason: RTA, message: "Another organization's help desk blocked this member: only a tenant administrator can lift that block." });
    // Other REQUIRES_TENANT_ADMIN refusals keep their own sentence.
    expect(fieldPolicies(OA, ownStore, PLAIN_USER).app_metadata.message).toBe("Only a tenant administrator can change the member's app settings.");
    const shared = fieldPolicies(OA, ownStore, { ...PLAIN_USER, memberOfAnotherOrganization: true });
    expect(shared.blocked.message).toContain('remove them from your organization instead (removeOrganizationMember)');
    expect(shared.email.message).toContain('cannot change their email address');
  });
});
