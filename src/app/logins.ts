// Logins: the only thing that refreshes the profile cache from upstream (domain.md, "The profile
// cache and logins"). recordLogin for identity providers; authenticate for database connections:
// the own store, a legacy custom database through its script, and lazy migration (import mode).
import { attributeSettingsOf } from '../domain/attributes.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { ScriptUnavailableError } from '../connectors/custom-db.js';
import { customScriptsName, isCustomDatabase, isImportMode, keysAreUnique, rootAttributeSync } from '../domain/connection.js';
import {
  type LoginSource,
  loginProfileChanges,
  type UpstreamProfile,
  upstreamUserId,
  userIdFor,
  wellFormedProfile,
} from '../domain/login-sync.js';
import { insertedUserWrite } from '../store/changes.js';
import type { ConnectionRow, LoginBookkeeping, NewUser, UserChanges, UserRow } from '../store/types.js';
import { profileColumns } from './columns.js';
import type { AppContext } from './context.js';
import { notFound, unauthenticated } from './errors.js';
import { eventActor, userEventsOf } from './events.js';
import { forgetProfile, forgetUser } from './loaders.js';
import { findConnection } from './lookup.js';
import { fail, refusalErrors, userError, type UserResult } from './results.js';
import { concurrentWrites, writeUser } from './writes.js';

const WRONG_CREDENTIALS = () => fail(userError('WRONG_CREDENTIALS', 'Wrong email, username or password.'));
const USER_BLOCKED = () => fail(userError('USER_BLOCKED', 'The user is blocked.'));
const TOO_MANY_ATTEMPTS = (until: Date) =>
  fail(
    userError(
      'TOO_MANY_ATTEMPTS',
      `Too many failed logins for this identifier from this address: logins are refused until ${until.toISOString()} (or until a tenant administrator lifts the block).`,
    ),
  );

/** An address refused for one identifier, and until when. */
export interface LoginBlock {
  ip: string;
  until: Date;
}

/** Consecutive failed logins per (connection, identifier, ip) and the blocks they lead to (src/guard). */
export interface LoginAttempts {
  blockedUntil(connectionId: string, identifier: string, ip: string): Promise<Date | null>;
  /** Counts a failure; the block it starts, when it is the last one allowed. */
  recordFailure(connectionId: string, identifier: string, ip: string): Promise<LoginBlock | null>;
  recordSuccess(connectionId: string, identifier: string, ip: string): Promise<void>;
  list(connectionId: string, identifier: string): Promise<LoginBlock[]>;
  /** Lifts every block of the identifier; how many there were. */
  remove(connectionId: string, identifier: string): Promise<number>;
}
const unavailable = (connection: ConnectionRow) =>
  fail(
    userError(
      'CONNECTION_UNAVAILABLE',
      `The custom database of connection ${connection.name} did not answer; the cached profile is unchanged.`,
    ),
  );

/** Verifying against this when no user matches keeps a miss as slow as a wrong password. */
let dummyHash: Promise<string> | null = null;

function bookkeeping(current: { loginsCount: number } | null, ip: string | null | undefined): LoginBookkeeping {
  const now = new Date();
  return {
    lastLogin: now,
    profileSyncedAt: now,
    loginsCount: (current?.loginsCount ?? 0) + 1,
    ...(ip ? { lastIp: ip } : {}),
  };
}

interface LoginWrite {
  connection: ConnectionRow;
  source: LoginSource;
  upstreamId: string;
  profile: UpstreamProfile;
  ip?: string | null;
  /** The cached user, if any. */
  existing: UserRow | null;
  /** Extra columns (migration: migrated + password hash). */
  extra?: UserChanges;
  operation: string;
}

