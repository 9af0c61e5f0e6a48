// Messages per audience (src/domain/messages.ts): every reason × audience written out literally
// below (one field and connection each), then properties over every field and connection kind.
import { describe, expect, it } from 'vitest';
import { connectionFacts } from '../../src/domain/connection.js';
import {
  AUDIENCES,
  type Audience,
  audienceOf,
  fieldNotEditableMessage,
  MESSAGES,
  providerName,
  refusalMessage,
} from '../../src/domain/messages.js';
import {
  type ConnectionFacts,
  MUTABILITY_REASONS,
  type MutabilityReason,
  PROFILE_FIELDS,
  type ProfileField,
} from '../../src/domain/types.js';

const NO_SCRIPTS = { changeEmail: false, changePassword: false, create: false };
const BASE = { customDatabase: false, importMode: false, requiresUsername: false, scripts: NO_SCRIPTS, sync: 'on_each_login' } as const;

const google: ConnectionFacts = { ...BASE, kind: 'SOCIAL', strategy: 'google-oauth2', name: 'google-oauth2' };
const saml: ConnectionFacts = { ...BASE, kind: 'ENTERPRISE', strategy: 'samlp', name: 'acme-saml', displayName: 'Acme SSO' };
const legacy: ConnectionFacts = { ...BASE, kind: 'DATABASE', strategy: 'auth0', name: 'legacy-db', customDatabase: true };
const ownStore: ConnectionFacts = { ...BASE, kind: 'DATABASE', strategy: 'auth0', name: 'users' };
const passwordlessEmail: ConnectionFacts = { ...BASE, kind: 'PASSWORDLESS', strategy: 'email', name: 'email' };
const sms: ConnectionFacts = { ...BASE, kind: 'PASSWORDLESS', strategy: 'sms', name: 'sms' };
const CONNECTIONS = [google, saml, legacy, ownStore, passwordlessEmail, sms];

type Case = { field: ProfileField; connection: ConnectionFacts; expected: Record<Audience, string> };

