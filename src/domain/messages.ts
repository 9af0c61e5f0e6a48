// Why a field cannot be changed, in words for the caller who asks. The policy (policy.ts) decides
// the reason; this module writes the sentence: the same reason reads differently for the user
// (what they can do: change it at their identity provider, ask their organization's
// administrator, use password reset), the help desk (what it can do, and when only a tenant
// administrator can) and the tenant administrator (the setting to change).
// Pure: reason × audience × field × connection facts → message. No graphql, no storage.

import { CAMEL_NAMES as FIELD_LABELS } from './names.js';
import type { CallerRoles, ConnectionFacts, MutabilityReason, ProfileField, UserFacts } from './types.js';

/** Who reads a message. OTHER: a caller with no role on the user (e.g. `read:users` alone). */
export const AUDIENCES = ['TENANT_ADMIN', 'HELP_DESK', 'SELF', 'OTHER'] as const;
export type Audience = (typeof AUDIENCES)[number];

/**
 * The audience of a caller's messages: their most privileged role on the user, the role whose
 * refusal fieldPolicies reports when no role may edit a field.
 */
export function audienceOf(caller: CallerRoles): Audience {
  if (caller.tenantAdmin) return 'TENANT_ADMIN';
  if (caller.helpDesk) return 'HELP_DESK';
  if (caller.self) return 'SELF';
  return 'OTHER';
}

/** What people call the well-known providers, by Auth0 strategy; a connection's display_name wins. */
export const KNOWN_PROVIDERS: Readonly<Record<string, string>> = {
  'google-oauth2': 'Google',
  github: 'GitHub',
  facebook: 'Facebook',
  apple: 'Apple',
  windowslive: 'Microsoft',
  linkedin: 'LinkedIn',
  twitter: 'X (Twitter)',
  amazon: 'Amazon',
  bitbucket: 'Bitbucket',
  gitlab: 'GitLab',
  salesforce: 'Salesforce',
  waad: 'Microsoft Entra ID',
  'google-apps': 'Google Workspace',
  okta: 'Okta',
  adfs: 'AD FS',
};

/** The provider's name for people: the connection's display name, a known strategy's, else its name. */
export function providerName(connection: ConnectionFacts): string {
  return connection.displayName || KNOWN_PROVIDERS[connection.strategy] || connection.name;
}

/** Each field as a person says it (messages for the user and the help desk). */
const WORDS = {
  email: 'email address',
  email_verified: 'email verification status',
  username: 'username',
  phone_number: 'phone number',
  phone_verified: 'phone verification status',
  password: 'password',
  name: 'name',
  nickname: 'nickname',
  given_name: 'given name',
  family_name: 'family name',
  picture: 'picture',
  user_metadata: 'preferences',
  app_metadata: 'app settings',
  blocked: 'blocked status',
} as const satisfies Record<ProfileField, string>;

const ROOT_ATTRIBUTE_FIELDS: ReadonlySet<ProfileField> = new Set(['name', 'nickname', 'given_name', 'family_name', 'picture']);

/** Tenant administrators read the GraphQL names of fields and the connection's own name. */
function adminConnection(c: ConnectionFacts): string {
  if (c.kind === 'DATABASE') return `the custom database ${c.name}`;
  const name = providerName(c);
  return name === c.name ? `the connection ${c.name}` : `${name} (connection ${c.name})`;
}

/** e.g. "social connection 'google-oauth2'", "passwordless email connection 'email'". */
function describe(c: ConnectionFacts): string {
  const kind =
    c.kind === 'PASSWORDLESS' ? `passwordless ${c.strategy}` : c.kind === 'DATABASE' ? 'database' : c.kind.toLowerCase();
  return `${kind} connection '${c.name}'`;
}

/** The script a legacy user's field needs to be changed from here, if it has one. */
function scriptFor(field: ProfileField): 'changeEmail' | 'changePassword' | null {
  if (field === 'email' || field === 'email_verified') return 'changeEmail';
  if (field === 'password') return 'changePassword';
  return null;
}

/** How someone signs in, as a person says it ("Google", "a code sent to your email address"). */
function signInWith(c: ConnectionFacts, whose: 'your' | 'their'): string {
  if (c.kind === 'PASSWORDLESS') {
    if (c.strategy === 'email') return `a code sent to ${whose} email address`;
    if (c.strategy === 'sms') return `a code sent to ${whose} phone`;
    return `a code (${providerName(c)})`;
  }
  if (c.kind === 'DATABASE') return `${whose} email address and password`;
  if (c.kind === 'ENTERPRISE') return `${whose} work account (${providerName(c)})`;
  return providerName(c);
}

