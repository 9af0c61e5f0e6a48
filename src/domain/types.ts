// The domain's vocabulary. Snake_case names are the domain's own (see shared/domain.md); the
// GraphQL layer maps them one to one onto its camelCase / SCREAMING_SNAKE names.
// Nothing here imports graphql or drizzle.

export const CONNECTION_KINDS = ['DATABASE', 'SOCIAL', 'ENTERPRISE', 'PASSWORDLESS'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** The connection option `set_user_root_attributes`. */
export const ROOT_ATTRIBUTE_SYNCS = ['on_each_login', 'on_first_login', 'never_on_login'] as const;
export type RootAttributeSync = (typeof ROOT_ATTRIBUTE_SYNCS)[number];
export const DEFAULT_ROOT_ATTRIBUTE_SYNC: RootAttributeSync = 'on_each_login';

/** The five root attributes a login may overwrite, as the sync setting says. */
export const ROOT_ATTRIBUTES = ['name', 'nickname', 'given_name', 'family_name', 'picture'] as const;
export type RootAttribute = (typeof ROOT_ATTRIBUTES)[number];

/** Every profile field whose mutability the policy decides, in the contract's order. */
export const PROFILE_FIELDS = [
  'email',
  'email_verified',
  'username',
  'phone_number',
  'phone_verified',
  'password',
  'name',
  'nickname',
  'given_name',
  'family_name',
  'picture',
  'user_metadata',
  'app_metadata',
  'blocked',
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export const MUTABILITY_REASONS = [
  'SYNCED_FROM_IDENTITY_PROVIDER',
  'MANAGED_IN_CUSTOM_DATABASE',
  'NOT_SUPPORTED_BY_CONNECTION',
  'INVITATION_BOUND_EMAIL',
  'USE_PASSWORD_RESET',
  'REQUIRES_TENANT_ADMIN',
  'NOT_AUTHORIZED',
  'MEMBER_OF_ANOTHER_ORGANIZATION',
  'BLOCKED_BY_TENANT_ADMIN',
  'CREATE_ONLY',
  'WRITE_ONCE',
  'UNDECLARED_ATTRIBUTE',
] as const;
export type MutabilityReason = (typeof MUTABILITY_REASONS)[number];

export const ORG_ROLES = ['MEMBER', 'ADMIN'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export const SCOPES = [
  'read:users',
  'create:users',
  'update:users',
  'delete:users',
  'read:connections',
  'create:connections',
  'update:connections',
  'read:organizations',
  'create:organizations',
  'update:organizations',
  'login:users',
  'import:users',
  'read:audit',
  'read:events',
  'update:webhooks',
] as const;
export type Scope = (typeof SCOPES)[number];

/** What the policy needs to know about a user's connection. */
export interface ConnectionFacts {
  kind: ConnectionKind;
  /** e.g. `auth0`, `google-oauth2`, `samlp`, `email`, `sms`. */
  strategy: string;
  /** The connection's name, shown to tenant administrators ("overwritten from google-oauth2 at every login"). */
  name: string;
  /** The provider as people call it (option `display_name`), shown to users and help desks ("your Google account"). */
  displayName?: string;
  /** DATABASE only: the customer's own legacy database reached through scripts. */
  customDatabase: boolean;
  /** DATABASE + customDatabase only: users migrate lazily at their first login. */
  importMode: boolean;
  requiresUsername: boolean;
  /** Ignored for PASSWORDLESS (the gateway is the identity provider there). */
  sync: RootAttributeSync;
  /** Which optional custom-database scripts the connection has. */
  scripts: { changeEmail: boolean; changePassword: boolean; create: boolean };
}

/** What the policy needs to know about the user whose fields are judged. */
export interface UserFacts {
  /** Custom-database users: true once the user lives in the gateway's own store. */
  migrated: boolean;
  /** The user joined at least one organization by accepting an invitation. */
  invitationBound: boolean;
  /**
   * Help desk only: the user is also a member of an organization the asking help desk does not
   * administer (a shared member: their email and block are not that help desk's to change).
   */
  memberOfAnotherOrganization?: boolean;
  /**
   * Who set the user's block, as the asking help desk sees it: a tenant administrator, a help desk
   * of an organization it administers, or another organization's help desk. Absent or null: not blocked.
   */
  blockedBy?: 'tenant_admin' | 'this_help_desk' | 'another_help_desk' | null;
}

/** Who is asking, relative to one user. Several roles at once: the most permissive wins. */
export interface CallerRoles {
  /** TA: a token with `update:users`. */
  tenantAdmin: boolean;
  /** OA: an ADMIN of an organization the user is a member of (narrowed by the `org_id` claim). */
  helpDesk: boolean;
  /** SELF: the token's `sub` is the user. */
  self: boolean;
}

export type FieldDecision =
  | { editable: true; reason: null; message: null }
  | { editable: false; reason: MutabilityReason; message: string };

export type FieldPolicies = Record<ProfileField, FieldDecision>;

export type Metadata = Record<string, unknown>;

/**
 * A requested change to a profile, in the domain's names. A key that is absent is not changed;
 * `null` clears a nullable field; for metadata, the object is merged one level deep (see metadata.ts).
 */
export interface ProfilePatch {
  email?: string | null;
  email_verified?: boolean;
  username?: string | null;
  phone_number?: string | null;
  phone_verified?: boolean;
  password?: string;
  name?: string | null;
  nickname?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  picture?: string | null;
  user_metadata?: Metadata | null;
  app_metadata?: Metadata | null;
  blocked?: boolean;
}

/** A problem a caller can fix, reported in a payload's `userErrors` (never thrown). */
export interface UserError {
  /** Path to the input field, in the GraphQL input's camelCase (e.g. ["userMetadata", "a.b"]). */
  field: string[] | null;
  /** Stable, SCREAMING_SNAKE_CASE. */
  code: string;
  message: string;
}