// Written out by hand: what each reader should see. The field and connection are where the reason
// arises in domain.md (the help-desk-only reasons on an own-store member).
const TABLE: Record<MutabilityReason, Case> = {
  SYNCED_FROM_IDENTITY_PROVIDER: {
    field: 'name',
    connection: google,
    expected: {
      TENANT_ADMIN:
        "name is overwritten from Google (connection google-oauth2) at every login; set the connection's sync (syncUserRootAttributes) to ON_FIRST_LOGIN to edit it here.",
      HELP_DESK:
        "The member's name comes from their Google account and is updated each time they sign in: the member changes it there. Only a tenant administrator can make it editable here.",
      SELF: 'Your name comes from your Google account and is updated each time you sign in: change it there.',
      OTHER: 'The name comes from their Google account.',
    },
  },
  MANAGED_IN_CUSTOM_DATABASE: {
    field: 'email',
    connection: legacy,
    expected: {
      TENANT_ADMIN:
        'email is managed in the custom database legacy-db (the connection has no changeEmail script); change it there, and the cached profile refreshes at the next login.',
      HELP_DESK:
        "The member's email address is kept in their organization's user database, not here: have it changed there, and it is updated at their next sign-in. Only a tenant administrator can make it changeable here (the connection's changeEmail script).",
      SELF: "Your email address is kept in your organization's user database: ask your organization's administrator to change it there, and it is updated here the next time you sign in.",
      OTHER: "The email address is kept in their organization's user database.",
    },
  },
  NOT_SUPPORTED_BY_CONNECTION: {
    field: 'password',
    connection: google,
    expected: {
      TENANT_ADMIN: "social connection 'google-oauth2' users have no password.",
      HELP_DESK: 'The member signs in with Google: their account here has no password to change.',
      SELF: 'You sign in with Google: there is no password here; manage it in your Google account.',
      OTHER: 'Users who sign in with Google have no password here.',
    },
  },
  INVITATION_BOUND_EMAIL: {
    field: 'email',
    connection: ownStore,
    expected: {
      TENANT_ADMIN:
        'email must stay the address an organization invitation was sent to; only a tenant administrator (update:users) can change it.',
      HELP_DESK:
        'The member joined an organization through an invitation sent to this address, so it must stay: only a tenant administrator can change it.',
      SELF: "You joined an organization through an invitation sent to this address, so it must stay: ask your organization's administrator if it has to change.",
      OTHER: 'This email address is the one an organization invitation was sent to, so it must stay.',
    },
  },
  USE_PASSWORD_RESET: {
    field: 'password',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: 'password cannot be set here; create a password reset ticket (createPasswordResetTicket) instead.',
      HELP_DESK:
        "A help desk cannot set a member's password: send them a password reset ticket (createPasswordResetTicket), which goes to their verified email address.",
      SELF: 'Your password is not changed here: use password reset, and a reset ticket is sent to your verified email address.',
      OTHER: 'The password is changed by password reset only.',
    },
  },
  REQUIRES_TENANT_ADMIN: {
    field: 'app_metadata',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: 'Only a tenant administrator (update:users) can change appMetadata.',
      HELP_DESK: "Only a tenant administrator can change the member's app settings.",
      SELF: 'Your app settings are set by the administrators of the application, not here.',
      OTHER: 'Only a tenant administrator can change the app settings.',
    },
  },
  NOT_AUTHORIZED: {
    field: 'name',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: "You may not change this user's profile.",
      HELP_DESK: "You may not change this user's profile: they are not a member of your organization.",
      SELF: 'You may not change this profile.',
      OTHER:
        "You may not change this user's profile: that takes a token with update:users, being the user, or being a help desk (ADMIN) of one of their organizations.",
    },
  },
  MEMBER_OF_ANOTHER_ORGANIZATION: {
    field: 'email',
    connection: ownStore,
    expected: {
      TENANT_ADMIN:
        'A help desk may not change email of a member who also belongs to another organization; a tenant administrator (update:users) can.',
      HELP_DESK:
        'The member also belongs to another organization, so a help desk cannot change their email address: remove them from your organization instead (removeOrganizationMember), or ask a tenant administrator.',
      SELF: 'Your email address is shared with the other organizations you belong to: ask an administrator.',
      OTHER: 'The email address of a member of several organizations is changed by a tenant administrator only.',
    },
  },
  BLOCKED_BY_TENANT_ADMIN: {
    field: 'blocked',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: 'A tenant administrator set this block; only a tenant administrator (update:users) can lift it.',
      HELP_DESK: 'A tenant administrator blocked this member: only a tenant administrator can unblock them.',
      SELF: 'An administrator blocked your account: only an administrator can unblock it.',
      OTHER: 'A tenant administrator set this block.',
    },
  },
  // Declared attributes: the table calls without a key, so the sentence says "this attribute".
  CREATE_ONLY: {
    field: 'user_metadata',
    connection: ownStore,
    expected: {
      TENANT_ADMIN:
        "this attribute is declared CREATE_ONLY: it is set when the user is created (createUser, an import or the first login) and cannot change afterwards; change the declaration's lifecycle to edit it.",
      HELP_DESK: "The member's this attribute was set when their account was created and cannot be changed.",
      SELF: 'The this attribute of your account was set when it was created and cannot be changed.',
      OTHER: 'this attribute is set when the account is created.',
    },
  },
  WRITE_ONCE: {
    field: 'user_metadata',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: "this attribute is declared WRITE_ONCE and already has a value: it cannot change; change the declaration's lifecycle to edit it.",
      HELP_DESK: "The member's this attribute can be set only once and already has a value.",
      SELF: 'The this attribute of your account can be set only once, and it already is.',
      OTHER: 'this attribute can be set only once.',
    },
  },
  UNDECLARED_ATTRIBUTE: {
    field: 'user_metadata',
    connection: ownStore,
    expected: {
      TENANT_ADMIN: 'this attribute is not a declared attribute of this connection, which accepts declared keys only (undeclaredAttributes); declare it first.',
      HELP_DESK: "this attribute is not one of this connection's attributes: only a tenant administrator can add it to the member's profile.",
      SELF: 'Your profile has no attribute called this attribute, so it cannot be saved: ask an administrator.',
      OTHER: 'this attribute is not a declared attribute.',
    },
  },
};

