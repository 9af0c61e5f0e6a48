/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** When a declared attribute may be written. */
export type AttributeLifecycle =
  /** Only when the user is created (createUser, an import, the first login); never changed afterwards (reason CREATE_ONLY). */
  | 'CREATE_ONLY'
  /** Whenever the caller may edit it. */
  | 'MUTABLE'
  /** May be set once while it has no value; never changed afterwards (reason WRITE_ONCE). */
  | 'WRITE_ONCE';

/** Which metadata object a declared attribute lives in. */
export type AttributeObject =
  /** `appMetadata`: the application's data about the user; never editable by the user, whatever a declaration says. */
  | 'APP_METADATA'
  /** `userMetadata`: the user's own preferences; the user may edit keys whose declaration lets SELF edit. */
  | 'USER_METADATA';

/** A kind of caller, as an attribute declaration's `edit` and `view` lists name them. */
export type AttributeRole =
  /** An ADMIN of an organization the user is a member of. */
  | 'HELP_DESK'
  /** The user themself. */
  | 'SELF'
  /** A tenant administrator: a token with update:users (to edit) or read:users (to view). */
  | 'TENANT_ADMIN';

/** Where a connection's users come from. */
export type ConnectionKind =
  /** Username and password: the gateway's own store, or a customer's legacy database reached through scripts. */
  | 'DATABASE'
  /** An enterprise identity provider (samlp, oidc, waad, …), which owns the profile. */
  | 'ENTERPRISE'
  /** Email or SMS one-time codes; the gateway is the identity provider. */
  | 'PASSWORDLESS'
  /** A social identity provider (google-oauth2, github, …), which owns the profile. */
  | 'SOCIAL';

/** Why a profile field cannot be changed by the caller who asks. */
export type MutabilityReason =
  /** Help desk: a tenant administrator blocked this user; only a tenant administrator can lift that block. */
  | 'BLOCKED_BY_TENANT_ADMIN'
  /** A declared attribute with lifecycle CREATE_ONLY: set when the user was created, never changed afterwards. */
  | 'CREATE_ONLY'
  /** The user joined an organization by invitation: the invited address must stay (a tenant administrator can still change it). */
  | 'INVITATION_BOUND_EMAIL'
  /** The customer's own database owns the value; change it there, and the cache refreshes at the next login. */
  | 'MANAGED_IN_CUSTOM_DATABASE'
  /** Help desk: the member also belongs to another organization, so their email and block are not one organization's to change; remove the membership instead, or ask a tenant administrator. */
  | 'MEMBER_OF_ANOTHER_ORGANIZATION'
  /** The caller may not change this user's profile at all. */
  | 'NOT_AUTHORIZED'
  /** The connection has no such field (no password on social logins, no username without requires_username…). */
  | 'NOT_SUPPORTED_BY_CONNECTION'
  /** Only a tenant administrator (update:users) may change this field. */
  | 'REQUIRES_TENANT_ADMIN'
  /** The identity provider owns the value and the next login would overwrite it. For root attributes, set the connection's sync to ON_FIRST_LOGIN; for email, change it at the provider. */
  | 'SYNCED_FROM_IDENTITY_PROVIDER'
  /** A metadata key the connection does not declare, on a connection whose undeclaredAttributes is ADMIN_ONLY (for anyone but a tenant administrator) or REJECT (for everyone). */
  | 'UNDECLARED_ATTRIBUTE'
  /** Help desk and users do not set passwords: create a password reset ticket instead. */
  | 'USE_PASSWORD_RESET'
  /** A declared attribute with lifecycle WRITE_ONCE that already has a value: it cannot change. */
  | 'WRITE_ONCE';

/** A role within an organization. */
export type OrgRole =
  /** The organization's help-desk operator: manages its members, and nobody else. */
  | 'ADMIN'
  /** A member: no powers over the organization or its other members. */
  | 'MEMBER';

/** A profile field whose mutability the gateway decides (see `User.fieldPolicies`). */
export type ProfileField =
  /** User.appMetadata. */
  | 'APP_METADATA'
  /** Whether the user is blocked (User.blocked). */
  | 'BLOCKED'
  /** The email address (User.email). */
  | 'EMAIL'
  /** Whether the email address is verified (User.emailVerified). */
  | 'EMAIL_VERIFIED'
  /** The family name (User.familyName), a root attribute. */
  | 'FAMILY_NAME'
  /** The given name (User.givenName), a root attribute. */
  | 'GIVEN_NAME'
  /** The full name (User.name), a root attribute. */
  | 'NAME'
  /** The nickname (User.nickname), a root attribute. */
  | 'NICKNAME'
  /** The password (write-only: UpdateUserInput.password). */
  | 'PASSWORD'
  /** The phone number (User.phoneNumber). */
  | 'PHONE_NUMBER'
  /** Whether the phone number is verified (User.phoneVerified). */
  | 'PHONE_VERIFIED'
  /** The picture URL (User.picture), a root attribute. */
  | 'PICTURE'
  /** The username (User.username). */
  | 'USERNAME'
  /** User.userMetadata. */
  | 'USER_METADATA';