/** Where an upstream-owned value lives, for the user ("your Google account") or of the member. */
function upstreamHome(c: ConnectionFacts, whose: 'your' | 'their'): string {
  if (c.kind === 'DATABASE') return c.displayName ? `${whose} organization's user database (${c.displayName})` : `${whose} organization's user database`;
  if (c.kind === 'ENTERPRISE') return `${whose} work account (${providerName(c)})`;
  return `${whose} ${providerName(c)} account`;
}

/** What a sentence may also depend on about the user (who set a block); none of it is shown. */
export type UserContext = Pick<UserFacts, 'blockedBy'> & {
  /** A declared (or undeclared) attribute of user_metadata/app_metadata, when the refusal is about one key. */
  key?: string;
};

type Writer = (field: ProfileField, connection: ConnectionFacts, user: UserContext) => string;

// ---------------------------------------------------------------------------------------------
// One row per reason, one cell per audience: total over both, so a new reason or audience does
// not compile until each reader has a sentence.

const SYNCED_FROM_IDENTITY_PROVIDER: Record<Audience, Writer> = {
  TENANT_ADMIN: (field, c) =>
    ROOT_ATTRIBUTE_FIELDS.has(field)
      ? `${FIELD_LABELS[field]} is overwritten from ${adminConnection(c)} at every login; set the connection's sync (syncUserRootAttributes) to ON_FIRST_LOGIN to edit it here.`
      : `${FIELD_LABELS[field]} comes from the identity provider, ${adminConnection(c)}; change it there, and the next login brings it here.`,
  HELP_DESK: (field, c) => {
    const home = upstreamHome(c, 'their');
    const where = c.kind === 'DATABASE' ? 'have it changed there' : 'the member changes it there';
    if (field === 'email_verified') {
      return `Whether the member's email address is verified comes from ${home} and is updated each time they sign in.`;
    }
    if (ROOT_ATTRIBUTE_FIELDS.has(field)) {
      return `The member's ${WORDS[field]} comes from ${home} and is updated each time they sign in: ${where}. Only a tenant administrator can make it editable here.`;
    }
    return `The member's ${WORDS[field]} comes from ${home}: ${where}, and it is updated here at their next sign-in.`;
  },
  SELF: (field, c) => {
    const home = upstreamHome(c, 'your');
    const what = c.kind === 'DATABASE' ? "ask your organization's administrator to change it there" : 'change it there';
    if (field === 'email_verified') {
      return `Whether your email address is verified comes from ${home} and is updated each time you sign in.`;
    }
    if (ROOT_ATTRIBUTE_FIELDS.has(field)) {
      return `Your ${WORDS[field]} comes from ${home} and is updated each time you sign in: ${what}.`;
    }
    return `Your ${WORDS[field]} comes from ${home}: ${what}, and it is updated here the next time you sign in.`;
  },
  OTHER: (field, c) => `The ${WORDS[field]} comes from ${upstreamHome(c, 'their')}.`,
};

const MANAGED_IN_CUSTOM_DATABASE: Record<Audience, Writer> = {
  TENANT_ADMIN: (field, c) => {
    const script = scriptFor(field);
    const because = script && !c.scripts[script] ? ` (the connection has no ${script} script)` : '';
    return `${FIELD_LABELS[field]} is managed in the custom database ${c.name}${because}; change it there, and the cached profile refreshes at the next login.`;
  },
  HELP_DESK: (field, c) => {
    const script = scriptFor(field);
    const admin = script ? ` Only a tenant administrator can make it changeable here (the connection's ${script} script).` : '';
    if (field === 'password') {
      return `The member's password is kept in ${upstreamHome(c, 'their')} and cannot be set or reset from here.${admin}`;
    }
    return `The member's ${WORDS[field]} is kept in ${upstreamHome(c, 'their')}, not here: have it changed there, and it is updated at their next sign-in.${admin}`;
  },
  SELF: (field, c) =>
    field === 'password'
      ? `Your password is kept in ${upstreamHome(c, 'your')} and cannot be changed here: ask your organization's administrator.`
      : `Your ${WORDS[field]} is kept in ${upstreamHome(c, 'your')}: ask your organization's administrator to change it there, and it is updated here the next time you sign in.`,
  OTHER: (field, c) => `The ${WORDS[field]} is kept in ${upstreamHome(c, 'their')}.`,
};

