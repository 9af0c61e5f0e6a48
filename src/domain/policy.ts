// The mutability policy: who may change which profile field of a user, and why not.
// This is the only place the rule is decided (shared/domain.md, "Who may change what"); the
// fieldPolicies resolver, the updateUser check, bulk updates and imports all call fieldPolicies.
// The rules decide reasons; messages.ts words each refusal for the caller who asks.
// Pure: no graphql, no storage, no I/O.

import { attributeRoleMessage, type Audience, audienceOf, MESSAGES, refusalMessage } from './messages.js';
import {
  type CallerRoles,
  type ConnectionFacts,
  type FieldDecision,
  type FieldPolicies,
  type Metadata,
  type MutabilityReason,
  PROFILE_FIELDS,
  type ProfileField,
  type RootAttribute,
  type UserFacts,
} from './types.js';
import { CAMEL_NAMES } from './names.js';
import { ATTRIBUTE_OBJECTS, type AttributeObject, type AttributeSettings, declarationOf } from './attributes.js';

/** The GraphQL (camelCase) name of each field; messages use it because clients show them. */
export const FIELD_LABELS = CAMEL_NAMES;

/** A custom-database user the gateway has not migrated: the customer's legacy database owns it. */
export function isLegacyUser(connection: ConnectionFacts, user: UserFacts): boolean {
  return connection.kind === 'DATABASE' && connection.customDatabase && !user.migrated;
}

/**
 * Every field's decision for this caller on this user, each refusal worded for `audience`: by
 * default the caller's own (their most privileged role, whose refusal is the one reported).
 */
export function fieldPolicies(
  caller: CallerRoles,
  connection: ConnectionFacts,
  user: UserFacts,
  audience: Audience = audienceOf(caller),
): FieldPolicies {
  const tenantAdmin = tenantAdminPolicies(connection, user);
  const perRole: FieldPolicies[] = [];
  // Most privileged first: when no role may edit a field, the first one's reason is the answer.
  if (caller.tenantAdmin) perRole.push(tenantAdmin);
  if (caller.helpDesk) perRole.push(delegatedPolicies('helpDesk', tenantAdmin, user));
  if (caller.self) perRole.push(delegatedPolicies('self', tenantAdmin, user));

  const decide = (field: ProfileField): FieldDecision =>
    perRole.length === 0 ? refuse('NOT_AUTHORIZED') : mostPermissive(perRole.map((policies) => policies[field]));
  return mapFields((field) => {
    const decision = decide(field);
    return decision.editable
      ? decision
      : { ...decision, message: refusalMessage(decision.reason, audience, field, connection, user) };
  });
}

/** The refused ones among `fields`, in PROFILE_FIELDS order (each at most once). */
export function refusedFields(
  policies: FieldPolicies,
  fields: Iterable<ProfileField>,
): Array<{ field: ProfileField; reason: MutabilityReason; message: string }> {
  const named = new Set(fields);
  const refused: Array<{ field: ProfileField; reason: MutabilityReason; message: string }> = [];
  for (const field of PROFILE_FIELDS) {
    const decision = policies[field];
    if (named.has(field) && !decision.editable) {
      refused.push({ field, reason: decision.reason, message: decision.message });
    }
  }
  return refused;
}

// ---------------------------------------------------------------------------------------------
// Decisions

// A fresh object each time, so a caller that mutates one answer cannot change another.
function editable(): FieldDecision {
  return { editable: true, reason: null, message: null };
}

// The message is written last, for the audience, by fieldPolicies (messages.ts).
function refuse(reason: MutabilityReason): FieldDecision {
  return { editable: false, reason, message: '' };
}

/** Editable if any role may edit; otherwise the most privileged role's refusal. */
function mostPermissive(decisions: FieldDecision[]): FieldDecision {
  return decisions.find((decision) => decision.editable) ?? decisions[0]!;
}

