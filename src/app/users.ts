// User operations, in the order style.md fixes: load → policy → validate → one transaction →
// forget the loader entry → result. Rules come from src/domain; SQL from the store.
import { hashPassword } from '../auth/passwords.js';
import { type CustomDbScript, ScriptUnavailableError } from '../connectors/custom-db.js';
import { hasScope } from '../domain/access.js';
import { customScriptsName, isCustomDatabase, isImportMode, keysAreUnique } from '../domain/connection.js';
import { checkMetadata, mergeMetadata } from '../domain/metadata.js';
import { toCamel } from '../domain/names.js';
import { type AttributeSettings, attributeSettingsOf, invalidAttributes } from '../domain/attributes.js';
import { attributeDecision, isLegacyUser, refusedAttributes, refusedFields } from '../domain/policy.js';
import { PROFILE_FIELDS, type ProfileField, type ProfilePatch, type UserError } from '../domain/types.js';
import { conflictErrors, sameEmail, validateProfilePatch, versionConflict } from '../domain/validation.js';
import { insertedUserWrite } from '../store/changes.js';
import type { ConnectionRow, NewOutboxMessage, UserChanges, UserRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { fieldNotEditable, notFound, type RefusedField, refusedFieldError, unauthenticated } from './errors.js';
import { findConnection, findUserForWrite } from './lookup.js';
import { newDatabaseUser, profileColumns } from './columns.js';
import { newDatabaseUserKey } from './ids.js';
import { callLegacyScript, legacyIdentifier } from './legacy.js';
import { emailVerificationOnChange } from './tickets.js';
import { concurrentWrites, writeUser } from './writes.js';
import { eventActor, userEventsOf } from './events.js';
import { forgetProfile } from './loaders.js';
import { fail, refusalErrors, type UserResult } from './results.js';


export function namedFields(patch: ProfilePatch): ProfileField[] {
  return PROFILE_FIELDS.filter((f) => patch[f] !== undefined);
}

/** Throws FIELD_NOT_EDITABLE listing every named field the caller may not change. */
export async function assertEditable(ctx: AppContext, user: UserRow, patch: ProfilePatch): Promise<void> {
  const refused = await refusedIn(ctx, user, patch);
  if (refused.length > 0) throw fieldNotEditable(refused);
}

/** Every named field, and every named attribute of the metadata objects, the caller may not change on this user. */
async function refusedIn(ctx: AppContext, user: UserRow, patch: ProfilePatch): Promise<RefusedField[]> {
  const policies = await ctx.access.policies(user);
  const refused: RefusedField[] = refusedFields(policies, namedFields(patch));
  if (patch.user_metadata || patch.app_metadata) {
    refused.push(
      ...refusedAttributes(
        await ctx.access.rolesFor(user),
        policies,
        await ctx.access.attributeSettings(user.connectionId),
        { user_metadata: patch.user_metadata, app_metadata: patch.app_metadata },
        { user_metadata: user.userMetadata, app_metadata: user.appMetadata },
      ),
    );
  }
  return refused;
}

/**
 * A new user's metadata against the connection's declarations: values must match their schemas, and
 * a connection that accepts only declared keys refuses the others (createUser and import records).
 */
export function newUserAttributeErrors(settings: AttributeSettings, patch: ProfilePatch): UserError[] {
  const errors: UserError[] = [];
  const creator = { tenantAdmin: true, helpDesk: false, self: false };
  const open = { editable: true as const, reason: null, message: null };
  for (const object of ['user_metadata', 'app_metadata'] as const) {
    const metadata = patch[object];
    if (!metadata) continue;
    errors.push(...invalidAttributes(settings, object, metadata));
    for (const key of Object.keys(metadata)) {
      const decision = attributeDecision(creator, open, settings, object, key, false, 'create');
      if (!decision.editable) {
        errors.push({ field: [toCamel(object), key], code: 'FIELD_NOT_EDITABLE', message: `${toCamel(object)}.${key}: ${decision.reason}: ${decision.message}` });
      }
    }
  }
  return errors;
}

/** Values that are required by the field's nature (not by its format, which validation.ts checks). */
function requiredValues(patch: ProfilePatch, connection: ConnectionRow): UserError[] {
  const errors: UserError[] = [];
  for (const field of ['email_verified', 'phone_verified', 'blocked', 'password'] as const) {
    if (patch[field] === null) {
      errors.push({ field: [toCamel(field)], code: 'REQUIRED', message: `${toCamel(field)} cannot be null.` });
    }
  }
  if (patch.email === null && connection.kind === 'DATABASE') {
    errors.push({ field: ['email'], code: 'REQUIRED', message: 'Database users must have an email.' });
  }
  if (patch.username === null && connection.options.requires_username === true) {
    errors.push({
      field: ['username'],
      code: 'REQUIRED',
      message: 'This connection requires usernames; username cannot be removed.',
    });
  }
  return errors;
}

export interface UpdateOptions {
  expectedVersion?: number | null;
  /** The operation's name in the audit log. */
  operation?: string;
}

/** updateUser: the whole of it, for one user. Bulk updates call it per item. */

export async function updateUser(
  ctx: AppContext,
  id: string,
  patch: ProfilePatch,
  opts: UpdateOptions = {},
): Promise<UserResult> {
  const user = await findUserForWrite(ctx, id, 'update:users');
  await assertEditable(ctx, user, patch);
  const caller = ctx.caller;
  if (!caller) throw unauthenticated();
  const connection = await ctx.loaders.connection.load(user.connectionId);
  if (!connection) throw notFound('connection', user.connectionId);

  const attributes = await ctx.access.attributeSettings(user.connectionId);
  const invalid = [
    ...requiredValues(patch, connection),
    ...validateProfilePatch(patch),
    ...(patch.user_metadata ? invalidAttributes(attributes, 'user_metadata', patch.user_metadata) : []),
    ...(patch.app_metadata ? invalidAttributes(attributes, 'app_metadata', patch.app_metadata) : []),
  ];
  if (invalid.length > 0) return fail(...invalid);
  const roles = await ctx.access.rolesFor(user);
  const policies = await ctx.access.policies(user);

  const facts = await ctx.access.connectionFacts(user.connectionId);
  const legacy = isLegacyUser(facts, { migrated: user.migrated, invitationBound: false });
  const tenantAdmin = hasScope(caller, 'update:users');
  const actingOrganizationId = await actingOrganization(ctx, user.id);
  const plan = (current: UserRow): { changes: UserChanges; messages: NewOutboxMessage[] } | { errors: UserError[] } => {
    const changes = profileColumns(patch);
    const messages: NewOutboxMessage[] = [];
    // A block records who set it: the help desk lifts only its own organization's blocks.
    if (patch.blocked !== undefined && patch.blocked !== current.blocked) {
      changes.blockedByOrganizationId = patch.blocked ? actingOrganizationId : null;
    }
    // Anyone but a tenant administrator changing an email: the old address hears of it (no ticket).
    if (patch.email !== undefined && current.email && !sameEmail(patch.email, current.email) && !tenantAdmin) {
      messages.push(emailChangedNotice(current, caller.sub === current.id ? 'you' : `your organization's help desk (${caller.sub})`));
    }
    // A changed email is unverified unless the same update (a tenant admin's) says otherwise.
    if (patch.email !== undefined && patch.email !== current.email && patch.email_verified === undefined) {
      changes.emailVerified = false;
    }
    // Likewise a changed phone number (only a tenant admin may set phoneVerified at all).
    if (patch.phone_number !== undefined && patch.phone_number !== current.phoneNumber && patch.phone_verified === undefined) {
      changes.phoneVerified = false;
    }
    const errors: UserError[] = [];
    // Judged again on the row being written: a write-once attribute set by a concurrent write is no longer absent.
    const raced = refusedAttributes(
      roles,
      policies,
      attributes,
      { user_metadata: patch.user_metadata, app_metadata: patch.app_metadata },
      { user_metadata: current.userMetadata, app_metadata: current.appMetadata },
    );
    if (raced.length > 0) return { errors: raced.map(refusedFieldError) };
    if (patch.user_metadata !== undefined) {
      changes.userMetadata = mergeMetadata(current.userMetadata, patch.user_metadata);
      errors.push(...checkMetadata('user_metadata', changes.userMetadata));
    }
    if (patch.app_metadata !== undefined) {
      changes.appMetadata = mergeMetadata(current.appMetadata, patch.app_metadata);
      errors.push(...checkMetadata('app_metadata', changes.appMetadata));
    }
    return errors.length > 0 ? { errors } : { changes, messages };
  };

  let scriptCalls: LegacyCall[] = [];
  if (legacy) {
    // The legacy database owns these fields and its script runs first: so everything that could
    // still refuse the update is checked before it, against the row the script call is based on.
    if (opts.expectedVersion != null && opts.expectedVersion !== user.version) {
      return fail(versionConflict(opts.expectedVersion, user.version));
    }
    const dry = plan(user);
    if ('errors' in dry) return fail(...dry.errors);
    const clash = conflictErrors(
      await ctx.store.users.findConflicts(user.connectionId, { email: dry.changes.email, username: dry.changes.username }, user.id),
    );
    if (clash.length > 0) return fail(...clash);
    scriptCalls = legacyCalls(user, patch, dry.changes);
    if (scriptCalls.length > 1) {
      return fail({
        field: null,
        code: 'UPDATE_SEPARATELY',
        message:
          "A legacy custom-database user's email and password are changed by two separate scripts (two calls cannot be one transaction); change them in two updates.",
      });
    }
  }
  const passwordHash = patch.password !== undefined && !legacy ? await hashPassword(patch.password) : undefined;
  for (const call of scriptCalls) {
    const scriptError = await callLegacyScript(ctx, user, call.run);
    if (scriptError) return fail(scriptError);
  }

  const result = await writeUser(
    ctx.store,
    id,
    user,
    (current) => {
      // The policy was decided on the row read first: a block, an unblock or a migration since then
      // changes what this caller may change, so this write is not decided again on it.
      if (current.blocked !== user.blocked || current.blockedByOrganizationId !== user.blockedByOrganizationId || current.migrated !== user.migrated) {
        return { errors: [concurrentWrites()] };
      }
      const planned = plan(current);
      if ('errors' in planned) return planned;
      if (passwordHash !== undefined) planned.changes.passwordHash = passwordHash;
      if (scriptCalls.some((c) => c.field === 'password')) planned.changes.passwordSetInCustomDatabase = true;
      // A new, unverified address gets a verification ticket through the outbox, in this transaction.
      const verification = emailVerificationOnChange(ctx, current, planned.changes, caller.sub);
      if (verification) return { ...planned, messages: [...planned.messages, verification.message], tickets: [verification.ticket] };
      return planned;
    },
    {
      actorId: caller.sub,
      operation: opts.operation ?? 'updateUser',
      organizationId: actingOrganizationId,
    },
    // After a script call the cache must follow the row the call was based on: decided again
    // only while its version stays that one.
    {
      expectedVersion: legacy && scriptCalls.length > 0 ? user.version : opts.expectedVersion,
      uniqueKeys: keysAreUnique(connection),
      events: userEventsOf(eventActor(ctx, actingOrganizationId), attributes),
    },
  );
  forgetProfile(ctx.loaders, id);
  if (!result.ok) {
    if ('notFound' in result) throw notFound('user', id);
    return fail(...refusalErrors(result, id));
  }
  ctx.loaders.user.prime(id, result.user);
  if (hasScope(caller, 'update:users')) ctx.access.grantRead(id);
  return { user: result.user, userErrors: [] };
}

/** To the old address, when someone other than a tenant administrator changed it: who and when, never a ticket. */
function emailChangedNotice(user: UserRow, who: string): NewOutboxMessage {
  return {
    userId: user.id,
    to: user.email as string,
    subject: 'The email address of your account was changed',
    body: [
      `The email address of your account was changed from this address by ${who} at ${new Date().toISOString()}.`,
      'If you did not expect this, contact your organization or the service at once: this address no longer receives messages for the account.',
    ].join('\n'),
  };
}

/** For the audit log: the organization through which a help-desk caller acts, if that is how. */
async function actingOrganization(ctx: AppContext, userId: string): Promise<string | null> {
  const caller = ctx.caller;
  if (!caller || hasScope(caller, 'update:users') || caller.sub === userId) return null;
  const orgs = await ctx.access.organizationIdsOf(userId);
  return orgs.find((o) => caller.adminOrganizationIds.has(o)) ?? null;
}

interface LegacyCall {
  field: 'password' | 'email';
  run: (script: CustomDbScript) => Promise<unknown>;
}

/** The script calls an update of a legacy user needs: none for a value that does not change. */
function legacyCalls(user: UserRow, patch: ProfilePatch, changes: UserChanges): LegacyCall[] {
  const calls: LegacyCall[] = [];
  const identifier = legacyIdentifier(user);
  if (patch.password !== undefined) {
    const password = patch.password;
    calls.push({ field: 'password', run: async (s) => s.changePassword?.(identifier, password) });
  }
  const email = changes.email ?? user.email;
  const verified = changes.emailVerified ?? user.emailVerified;
  if (email && (email !== user.email || verified !== user.emailVerified)) {
    calls.push({ field: 'email', run: async (s) => s.changeEmail?.(identifier, email, verified) });
  }
  return calls;
}

export interface NewUserInput extends ProfilePatch {
  connection: string;
}

/** createUser: own store (and import mode, stored as migrated), or a legacy database's `create` script. */
export async function createUser(ctx: AppContext, input: NewUserInput): Promise<UserResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const connection = await findConnection(ctx, input.connection);
  if (!connection) throw notFound('connection', input.connection);
  const { connection: _ref, ...patch } = input;
  if (connection.kind !== 'DATABASE') {
    return fail({
      field: ['connection'],
      code: 'NOT_SUPPORTED_BY_CONNECTION',
      message: `${connection.kind.toLowerCase()} users are created by their logins, not by createUser.`,
    });
  }
  const legacyCreate = isCustomDatabase(connection) && !isImportMode(connection);
  const scriptName = customScriptsName(connection);
  if (legacyCreate && !(await ctx.scripts.capabilities(scriptName)).create) {
    return fail({
      field: ['connection'],
      code: 'NOT_SUPPORTED_BY_CONNECTION',
      message: `The custom database of connection ${connection.name} has no create script.`,
    });
  }
  const errors = [...requiredValues(patch, connection), ...validateProfilePatch(patch)];
  if (!patch.email)
    errors.push({ field: ['email'], code: 'REQUIRED', message: 'Database users need an email.' });
  if (patch.password === undefined) {
    errors.push({ field: ['password'], code: 'REQUIRED', message: 'Database users need a password.' });
  }
  const requiresUsername = connection.options.requires_username === true;
  if (requiresUsername && !patch.username) {
    errors.push({ field: ['username'], code: 'REQUIRED', message: 'This connection requires a username.' });
  }
  if (!requiresUsername && patch.username) {
    errors.push({
      field: ['username'],
      code: 'NOT_SUPPORTED_BY_CONNECTION',
      message: `Connection ${connection.name} does not use usernames (requires_username is off).`,
    });
  }
  if (patch.user_metadata) errors.push(...checkMetadata('user_metadata', patch.user_metadata));
  if (patch.app_metadata) errors.push(...checkMetadata('app_metadata', patch.app_metadata));
  errors.push(...newUserAttributeErrors(attributeSettingsOf(connection.options), patch));
  if (errors.length > 0) return fail(...errors);

  let key = newDatabaseUserKey();
  let profile: ProfilePatch = patch;
  let passwordHash: string | null = await hashPassword(patch.password as string);
  if (legacyCreate && scriptName) {
    // Refuse a clash before the legacy database stores anything.
    const clash = conflictErrors(await ctx.store.users.findConflicts(connection.id, patch));
    if (clash.length > 0) return fail(...clash);
    // The legacy database stores the user (and its password); the gateway caches its answer.
    try {
      const created = await ctx.scripts.call(scriptName, async (s) => s.create?.({ ...patch }), connection.name);
      if (!created || created.user_id === undefined || created.user_id === null) {
        return fail({
          field: null,
          code: 'CONNECTION_UNAVAILABLE',
          message: 'The create script returned no user_id.',
        });
      }
      key = String(created.user_id);
      profile = { ...patch, ...pickProfile(created) };
      passwordHash = null;
    } catch (err) {
      if (!(err instanceof ScriptUnavailableError)) throw err;
      return fail({
        field: null,
        code: 'CONNECTION_UNAVAILABLE',
        message: `The custom database of connection ${connection.name} did not create the user: nothing was stored.`,
      });
    }
  }

  const id = `auth0|${key}`;
  const user = newDatabaseUser(connection.id, key, profile, { migrated: isImportMode(connection), passwordHash });
  const events = userEventsOf(eventActor(ctx), attributeSettingsOf(connection.options));
  const createdEvents = events.of(insertedUserWrite(user));
  const result = await ctx.store.users.create(
    user,
    { actorId: caller.sub, operation: 'createUser', fields: namedFields(patch) },
    { uniqueKeys: keysAreUnique(connection), events: createdEvents },
  );
  if (!result.ok) return fail(...refusalErrors(result, id));
  if (createdEvents.length > 0) events.notify();
  ctx.access.grantRead(id);
  ctx.loaders.user.prime(id, result.user);
  return { user: result.user, userErrors: [] };
}

/** The profile fields of a script's answer, in the domain's names. */
export function pickProfile(p: Record<string, unknown>): ProfilePatch {
  const out: ProfilePatch = {};
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  const bool = (k: string) => (typeof p[k] === 'boolean' ? (p[k] as boolean) : undefined);
  for (const k of [
    'email',
    'username',
    'phone_number',
    'name',
    'nickname',
    'given_name',
    'family_name',
    'picture',
  ] as const) {
    const v = str(k);
    if (v !== undefined) out[k] = v;
  }
  for (const k of ['email_verified', 'phone_verified'] as const) {
    const v = bool(k);
    if (v !== undefined) out[k] = v;
  }
  for (const k of ['user_metadata', 'app_metadata'] as const) {
    const v = p[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = v as Record<string, unknown>;
  }
  return out;
}