/** What a login does to the five root attributes (name, nickname, givenName, familyName, picture). Auth0's `set_user_root_attributes`. */
export type RootAttributeSync =
  /** Never set by a login; editable through the gateway. */
  | 'NEVER_ON_LOGIN'
  /** Overwritten from the upstream profile at every login (the default); not editable through the gateway. */
  | 'ON_EACH_LOGIN'
  /** Set when the user is created, never again by a login; editable through the gateway. */
  | 'ON_FIRST_LOGIN';

/**
 * A change to a profile. Only the fields given are changed; a field set to null is cleared. If the
 * caller may not change any one of them (see `User.fieldPolicies`), the whole update is refused with
 * FIELD_NOT_EDITABLE and nothing is written.
 */
export type UpdateUserInput = {
  /** Merged like userMetadata; Auth0's reserved names (blocked, email, user_id, …) are refused. */
  appMetadata?: Record<string, unknown> | null | undefined;
  /** True blocks the user (their logins and tokens are refused at once), false unblocks; may not be null. */
  blocked?: boolean | null | undefined;
  /** A changed email is unverified unless the same update (by a tenant administrator) sets emailVerified. */
  email?: string | null | undefined;
  /** Marks the email verified or not (tenant administrators only); may not be null. */
  emailVerified?: boolean | null | undefined;
  /** When given, the update is refused with VERSION_CONFLICT unless `User.version` still has this value. */
  expectedVersion?: number | null | undefined;
  /** 1–150 characters; null clears it. */
  familyName?: string | null | undefined;
  /** 1–150 characters; null clears it. */
  givenName?: string | null | undefined;
  /** 1–150 characters; null clears it. */
  name?: string | null | undefined;
  /** 1–300 characters; null clears it. */
  nickname?: string | null | undefined;
  /** 8–72 bytes. Stored only as a hash. Help desk and users create a password reset ticket instead. */
  password?: string | null | undefined;
  /** Null clears it. */
  phoneNumber?: string | null | undefined;
  /** Marks the phone number verified or not (tenant administrators only); may not be null. */
  phoneVerified?: boolean | null | undefined;
  /** http or https. */
  picture?: string | null | undefined;
  /** Merged one level deep: each top-level key given replaces the stored one, a key set to null is removed, nested objects are replaced whole. At most 16 KB after the merge; keys may not contain `.` or `$`. */
  userMetadata?: Record<string, unknown> | null | undefined;
  /** 1–128 characters of A–Z a–z 0–9 `_ + - . ! # $ ' ^ ` ~ @`, unique within the connection; only on connections that require usernames. */
  username?: string | null | undefined;
};

export type ProfileFieldsFragment = { id: string, version: number, email: string | null, emailVerified: boolean, username: string | null, phoneNumber: string | null, name: string | null, nickname: string | null, givenName: string | null, familyName: string | null, picture: string | null, userMetadata: Record<string, unknown> | null, appMetadata: Record<string, unknown> | null, connection: { id: string, name: string, kind: ConnectionKind, syncUserRootAttributes: RootAttributeSync | null, attributes: Array<{ key: string, in: AttributeObject, schema: Record<string, unknown>, view: Array<AttributeRole>, lifecycle: AttributeLifecycle }> }, fieldPolicies: Array<{ field: ProfileField, editable: boolean, reason: MutabilityReason | null, message: string | null }>, attributePolicies: Array<{ key: string, in: AttributeObject, editable: boolean, reason: MutabilityReason | null, message: string | null }>, organizations: Array<{ roles: Array<OrgRole>, joinedAt: string, organization: { id: string, name: string, displayName: string | null } }> };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, version: number, email: string | null, emailVerified: boolean, username: string | null, phoneNumber: string | null, name: string | null, nickname: string | null, givenName: string | null, familyName: string | null, picture: string | null, userMetadata: Record<string, unknown> | null, appMetadata: Record<string, unknown> | null, connection: { id: string, name: string, kind: ConnectionKind, syncUserRootAttributes: RootAttributeSync | null, attributes: Array<{ key: string, in: AttributeObject, schema: Record<string, unknown>, view: Array<AttributeRole>, lifecycle: AttributeLifecycle }> }, fieldPolicies: Array<{ field: ProfileField, editable: boolean, reason: MutabilityReason | null, message: string | null }>, attributePolicies: Array<{ key: string, in: AttributeObject, editable: boolean, reason: MutabilityReason | null, message: string | null }>, organizations: Array<{ roles: Array<OrgRole>, joinedAt: string, organization: { id: string, name: string, displayName: string | null } }> } | null };