/** Creates or refreshes the cached user, in one transaction, as the sync setting says. */
async function writeLogin(ctx: AppContext, w: LoginWrite): Promise<UserResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated();
  const sync = rootAttributeSync(w.connection) ?? 'on_first_login';
  const audit = { actorId: caller.sub, operation: w.operation };
  const isSocial = w.connection.kind === 'SOCIAL';
  const provider = w.connection.kind === 'DATABASE' ? 'auth0' : w.connection.strategy;

  if (!w.existing) {
    const changes = profileColumns(loginProfileChanges(w.source, sync, true, w.profile));
    const id = userIdFor(w.connection, w.upstreamId);
    const user: NewUser = {
      id,
      connectionId: w.connection.id,
      ...changes,
      ...bookkeeping(null, w.ip),
      ...w.extra,
      identity: { provider, upstreamUserId: w.upstreamId, isSocial, profileData: w.profile },
    };
    const events = userEventsOf(eventActor(ctx), attributeSettingsOf(w.connection.options));
    const createdEvents = events.of(insertedUserWrite(user));
    const result = await ctx.store.users.create(user, audit, {
      uniqueKeys: keysAreUnique(w.connection),
      releaseFromLegacyUsers: w.source === 'custom_database',
      events: createdEvents,
    });
    if (result.ok) {
      if (createdEvents.length > 0) events.notify();
      ctx.access.grantRead(id, 'full');
      return { user: result.user, userErrors: [] };
    }
    // Two first logins at once: the other one created the user; this one is a later login.
    const raced = await ctx.store.users.findByIdentity(w.connection.id, w.upstreamId);
    if (!raced) return fail(...refusalErrors(result, id));
    return writeLogin(ctx, { ...w, existing: raced });
  }

  const id = w.existing.id;
  const result = await writeUser(
    ctx.store,
    id,
    w.existing,
    (current) => {
      if (current.blocked) return { errors: USER_BLOCKED().userErrors };
      // Migrated by a concurrent login since the script answered: this login must not overwrite
      // what the user has changed here since; tried again, it is checked against the gateway's store.
      if (w.source === 'custom_database' && current.migrated && !w.existing?.migrated) return { errors: [concurrentWrites()] };
      return {
        changes: { ...profileColumns(loginProfileChanges(w.source, sync, false, w.profile)), ...w.extra },
        bookkeeping: bookkeeping(current, w.ip),
      };
    },
    audit,
    { uniqueKeys: keysAreUnique(w.connection), identityProfileData: w.profile, releaseFromLegacyUsers: w.source === 'custom_database', events: userEventsOf(eventActor(ctx), attributeSettingsOf(w.connection.options)) },
  );
  forgetUser(ctx.loaders, id);
  if (!result.ok) {
    if ('notFound' in result) return writeLogin(ctx, { ...w, existing: null });
    return fail(...refusalErrors(result, id));
  }
  ctx.access.grantRead(id, 'full');
  return { user: result.user, userErrors: [] };
}

/** recordLogin: a completed social, enterprise or passwordless login reported by the login server. */
export async function recordLogin(
  ctx: AppContext,
  input: { connection: string; profile: UpstreamProfile; ip?: string | null },
): Promise<UserResult> {
  const connection = await findConnection(ctx, input.connection);
  if (!connection) throw notFound('connection', input.connection);
  if (connection.kind === 'DATABASE') {
    return fail(
      userError(
        'NOT_SUPPORTED_BY_CONNECTION',
        'Database connections log in with authenticate (identifier and password).',
        ['connection'],
      ),
    );
  }
  const profile = wellFormedProfile(input.profile);
  const upstreamId = upstreamUserId(profile);
  if (!upstreamId) return fail(userError('INVALID_PROFILE', 'The profile needs a user_id (a non-empty string).', ['profile', 'user_id']));
  const existing = await ctx.store.users.findByIdentity(connection.id, upstreamId);
  if (existing?.blocked) return USER_BLOCKED();
  return writeLogin(ctx, {
    connection,
    source: connection.kind === 'PASSWORDLESS' ? 'passwordless' : 'identity_provider',
    upstreamId,
    profile,
    ip: input.ip,
    existing,
    operation: 'recordLogin',
  });
}

/** authenticate: a username/password login on a DATABASE connection. */
export async function authenticate(
  ctx: AppContext,
  input: { connection: string; identifier: string; password: string; ip?: string | null },
): Promise<UserResult> {
  const connection = await findConnection(ctx, input.connection);
  if (!connection) throw notFound('connection', input.connection);
  if (connection.kind !== 'DATABASE') {
    return fail(
      userError('NOT_SUPPORTED_BY_CONNECTION', `${connection.kind.toLowerCase()} logins are reported with recordLogin.`, [
        'connection',
      ]),
    );
  }
  // Brute-force protection: a blocked (identifier, ip) is refused before anything is verified or
  // sent to a legacy script.
  const attempts = ctx.loginAttempts;
  const ip = input.ip ?? '';
  // Keyed by the connection's name (unique, and the same in every instance's view).
  const until = attempts ? await attempts.blockedUntil(connection.name, input.identifier, ip) : null;
  if (until) return TOO_MANY_ATTEMPTS(until);
  const cached = input.identifier ? await ctx.store.users.findByIdentifier(connection.id, input.identifier) : null;
  // The own store, and migrated users: the gateway verifies; a custom database is never asked again.
  const result =
    !isCustomDatabase(connection) || cached?.migrated
      ? await authenticateLocally(ctx, cached, input)
      : await authenticateWithScript(ctx, connection, input);
  if (!attempts) return result;
  if (result.user) {
    await attempts.recordSuccess(connection.name, input.identifier, ip);
  } else if (result.userErrors.some((e) => e.code === 'WRONG_CREDENTIALS')) {
    const block = await attempts.recordFailure(connection.name, input.identifier, ip);
    if (block) {
      ctx.obs?.loginBlocked({ connection: connection.name, untilSeconds: Math.max(0, Math.round((block.until.getTime() - Date.now()) / 1000)), requestId: ctx.request?.requestId });
      await ctx.store.audit.record({
        actorId: ctx.caller?.sub ?? 'unknown',
        operation: 'loginBlocked',
        targetUserId: cached?.id ?? null,
        fields: [],
      });
    }
  }
  return result;
}

async function databaseConnection(ctx: AppContext, ref: string): Promise<ConnectionRow | null> {
  const connection = await findConnection(ctx, ref);
  return connection?.kind === 'DATABASE' ? connection : null;
}