const NOT_SUPPORTED_BY_CONNECTION: Record<Audience, Writer> = {
  TENANT_ADMIN: (field, c) => {
    if (field === 'username' && c.kind === 'DATABASE') {
      return `${describe(c)} does not use usernames; turn on requires_username to give users one.`;
    }
    if (field === 'password' || field === 'username') return `${describe(c)} users have no ${field}.`;
    if (field === 'email' && c.kind === 'PASSWORDLESS' && c.strategy === 'email') {
      return `email is how ${describe(c)} users sign in; it cannot be changed.`;
    }
    return `${describe(c)} does not support changing ${FIELD_LABELS[field]}.`;
  },
  HELP_DESK: (field, c) => {
    if (field === 'email' && c.kind === 'PASSWORDLESS' && c.strategy === 'email') {
      return 'The member signs in with a code sent to this email address, so it cannot be changed.';
    }
    if (field === 'phone_number' && c.kind === 'PASSWORDLESS' && c.strategy === 'sms') {
      return 'The member signs in with a code sent to this phone number, so it cannot be changed.';
    }
    return `The member signs in with ${signInWith(c, 'their')}: their account here has no ${WORDS[field]} to change.`;
  },
  SELF: (field, c) => {
    if (field === 'email' && c.kind === 'PASSWORDLESS' && c.strategy === 'email') {
      return 'You sign in with a code sent to this email address, so it cannot be changed.';
    }
    if (field === 'phone_number' && c.kind === 'PASSWORDLESS' && c.strategy === 'sms') {
      return 'You sign in with a code sent to this phone number, so it cannot be changed.';
    }
    if (field === 'password' && (c.kind === 'SOCIAL' || c.kind === 'ENTERPRISE')) {
      return `You sign in with ${signInWith(c, 'your')}: there is no password here; manage it in ${upstreamHome(c, 'your')}.`;
    }
    return `You sign in with ${signInWith(c, 'your')}: your account here has no ${WORDS[field]} to change.`;
  },
  OTHER: (field, c) => `Users who sign in with ${signInWith(c, 'their')} have no ${WORDS[field]} here.`,
};

const INVITATION_BOUND_EMAIL: Record<Audience, Writer> = {
  TENANT_ADMIN: () =>
    'email must stay the address an organization invitation was sent to; only a tenant administrator (update:users) can change it.',
  HELP_DESK: () =>
    'The member joined an organization through an invitation sent to this address, so it must stay: only a tenant administrator can change it.',
  SELF: () =>
    "You joined an organization through an invitation sent to this address, so it must stay: ask your organization's administrator if it has to change.",
  OTHER: () => 'This email address is the one an organization invitation was sent to, so it must stay.',
};

const USE_PASSWORD_RESET: Record<Audience, Writer> = {
  TENANT_ADMIN: () =>
    'password cannot be set here; create a password reset ticket (createPasswordResetTicket) instead.',
  HELP_DESK: () =>
    "A help desk cannot set a member's password: send them a password reset ticket (createPasswordResetTicket), which goes to their verified email address.",
  SELF: () =>
    'Your password is not changed here: use password reset, and a reset ticket is sent to your verified email address.',
  OTHER: () => 'The password is changed by password reset only.',
};

// The help desk's block of another organization's member is REQUIRES_TENANT_ADMIN too (user.blockedBy).
const REQUIRES_TENANT_ADMIN: Record<Audience, Writer> = {
  TENANT_ADMIN: (field) => `Only a tenant administrator (update:users) can change ${FIELD_LABELS[field]}.`,
  HELP_DESK: (field, _c, user) => {
    if (field === 'email_verified') {
      return "Only a tenant administrator can mark the member's email address verified: send them an email verification ticket (createEmailVerificationTicket) instead.";
    }
    if (field === 'blocked' && user.blockedBy === 'another_help_desk') {
      return "Another organization's help desk blocked this member: only a tenant administrator can lift that block.";
    }
    return `Only a tenant administrator can change the member's ${WORDS[field]}.`;
  },
  SELF: (field) => {
    if (field === 'email_verified') return 'Your email address is verified by the link sent to it (email verification), not here.';
    if (field === 'blocked') return 'Only an administrator can block or unblock your account.';
    if (field === 'app_metadata') return 'Your app settings are set by the administrators of the application, not here.';
    return `Only an administrator can change your ${WORDS[field]}.`;
  },
  OTHER: (field) => `Only a tenant administrator can change the ${WORDS[field]}.`,
};

const NOT_AUTHORIZED: Record<Audience, Writer> = {
  TENANT_ADMIN: () => "You may not change this user's profile.",
  HELP_DESK: () => "You may not change this user's profile: they are not a member of your organization.",
  SELF: () => 'You may not change this profile.',
  OTHER: () =>
    "You may not change this user's profile: that takes a token with update:users, being the user, or being a help desk (ADMIN) of one of their organizations.",
};

const MEMBER_OF_ANOTHER_ORGANIZATION: Record<Audience, Writer> = {
  TENANT_ADMIN: (field) =>
    `A help desk may not change ${FIELD_LABELS[field]} of a member who also belongs to another organization; a tenant administrator (update:users) can.`,
  HELP_DESK: (field) =>
    `The member also belongs to another organization, so a help desk cannot change their ${WORDS[field]}: remove them from your organization instead (removeOrganizationMember), or ask a tenant administrator.`,
  SELF: (field) => `Your ${WORDS[field]} is shared with the other organizations you belong to: ask an administrator.`,
  OTHER: (field) => `The ${WORDS[field]} of a member of several organizations is changed by a tenant administrator only.`,
};