describe('refusalMessage: every reason × audience', () => {
  it('has a row for every MutabilityReason and a cell for every audience', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...MUTABILITY_REASONS].sort());
    expect(Object.keys(MESSAGES).sort()).toEqual([...MUTABILITY_REASONS].sort());
    for (const reason of MUTABILITY_REASONS) expect(Object.keys(MESSAGES[reason]).sort()).toEqual([...AUDIENCES].sort());
  });

  for (const reason of MUTABILITY_REASONS) {
    for (const audience of AUDIENCES) {
      it(`${reason} for ${audience}`, () => {
        const { field, connection, expected } = TABLE[reason];
        expect(refusalMessage(reason, audience, field, connection)).toBe(expected[audience]);
      });
    }
  }
});

describe('refusalMessage: over every field and connection', () => {
  const all = MUTABILITY_REASONS.flatMap((reason) =>
    AUDIENCES.flatMap((audience) =>
      PROFILE_FIELDS.flatMap((field) =>
        CONNECTIONS.map((connection) => ({ reason, audience, field, connection, message: refusalMessage(reason, audience, field, connection) })),
      ),
    ),
  );

  it('is one or more whole sentences, never with a hole in it', () => {
    for (const { message, ...where } of all) {
      expect(message, JSON.stringify(where)).toMatch(/^\S.*[.]$/s);
      expect(message, JSON.stringify(where)).not.toMatch(/undefined|null|\[object|\s\s|\.\./);
    }
  });

  it('speaks to the user as "you", with no API names, scopes, settings or technical connection names', () => {
    for (const { message, connection, ...where } of all.filter((m) => m.audience === 'SELF')) {
      const at = JSON.stringify({ ...where, connection: connection.name });
      expect(message, at).toMatch(/\b(You|Your|you|your)\b/);
      expect(message, at).not.toMatch(/[a-z][A-Z]|update:users|_|ON_FIRST_LOGIN|requires_username|tenant administrator/);
      if (connection.kind !== 'DATABASE' && providerName(connection) !== connection.name) {
        expect(message, at).not.toContain(connection.name);
      }
    }
  });

  it('tells the help desk about the member, and names a tenant administrator when only one can act', () => {
    for (const { message, reason, connection, ...where } of all.filter((m) => m.audience === 'HELP_DESK')) {
      const at = JSON.stringify({ reason, ...where, connection: connection.name });
      expect(message, at).toMatch(/member|help desk/);
      expect(message, at).not.toMatch(/syncUserRootAttributes|ON_FIRST_LOGIN|update:users/);
      if (['REQUIRES_TENANT_ADMIN', 'INVITATION_BOUND_EMAIL', 'BLOCKED_BY_TENANT_ADMIN', 'MEMBER_OF_ANOTHER_ORGANIZATION'].includes(reason)) {
        expect(message, at).toContain('tenant administrator');
      }
    }
  });

  it('gives the tenant administrator the setting or script to change', () => {
    for (const field of ['name', 'nickname', 'given_name', 'family_name', 'picture'] as const) {
      for (const connection of [google, saml, legacy]) {
        const message = refusalMessage('SYNCED_FROM_IDENTITY_PROVIDER', 'TENANT_ADMIN', field, connection);
        expect(message).toContain('syncUserRootAttributes');
        expect(message).toContain('ON_FIRST_LOGIN');
        expect(message).toContain(connection.name);
      }
    }
    expect(refusalMessage('MANAGED_IN_CUSTOM_DATABASE', 'TENANT_ADMIN', 'password', legacy)).toContain('changePassword script');
    // With the script, nothing about it: the field is refused for another reason (e.g. username).
    const withScripts = { ...legacy, scripts: { changeEmail: true, changePassword: true, create: true } };
    expect(refusalMessage('MANAGED_IN_CUSTOM_DATABASE', 'TENANT_ADMIN', 'username', withScripts)).not.toContain('script');
    expect(refusalMessage('NOT_SUPPORTED_BY_CONNECTION', 'TENANT_ADMIN', 'username', ownStore)).toContain('requires_username');
  });

  it('passwordless identifiers: the way in cannot be changed', () => {
    expect(refusalMessage('NOT_SUPPORTED_BY_CONNECTION', 'SELF', 'email', passwordlessEmail)).toBe(
      'You sign in with a code sent to this email address, so it cannot be changed.',
    );
    expect(refusalMessage('NOT_SUPPORTED_BY_CONNECTION', 'SELF', 'email', sms)).toBe(
      'You sign in with a code sent to your phone: your account here has no email address to change.',
    );
  });
});

describe('providers by display name', () => {
  it('the connection option display_name wins, then a known strategy, then the connection name', () => {
    const settings = { name: 'corp-google', kind: 'SOCIAL' as const, strategy: 'google-oauth2' };
    expect(providerName(connectionFacts({ ...settings, options: {} }, NO_SCRIPTS))).toBe('Google');
    expect(providerName(connectionFacts({ ...settings, options: { display_name: '  Corp Google ' } }, NO_SCRIPTS))).toBe('Corp Google');
    expect(providerName(connectionFacts({ ...settings, options: { display_name: '' } }, NO_SCRIPTS))).toBe('Google');
    expect(providerName(connectionFacts({ ...settings, options: { display_name: 42 } }, NO_SCRIPTS))).toBe('Google');
    expect(providerName({ ...google, strategy: 'github', name: 'gh' })).toBe('GitHub');
    expect(providerName({ ...saml, displayName: undefined })).toBe('acme-saml');
  });

  it('the user reads the display name, the tenant administrator both', () => {
    const github: ConnectionFacts = { ...google, strategy: 'github', name: 'github' };
    expect(refusalMessage('SYNCED_FROM_IDENTITY_PROVIDER', 'SELF', 'picture', github)).toBe(
      'Your picture comes from your GitHub account and is updated each time you sign in: change it there.',
    );
    expect(refusalMessage('SYNCED_FROM_IDENTITY_PROVIDER', 'TENANT_ADMIN', 'email', saml)).toBe(
      'email comes from the identity provider, Acme SSO (connection acme-saml); change it there, and the next login brings it here.',
    );
    const named = { ...legacy, displayName: 'Acme HR directory' };
    expect(refusalMessage('MANAGED_IN_CUSTOM_DATABASE', 'SELF', 'username', named)).toContain(
      "your organization's user database (Acme HR directory)",
    );
  });
});

describe('audienceOf and FIELD_NOT_EDITABLE', () => {
  it('is the most privileged role the caller has on the user', () => {
    expect(audienceOf({ tenantAdmin: true, helpDesk: true, self: true })).toBe('TENANT_ADMIN');
    expect(audienceOf({ tenantAdmin: false, helpDesk: true, self: true })).toBe('HELP_DESK');
    expect(audienceOf({ tenantAdmin: false, helpDesk: false, self: true })).toBe('SELF');
    expect(audienceOf({ tenantAdmin: false, helpDesk: false, self: false })).toBe('OTHER');
  });

  it("FIELD_NOT_EDITABLE's message is the fields' sentences, then that nothing was written", () => {
    expect(fieldNotEditableMessage(['Your name comes from your Google account.', 'Your password is not changed here.'])).toBe(
      'Your name comes from your Google account. Your password is not changed here. Nothing was changed.',
    );
  });
});