/** loginBlocks: the addresses refused for an identifier (read:users, checked by the permissions). */
export async function loginBlocks(ctx: AppContext, connectionRef: string, identifier: string): Promise<LoginBlock[]> {
  const connection = await databaseConnection(ctx, connectionRef);
  if (!connection || !ctx.loginAttempts) return [];
  return ctx.loginAttempts.list(connection.name, identifier);
}

/** removeLoginBlocks: lifts them (update:users, checked by the permissions); audited. */
export async function removeLoginBlocks(
  ctx: AppContext,
  input: { connection: string; identifier: string },
): Promise<{ removed: number; userErrors: UserResult['userErrors'] }> {
  const connection = await databaseConnection(ctx, input.connection);
  if (!connection) {
    return { removed: 0, userErrors: [userError('NOT_FOUND', `No database connection ${input.connection}.`, ['connection'])] };
  }
  const removed = ctx.loginAttempts ? await ctx.loginAttempts.remove(connection.name, input.identifier) : 0;
  if (removed > 0) {
    const user = await ctx.store.users.findByIdentifier(connection.id, input.identifier);
    await ctx.store.audit.record({
      actorId: ctx.caller?.sub ?? 'unknown',
      operation: 'removeLoginBlocks',
      targetUserId: user?.id ?? null,
      fields: [],
    });
  }
  return { removed, userErrors: [] };
}

async function authenticateLocally(
  ctx: AppContext,
  user: UserRow | null,
  input: { password: string; ip?: string | null },
): Promise<UserResult> {
  const hash = user ? await ctx.store.users.passwordHashOf(user.id) : null;
  if (!user || !hash) {
    dummyHash ??= hashPassword('not-a-real-password');
    await verifyPassword(input.password, await dummyHash);
    return WRONG_CREDENTIALS();
  }
  const check = await verifyPassword(input.password, hash);
  if (!check.ok) return WRONG_CREDENTIALS();
  if (user.blocked) return USER_BLOCKED();
  // Imported bcrypt/argon2 hashes are replaced by the current scheme at the first good login.
  const rehash = check.needsRehash ? await hashPassword(input.password) : null;
  return writeLocalLogin(ctx, user, input.ip, rehash);
}

/** An own-store login changes no profile field: bookkeeping (and a rehash) only. */
async function writeLocalLogin(
  ctx: AppContext,
  user: UserRow,
  ip: string | null | undefined,
  rehash: string | null,
): Promise<UserResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated();
  const result = await writeUser(
    ctx.store,
    user.id,
    user,
    (current) => {
      if (current.blocked) return { errors: USER_BLOCKED().userErrors };
      // A rehash replaces the hash just verified: not if the profile (and so maybe the password) changed meanwhile.
      const keep = rehash !== null && current.version === user.version;
      return { changes: {}, bookkeeping: { ...bookkeeping(current, ip), ...(keep ? { passwordRehash: rehash } : {}) } };
    },
    { actorId: caller.sub, operation: 'authenticate' },
    // Bookkeeping and a rehash only: the plan finds no profile change and emits nothing (and, an
    // own-store user's connection being a database connection, its keys stay unique).
    { uniqueKeys: true, events: userEventsOf(eventActor(ctx)) },
  );
  forgetProfile(ctx.loaders, user.id);
  if (!result.ok) return 'notFound' in result ? WRONG_CREDENTIALS() : fail(...refusalErrors(result, user.id));
  ctx.access.grantRead(user.id, 'full');
  return { user: result.user, userErrors: [] };
}

async function authenticateWithScript(
  ctx: AppContext,
  connection: ConnectionRow,
  input: { identifier: string; password: string; ip?: string | null },
): Promise<UserResult> {
  const scriptName = customScriptsName(connection);
  if (!scriptName) return unavailable(connection);
  let profile: UpstreamProfile | null;
  try {
    profile = wellFormedProfile((await ctx.scripts.call(scriptName, (s) => s.login(input.identifier, input.password), connection.name)) as UpstreamProfile | null);
  } catch (err) {
    if (err instanceof ScriptUnavailableError) return unavailable(connection);
    throw err;
  }
  if (profile === null || profile === undefined) return WRONG_CREDENTIALS();
  if (typeof profile !== 'object') return unavailable(connection);
  const upstreamId = upstreamUserId(profile);
  if (!upstreamId) return unavailable(connection);
  const existing = await ctx.store.users.findByIdentity(connection.id, upstreamId);
  // A migrated user lives in the gateway now: the legacy database's password (under an identifier
  // the gateway no longer knows them by) is not theirs any more, and must not undo a change here.
  if (existing?.migrated) return WRONG_CREDENTIALS();
  if (existing?.blocked) return USER_BLOCKED();
  const migrating = isImportMode(connection);
  const result = await writeLogin(ctx, {
    connection,
    source: 'custom_database',
    upstreamId,
    profile,
    ip: input.ip,
    existing,
    // Import mode: from now on the user lives in the gateway's store with this password.
    extra: migrating ? { migrated: true, passwordHash: await hashPassword(input.password) } : undefined,
    operation: migrating ? 'authenticate:migrate' : 'authenticate',
  });
  return result;
}