const BLOCKED_BY_TENANT_ADMIN: Record<Audience, Writer> = {
  TENANT_ADMIN: () => 'A tenant administrator set this block; only a tenant administrator (update:users) can lift it.',
  HELP_DESK: () => 'A tenant administrator blocked this member: only a tenant administrator can unblock them.',
  SELF: () => 'An administrator blocked your account: only an administrator can unblock it.',
  OTHER: () => 'A tenant administrator set this block.',
};

// Declared attributes (attributes.ts): the key is named; `field` is its metadata object.
const keyOf = (user: UserContext) => user.key ?? 'this attribute';

const CREATE_ONLY: Record<Audience, Writer> = {
  TENANT_ADMIN: (_f, _c, user) => `${keyOf(user)} is declared CREATE_ONLY: it is set when the user is created (createUser, an import or the first login) and cannot change afterwards; change the declaration's lifecycle to edit it.`,
  HELP_DESK: (_f, _c, user) => `The member's ${keyOf(user)} was set when their account was created and cannot be changed.`,
  SELF: (_f, _c, user) => `The ${keyOf(user)} of your account was set when it was created and cannot be changed.`,
  OTHER: (_f, _c, user) => `${keyOf(user)} is set when the account is created.`,
};

const WRITE_ONCE: Record<Audience, Writer> = {
  TENANT_ADMIN: (_f, _c, user) => `${keyOf(user)} is declared WRITE_ONCE and already has a value: it cannot change; change the declaration's lifecycle to edit it.`,
  HELP_DESK: (_f, _c, user) => `The member's ${keyOf(user)} can be set only once and already has a value.`,
  SELF: (_f, _c, user) => `The ${keyOf(user)} of your account can be set only once, and it already is.`,
  OTHER: (_f, _c, user) => `${keyOf(user)} can be set only once.`,
};

const UNDECLARED_ATTRIBUTE: Record<Audience, Writer> = {
  TENANT_ADMIN: (_f, _c, user) => `${keyOf(user)} is not a declared attribute of this connection, which accepts declared keys only (undeclaredAttributes); declare it first.`,
  HELP_DESK: (_f, _c, user) => `${keyOf(user)} is not one of this connection's attributes: only a tenant administrator can add it to the member's profile.`,
  SELF: (_f, _c, user) => `Your profile has no attribute called ${keyOf(user)}, so it cannot be saved: ask an administrator.`,
  OTHER: (_f, _c, user) => `${keyOf(user)} is not a declared attribute.`,
};

/** An attribute's refusal by its declaration's edit list, for the reader (the key named). */
export function attributeRoleMessage(reason: 'REQUIRES_TENANT_ADMIN' | 'NOT_AUTHORIZED', audience: Audience, key: string, editors: string): string {
  if (reason === 'REQUIRES_TENANT_ADMIN') {
    return audience === 'SELF'
      ? `Your ${key} is set by an administrator: ask them to change it.`
      : `Only a tenant administrator (update:users) can change ${key}.`;
  }
  return audience === 'TENANT_ADMIN'
    ? `${key} is declared editable by ${editors} only; change its declaration's edit list to edit it here.`
    : audience === 'SELF'
      ? `Your ${key} is changed by ${editors}, not by you.`
      : `${key} is changed by ${editors} only.`;
}

export const MESSAGES = {
  SYNCED_FROM_IDENTITY_PROVIDER,
  MANAGED_IN_CUSTOM_DATABASE,
  NOT_SUPPORTED_BY_CONNECTION,
  INVITATION_BOUND_EMAIL,
  USE_PASSWORD_RESET,
  REQUIRES_TENANT_ADMIN,
  NOT_AUTHORIZED,
  MEMBER_OF_ANOTHER_ORGANIZATION,
  BLOCKED_BY_TENANT_ADMIN,
  CREATE_ONLY,
  WRITE_ONCE,
  UNDECLARED_ATTRIBUTE,
} as const satisfies Record<MutabilityReason, Record<Audience, Writer>>;

/** The sentence shown beside a field the caller may not change, and in FIELD_NOT_EDITABLE. */
export function refusalMessage(
  reason: MutabilityReason,
  audience: Audience,
  field: ProfileField,
  connection: ConnectionFacts,
  user: UserContext = {},
): string {
  return MESSAGES[reason][audience](field, connection, user);
}

/** FIELD_NOT_EDITABLE's message: each refused field's sentence, then that nothing was written. */
export function fieldNotEditableMessage(messages: readonly string[]): string {
  return `${messages.join(' ')} Nothing was changed.`;
}