// The one cast in this module: Object.fromEntries over PROFILE_FIELDS yields every key.
function mapFields(decide: (field: ProfileField) => FieldDecision): FieldPolicies {
  return Object.fromEntries(PROFILE_FIELDS.map((field) => [field, decide(field)])) as FieldPolicies;
}

function rootAttributes(
  decide: (field: RootAttribute) => FieldDecision,
): Record<RootAttribute, FieldDecision> {
  return {
    name: decide('name'),
    nickname: decide('nickname'),
    given_name: decide('given_name'),
    family_name: decide('family_name'),
    picture: decide('picture'),
  };
}

// Metadata and blocked are the gateway's own for every kind of user: no login ever writes them.
function gatewayOwned(): Pick<FieldPolicies, 'user_metadata' | 'app_metadata' | 'blocked'> {
  return { user_metadata: editable(), app_metadata: editable(), blocked: editable() };
}

// ---------------------------------------------------------------------------------------------
// The tenant administrator's answer: the matrix in domain.md, one function per row.

function tenantAdminPolicies(connection: ConnectionFacts, user: UserFacts): FieldPolicies {
  switch (connection.kind) {
    case 'DATABASE':
      return isLegacyUser(connection, user) ? legacyUser(connection) : ownStoreUser(connection);
    case 'SOCIAL':
    case 'ENTERPRISE':
      return identityProviderUser(connection);
    case 'PASSWORDLESS':
      return passwordlessUser(connection);
  }
}

// Own store, or a custom-database user already migrated into it.
function ownStoreUser(connection: ConnectionFacts): FieldPolicies {
  return {
    email: editable(),
    email_verified: editable(),
    username: connection.requiresUsername ? editable() : refuse('NOT_SUPPORTED_BY_CONNECTION'),
    phone_number: editable(),
    phone_verified: editable(),
    password: editable(),
    ...rootAttributes(() => editable()),
    ...gatewayOwned(),
  } satisfies FieldPolicies;
}

// The legacy database owns the identity fields; the gateway can change them only through a script.
function legacyUser(connection: ConnectionFacts): FieldPolicies {
  const viaScript = (script: 'changeEmail' | 'changePassword') =>
    connection.scripts[script] ? editable() : refuse('MANAGED_IN_CUSTOM_DATABASE');
  return {
    email: viaScript('changeEmail'),
    email_verified: viaScript('changeEmail'),
    username: refuse('MANAGED_IN_CUSTOM_DATABASE'),
    phone_number: refuse('MANAGED_IN_CUSTOM_DATABASE'),
    phone_verified: refuse('MANAGED_IN_CUSTOM_DATABASE'),
    password: viaScript('changePassword'),
    ...rootAttributes(() => syncedRootAttribute(connection)),
    ...gatewayOwned(),
  } satisfies FieldPolicies;
}

// Social and enterprise: the upstream identity provider owns email; no password or phone here.
function identityProviderUser(connection: ConnectionFacts): FieldPolicies {
  return {
    email: refuse('SYNCED_FROM_IDENTITY_PROVIDER'),
    email_verified: refuse('SYNCED_FROM_IDENTITY_PROVIDER'),
    username: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    phone_number: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    phone_verified: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    password: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    ...rootAttributes(() => syncedRootAttribute(connection)),
    ...gatewayOwned(),
  } satisfies FieldPolicies;
}

// The identifier (email or phone number) is how the user signs in, so it cannot change; its
// verified flag can. The gateway is the identity provider: the sync setting does not apply.
// A strategy other than `email` or `sms` is not in the spec; we refuse every identity field
// rather than guess which identifier it uses, and keep the gateway-owned fields editable.
function passwordlessUser(connection: ConnectionFacts): FieldPolicies {
  const byEmail = connection.strategy === 'email';
  const bySms = connection.strategy === 'sms';
  const when = (allowed: boolean) => (allowed ? editable() : refuse('NOT_SUPPORTED_BY_CONNECTION'));
  return {
    email: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    email_verified: when(byEmail),
    username: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    phone_number: when(bySms),
    phone_verified: when(bySms),
    password: refuse('NOT_SUPPORTED_BY_CONNECTION'),
    ...rootAttributes(() => editable()),
    ...gatewayOwned(),
  } satisfies FieldPolicies;
}