export type UpdateProfileMutationVariables = Exact<{
  id: string | number;
  input: UpdateUserInput;
}>;


export type UpdateProfileMutation = { updateUser: { user: { id: string, version: number, email: string | null, emailVerified: boolean, username: string | null, phoneNumber: string | null, name: string | null, nickname: string | null, givenName: string | null, familyName: string | null, picture: string | null, userMetadata: Record<string, unknown> | null, appMetadata: Record<string, unknown> | null, connection: { id: string, name: string, kind: ConnectionKind, syncUserRootAttributes: RootAttributeSync | null, attributes: Array<{ key: string, in: AttributeObject, schema: Record<string, unknown>, view: Array<AttributeRole>, lifecycle: AttributeLifecycle }> }, fieldPolicies: Array<{ field: ProfileField, editable: boolean, reason: MutabilityReason | null, message: string | null }>, attributePolicies: Array<{ key: string, in: AttributeObject, editable: boolean, reason: MutabilityReason | null, message: string | null }>, organizations: Array<{ roles: Array<OrgRole>, joinedAt: string, organization: { id: string, name: string, displayName: string | null } }> } | null, userErrors: Array<{ field: Array<string> | null, code: string, message: string }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ProfileFieldsFragmentDoc = new TypedDocumentString(`
    fragment ProfileFields on User {
  id
  version
  email
  emailVerified
  username
  phoneNumber
  name
  nickname
  givenName
  familyName
  picture
  userMetadata
  appMetadata
  connection {
    id
    name
    kind
    syncUserRootAttributes
    attributes {
      key
      in
      schema
      view
      lifecycle
    }
  }
  fieldPolicies {
    field
    editable
    reason
    message
  }
  attributePolicies {
    key
    in
    editable
    reason
    message
  }
  organizations {
    organization {
      id
      name
      displayName
    }
    roles
    joinedAt
  }
}
    `, {"fragmentName":"ProfileFields"}) as unknown as TypedDocumentString<ProfileFieldsFragment, unknown>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    ...ProfileFields
  }
}
    fragment ProfileFields on User {
  id
  version
  email
  emailVerified
  username
  phoneNumber
  name
  nickname
  givenName
  familyName
  picture
  userMetadata
  appMetadata
  connection {
    id
    name
    kind
    syncUserRootAttributes
    attributes {
      key
      in
      schema
      view
      lifecycle
    }
  }
  fieldPolicies {
    field
    editable
    reason
    message
  }
  attributePolicies {
    key
    in
    editable
    reason
    message
  }
  organizations {
    organization {
      id
      name
      displayName
    }
    roles
    joinedAt
  }
}`, {"hash":"sha256:9a523f02c22c6f28f2a7d6611d01e993717adbfb4ddd38d63c61164ac2a1c1d3"}) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const UpdateProfileDocument = new TypedDocumentString(`
    mutation UpdateProfile($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) {
    user {
      ...ProfileFields
    }
    userErrors {
      field
      code
      message
    }
  }
}
    fragment ProfileFields on User {
  id
  version
  email
  emailVerified
  username
  phoneNumber
  name
  nickname
  givenName
  familyName
  picture
  userMetadata
  appMetadata
  connection {
    id
    name
    kind
    syncUserRootAttributes
    attributes {
      key
      in
      schema
      view
      lifecycle
    }
  }
  fieldPolicies {
    field
    editable
    reason
    message
  }
  attributePolicies {
    key
    in
    editable
    reason
    message
  }
  organizations {
    organization {
      id
      name
      displayName
    }
    roles
    joinedAt
  }
}`, {"hash":"sha256:63a9ae97b3838a8876cf16735710ea2b5c2e133366fd122ddd4afe58c8f89737"}) as unknown as TypedDocumentString<UpdateProfileMutation, UpdateProfileMutationVariables>;