// graphql-shield: deny by default, an explicit rule for every type and field (a test walks the
// schema to prove it). Rules only check; the decisions come from src/domain through ctx.access.
// No rule uses shield's own cache: 'strict' hashes the parent and the arguments (object-hash,
// SHA-1) on every call, dearer than the checks themselves, and what a rule decides from is
// memoised per request already (ctx.access, the loaders).
import { GraphQLError, type GraphQLResolveInfo, type GraphQLSchema, isObjectType } from 'graphql';
import type { IRules } from 'graphql-shield';
import { allow, chain, deny, rule, shield } from 'graphql-shield';
import { AppError, forbidden, unauthenticated } from '../app/errors.js';
import { findUserForWrite } from '../app/lookup.js';
import { assertEditable } from '../app/users.js';
import { hasScope, type ReadAccess, WRITER_VISIBLE_FIELDS } from '../domain/access.js';
import type { Scope } from '../domain/types.js';
import type { GraphQLContext } from './context.js';
import type { UpdateUserInput } from './generated/resolvers-types.js';
import { toProfilePatch } from './inputs.js';

/** Shield wants a GraphQLError for its fallback; ours carries the contract's code. */
const FALLBACK_ERROR = new GraphQLError('You may not run this operation.', {
  extensions: { code: 'FORBIDDEN' },
});

const isAuthenticated = rule('isAuthenticated', { cache: 'no_cache' })(
  (_parent, _args, ctx: GraphQLContext) =>
    ctx.caller !== null || unauthenticated(ctx.authProblem ?? undefined),
);

const scopeRules = new Map<Scope, ReturnType<ReturnType<typeof rule>>>();
const hasScopeRule = (scope: Scope) => {
  let r = scopeRules.get(scope);
  if (!r) {
    r = rule(`hasScope:${scope}`, { cache: 'no_cache' })(
      (_parent, _args, ctx: GraphQLContext) =>
        (ctx.caller !== null && hasScope(ctx.caller, scope)) ||
        forbidden(`This operation needs the ${scope} scope.`),
    );
    scopeRules.set(scope, r);
  }
  return r;
};

const CANNOT_READ_USER = 'You may not read this user.';

/**
 * Every field of a User goes through this: the object reaches a caller only if they may read it.
 * Resolvers already return null for unreadable users; this is the second lock. Memoised per
 * request in ctx.access, so `no_cache` costs one map lookup per field.
 */