function syncedRootAttribute(connection: ConnectionFacts): FieldDecision {
  return connection.sync === 'on_each_login' ? refuse('SYNCED_FROM_IDENTITY_PROVIDER') : editable();
}

// ---------------------------------------------------------------------------------------------
// The help desk (OA) and the user (SELF): they start from the tenant administrator's answer.

type DelegatedRole = 'helpDesk' | 'self';
type DelegatedRule = (role: DelegatedRole, user: UserFacts, field: ProfileField) => FieldDecision;

const asTenantAdmin: DelegatedRule = () => editable();
const tenantAdminOnly: DelegatedRule = () => refuse('REQUIRES_TENANT_ADMIN');

// Applied only where the tenant administrator may edit; total over ProfileField, so a new field
// fails to compile until someone decides what the help desk and the user may do with it.
// A member who also belongs to another organization is shared: one organization's help desk may
// not take over their account (email) or lock the other organization out (blocked). SELF is exempt.
const sharedMember = (role: DelegatedRole, user: UserFacts): FieldDecision | null =>
  role === 'helpDesk' && user.memberOfAnotherOrganization === true ? refuse('MEMBER_OF_ANOTHER_ORGANIZATION') : null;

const DELEGATED_RULES = {
  email: (role, user, field) =>
    user.invitationBound
      ? refuse('INVITATION_BOUND_EMAIL')
      : (sharedMember(role, user) ?? asTenantAdmin(role, user, field)),
  email_verified: tenantAdminOnly,
  username: asTenantAdmin,
  phone_number: asTenantAdmin,
  phone_verified: tenantAdminOnly,
  password: () => refuse('USE_PASSWORD_RESET'),
  name: asTenantAdmin,
  nickname: asTenantAdmin,
  given_name: asTenantAdmin,
  family_name: asTenantAdmin,
  picture: asTenantAdmin,
  user_metadata: asTenantAdmin,
  app_metadata: tenantAdminOnly,
  // The help desk blocks and unblocks its organization's members, but lifts only a block that a
  // help desk of its organization set (another organization's block: REQUIRES_TENANT_ADMIN, whose
  // message says so from user.blockedBy); users may not unblock themselves.
  blocked: (role, user, field) => {
    if (role !== 'helpDesk') return tenantAdminOnly(role, user, field);
    const shared = sharedMember(role, user);
    if (shared) return shared;
    if (user.blockedBy === 'tenant_admin') return refuse('BLOCKED_BY_TENANT_ADMIN');
    if (user.blockedBy === 'another_help_desk') return refuse('REQUIRES_TENANT_ADMIN');
    return asTenantAdmin(role, user, field);
  },
} satisfies Record<ProfileField, DelegatedRule>;

function delegatedPolicies(role: DelegatedRole, tenantAdmin: FieldPolicies, user: UserFacts): FieldPolicies {
  // A field the tenant administrator cannot change is out of reach for everyone, for the same reason.
  return mapFields((field) =>
    tenantAdmin[field].editable ? DELEGATED_RULES[field](role, user, field) : tenantAdmin[field],
  );
}

// ---------------------------------------------------------------------------------------------
// Declared attributes: the same policy, one level down. A key of user_metadata or app_metadata is
// judged after its object: what may not change the object may not change any key of it, for the
// object's own reason (app_metadata is never the user's, whatever a declaration says). Then the
// declaration's edit roles (most permissive role wins) and its lifecycle; keys nobody declared
// follow the connection's undeclared-attribute rule.

/** When a write happens: creating the user (createUser, import, first login) or changing it. */
export type AttributePhase = 'create' | 'update';