const canReadUser = rule('canReadUser', { cache: 'no_cache' })(
  async (parent: { id: string }, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => readLevelAllows(await ctx.access.read(parent), info),
);

/**
 * canReadUser as a field middleware that decides per object, not per field: the read level is
 * decided once per user per request (ctx.access), and every later field of that user passes on a
 * synchronous map lookup, with no promise (shield would wrap each field in an async rule). The
 * same rule, the same answer: FORBIDDEN when the caller may not read the user.
 */
/** The one answer of canReadUser for a decided read level: true, or FORBIDDEN (thrown by the middleware). */
function readLevelAllows(level: ReadAccess, info: { fieldName: string }): true | AppError {
  if (level === 'none') return forbidden(CANNOT_READ_USER);
  // Writing does not grant reading: a writer who may not read sees only what it needs to go on.
  if (level === 'write' && !WRITER_VISIBLE_FIELDS.has(info.fieldName)) {
    return forbidden('You may change this user but not read them (that needs read:users): ask for id and version only.');
  }
  return true;
}

export function canReadUserPerObject(
  resolve: (parent: unknown, args: unknown, ctx: unknown, info: unknown) => unknown,
  parent: { id: string },
  args: unknown,
  ctx: GraphQLContext,
  info: unknown,
): unknown {
  const field = info as { fieldName: string };
  const level = ctx.access.readNow(parent.id);
  if (level !== undefined) {
    const allowed = readLevelAllows(level, field);
    if (allowed !== true) throw allowed;
    return resolve(parent, args, ctx, info);
  }
  return ctx.access.read(parent).then((decided) => {
    const allowed = readLevelAllows(decided, field);
    if (allowed !== true) throw allowed;
    return resolve(parent, args, ctx, info);
  });
}

/** Rules applied by a middleware of their own instead of shield's per-field wrapper (src/graphql/schema.ts). */
export const perObjectRules = new Map<unknown, typeof canReadUserPerObject>([[canReadUser, canReadUserPerObject]]);

/** updateUser, step 1: the user exists and the caller may act on it (otherwise NOT_FOUND, as for a missing user). */
const canActOnUser = rule('canActOnUser', { cache: 'no_cache' })(
  async (_parent, args: { id: string }, ctx: GraphQLContext) => {
    try {
      await findUserForWrite(ctx, args.id, 'update:users');
      return true;
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  },
);

/** updateUser, step 2: every named field is editable for this caller (the same policy fieldPolicies shows). */
const fieldsAreEditable = rule('fieldsAreEditable', { cache: 'no_cache' })(
  async (_parent, args: { id: string; input: UpdateUserInput }, ctx: GraphQLContext) => {
    const user = await ctx.loaders.user.load(args.id);
    if (!user) return forbidden();
    const { expectedVersion: _v, ...profile } = args.input;
    try {
      await assertEditable(ctx, user, toProfilePatch(profile));
      return true;
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  },
);

/** Organization members: tenant administrators, and that organization's ADMINs. */
const canListMembers = rule('canListMembers', { cache: 'no_cache' })(
  (parent: { id: string }, _args, ctx: GraphQLContext) => {
    const caller = ctx.caller;
    if (!caller) return unauthenticated(ctx.authProblem ?? undefined);
    return (
      hasScope(caller, 'read:organizations') ||
      hasScope(caller, 'read:users') ||
      caller.adminOrganizationIds.has(parent.id) ||
      forbidden("Only tenant administrators and the organization's ADMINs list its members.")
    );
  },
);

/** Managing an organization's members: tenant administrators, or that organization's ADMINs. */
const managesOrganization = rule('managesOrganization', { cache: 'no_cache' })(
  (_parent, args: { input: { organization: string } }, ctx: GraphQLContext) => {
    const caller = ctx.caller;
    if (!caller) return unauthenticated(ctx.authProblem ?? undefined);
    return (
      hasScope(caller, 'update:organizations') ||
      caller.adminOrganizationIds.has(args.input.organization) ||
      forbidden("Only tenant administrators and the organization's ADMINs manage its members.")
    );
  },
);

const authenticatedWith = (scope: Scope) => chain(isAuthenticated, hasScopeRule(scope));

export const permissionRules = {
  Query: {
    node: isAuthenticated,
    me: isAuthenticated,
    user: isAuthenticated,
    users: isAuthenticated,
    connection: authenticatedWith('read:connections'),
    connections: authenticatedWith('read:connections'),
    organization: isAuthenticated,
    organizations: isAuthenticated,
    // The operations below decide who may in src/app (self, tenant admin, help desk) and answer
    // null, NOT_FOUND or FORBIDDEN as domain.md says.
    exportUserData: isAuthenticated,
    auditEvents: isAuthenticated,
    // The outbox is the tenant's plumbing: its administrators read it and act on it.
    outboxMessages: authenticatedWith('read:users'),
    loginBlocks: authenticatedWith('read:users'),
    events: authenticatedWith('read:events'),
    webhooks: authenticatedWith('update:webhooks'),
  },
  Mutation: {
    createConnection: authenticatedWith('create:connections'),
    createUser: authenticatedWith('create:users'),
    updateUser: chain(isAuthenticated, canActOnUser, fieldsAreEditable),
    createOrganization: authenticatedWith('create:organizations'),
    addOrganizationMember: authenticatedWith('update:organizations'),
    recordLogin: authenticatedWith('login:users'),
    authenticate: authenticatedWith('login:users'),
    updateOrganization: authenticatedWith('update:organizations'),
    updateOrganizationMember: chain(isAuthenticated, managesOrganization),
    removeOrganizationMember: chain(isAuthenticated, managesOrganization),
    createInvitation: chain(isAuthenticated, managesOrganization),
    acceptInvitation: isAuthenticated,
    createPasswordResetTicket: isAuthenticated,
    createEmailVerificationTicket: isAuthenticated,
    // The ticket is the credential: no token needed.
    resetPassword: allow,
    verifyEmail: allow,
    deleteUser: isAuthenticated,
    deleteMe: isAuthenticated,
    updateConnection: authenticatedWith('update:connections'),
    deleteConnection: authenticatedWith('update:connections'),
    // Each item is judged by updateUser's own checks.
    updateUsers: isAuthenticated,
    importUsers: authenticatedWith('import:users'),
    retryOutboxMessage: authenticatedWith('update:users'),
    discardOutboxMessage: authenticatedWith('update:users'),
    removeLoginBlocks: authenticatedWith('update:users'),
    createWebhook: authenticatedWith('update:webhooks'),
    deleteWebhook: authenticatedWith('update:webhooks'),
    redeliverEvents: authenticatedWith('update:webhooks'),
  },
  User: canReadUser,
  // Reached only through a readable user or with read:connections; options and userCount
  // answer null without read:connections (in their resolvers).
  Connection: allow,
  Identity: allow,
  FieldPolicy: allow,
  AttributePolicy: allow,
  AttributeDeclaration: allow,
  Organization: { '*': allow, members: canListMembers },
  OrganizationMembership: allow,
  UserConnection: allow,
  UserEdge: allow,
  MembershipConnection: allow,
  MembershipEdge: allow,
  PageInfo: allow,
  UserError: allow,
  CreateConnectionPayload: allow,
  CreateUserPayload: allow,
  UpdateUserPayload: allow,
  CreateOrganizationPayload: allow,
  AddOrganizationMemberPayload: allow,
  RecordLoginPayload: allow,
  AuthenticatePayload: allow,
  UpdateOrganizationPayload: allow,
  UpdateOrganizationMemberPayload: allow,
  RemoveOrganizationMemberPayload: allow,
  Invitation: allow,
  CreateInvitationPayload: allow,
  AcceptInvitationPayload: allow,
  CreatePasswordResetTicketPayload: allow,
  ResetPasswordPayload: allow,
  CreateEmailVerificationTicketPayload: allow,
  VerifyEmailPayload: allow,
  DeleteUserPayload: allow,
  AuditEvent: allow,
  AuditEventEdge: allow,
  AuditEventConnection: allow,
  UpdateConnectionPayload: allow,
  DeleteConnectionPayload: allow,
  UpdateUsersResult: allow,
  UpdateUsersPayload: allow,
  ImportError: allow,
  ImportUsersPayload: allow,
  // Reached only through the rules above; `user` goes through the reading rules (canReadUser).
  OutboxMessage: allow,
  RetryOutboxMessagePayload: allow,
  DiscardOutboxMessagePayload: allow,
  LoginBlock: allow,
  RemoveLoginBlocksPayload: allow,
  // Reached only through events (read:events) or the webhook operations (update:webhooks).
  ChangeEvent: allow,
  ChangeEventEdge: allow,
  ChangeEventConnection: allow,
  Webhook: allow,
  WebhookDelivery: allow,
  WebhookFailure: allow,
  CreateWebhookPayload: allow,
  DeleteWebhookPayload: allow,
  RedeliverEventsPayload: allow,
} satisfies IRules;

/** The rule that applies to one field: its own, else its type's ('*' or the type's single rule). */
export function ruleFor(type: string, field: string): unknown {
  const typeRules = (permissionRules as Record<string, unknown>)[type];
  if (typeRules === undefined) return undefined;
  if (typeof typeRules === 'object' && typeRules !== null && typeRules.constructor === Object) {
    const map = typeRules as Record<string, unknown>;
    return map[field] ?? map['*'];
  }
  return typeRules;
}

/** Deny by default, checked at start: a type or field without an explicit rule stops the gateway. */
export function assertRulesCover(schema: GraphQLSchema): void {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.keys(type.getFields())) {
      if (ruleFor(type.name, field) === undefined) missing.push(`${type.name}.${field}`);
    }
  }
  if (missing.length > 0) throw new Error(`No permission rule for ${missing.join(', ')} (src/graphql/permissions.ts).`);
}

export const permissions = shield(permissionRules, {
  fallbackRule: deny,
  allowExternalErrors: true,
  fallbackError: FALLBACK_ERROR,
  debug: false,
});