export function attributeDecision(
  caller: CallerRoles,
  objectPolicy: FieldDecision,
  settings: AttributeSettings,
  object: AttributeObject,
  key: string,
  present: boolean,
  phase: AttributePhase = 'update',
  audience: Audience = audienceOf(caller),
): FieldDecision {
  if (!objectPolicy.editable) return objectPolicy;
  const refuseKey = (reason: 'CREATE_ONLY' | 'WRITE_ONCE' | 'UNDECLARED_ATTRIBUTE'): FieldDecision => ({
    editable: false,
    reason,
    message: MESSAGES[reason][audience](object, NO_CONNECTION, { key }),
  });
  const declaration = declarationOf(settings, object, key);
  if (!declaration) {
    if (settings.undeclared === 'REJECT') return refuseKey('UNDECLARED_ATTRIBUTE');
    if (settings.undeclared === 'ADMIN_ONLY' && !caller.tenantAdmin) return refuseKey('UNDECLARED_ATTRIBUTE');
    return editable();
  }
  // A user being created gets whatever values its creator (createUser, an import, the first login) gives.
  if (phase === 'create') return editable();
  const mayEdit =
    (caller.tenantAdmin && declaration.edit.includes('TENANT_ADMIN')) ||
    (caller.helpDesk && declaration.edit.includes('HELP_DESK')) ||
    (caller.self && declaration.edit.includes('SELF'));
  if (!mayEdit) {
    const reason = !caller.tenantAdmin && declaration.edit.includes('TENANT_ADMIN') ? 'REQUIRES_TENANT_ADMIN' : 'NOT_AUTHORIZED';
    return { editable: false, reason, message: attributeRoleMessage(reason, audience, key, rolesText(declaration.edit)) };
  }
  if (phase === 'update' && declaration.lifecycle === 'CREATE_ONLY') return refuseKey('CREATE_ONLY');
  if (declaration.lifecycle === 'WRITE_ONCE' && present) return refuseKey('WRITE_ONCE');
  return editable();
}

// The attribute messages name the key, never the connection.
const NO_CONNECTION = {} as ConnectionFacts;

function rolesText(roles: readonly string[]): string {
  if (roles.length === 0) return 'nobody';
  const words: Record<string, string> = { TENANT_ADMIN: 'a tenant administrator', HELP_DESK: 'the help desk', SELF: 'the user' };
  return roles.map((r) => words[r] ?? r).join(' or ');
}

/** One decision per declared key, for `User.attributePolicies`. */
export function attributePolicies(
  caller: CallerRoles,
  policies: FieldPolicies,
  settings: AttributeSettings,
  metadata: Record<AttributeObject, Metadata>,
): Array<FieldDecision & { key: string; in: AttributeObject }> {
  return settings.attributes.map((d) => ({
    key: d.key,
    in: d.in,
    ...attributeDecision(caller, policies[d.in], settings, d.in, d.key, Object.hasOwn(metadata[d.in], d.key)),
  }));
}

/** The refused keys of a metadata write, each with its reason. */
export function refusedAttributes(
  caller: CallerRoles,
  policies: FieldPolicies,
  settings: AttributeSettings,
  writes: Partial<Record<AttributeObject, Metadata | null>>,
  current: Record<AttributeObject, Metadata>,
  phase: AttributePhase = 'update',
): Array<{ field: AttributeObject; key: string; reason: MutabilityReason; message: string }> {
  const refused: Array<{ field: AttributeObject; key: string; reason: MutabilityReason; message: string }> = [];
  for (const object of ATTRIBUTE_OBJECTS) {
    const patch = writes[object];
    if (!patch) continue;
    // The object's own refusal is reported by refusedFields; here only what the keys add.
    if (!policies[object].editable) continue;
    for (const key of Object.keys(patch)) {
      const decision = attributeDecision(caller, policies[object], settings, object, key, Object.hasOwn(current[object], key), phase);
      if (!decision.editable) refused.push({ field: object, key, reason: decision.reason, message: decision.message });
    }
  }
  return refused;
}
