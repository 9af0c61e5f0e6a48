// Bulk operations: many updates (each judged by the policy on its own) and imports (each record
// checked on its own, written in bounded transactions).
import { hashFormat } from '../auth/passwords.js';
import { hasScope } from '../domain/access.js';
import { isImportMode, isCustomDatabase } from '../domain/connection.js';
import { type ImportRecord, parseImportRecord, recordKeys } from '../domain/import.js';
import { checkMetadata, mergeMetadata } from '../domain/metadata.js';
import { type AttributeSettings, attributeSettingsOf, invalidAttributes } from '../domain/attributes.js';
import { fieldPolicies, refusedAttributes, refusedFields } from '../domain/policy.js';
import type { CallerRoles, ConnectionFacts, ProfilePatch, UserError } from '../domain/types.js';
import { changedFields, insertedUserWrite, rowAfter } from '../store/changes.js';
import type { ConnectionRow, ImportDecision, ImportItem, ImportItemResult, ImportMatch, NewUser, UserChanges, UserRow } from '../store/types.js';
import { eventActor, type UserEvents, userEventsOf } from './events.js';
import type { AppContext } from './context.js';
import { AppError, FieldNotEditableError, forbidden, notFound, refusedFieldError, unauthenticated } from './errors.js';
import { newDatabaseUser, profileColumns } from './columns.js';
import { newDatabaseUserKey } from './ids.js';
import { findConnection } from './lookup.js';
import { importProblemError, type UserResult } from './results.js';
import { namedFields, newUserAttributeErrors, updateUser } from './users.js';
import { backoff, concurrentWrites } from './writes.js';

export const MAX_BULK_UPDATES = 1000;

/** Reads and decisions of a batch's records before a record that keeps losing races gives up (CONCURRENT_WRITES). */
export const IMPORT_ATTEMPTS = 10;

/** An import is a tenant administrator's write (import:users). */
const TENANT_ADMIN: CallerRoles = { tenantAdmin: true, helpDesk: false, self: false };

/** updateUsers: each item succeeds or fails on its own; refusals become that item's userErrors. */
export async function updateUsers(
  ctx: AppContext,
  items: readonly { id: string; patch: ProfilePatch; expectedVersion?: number | null }[],
): Promise<(UserResult & { id: string })[]> {
  const results: (UserResult & { id: string })[] = [];
  for (const item of items) {
    try {
      results.push({ id: item.id, ...(await updateUser(ctx, item.id, item.patch, { expectedVersion: item.expectedVersion, operation: 'updateUsers' })) });
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'UNAUTHENTICATED') throw err;
      results.push({ id: item.id, user: null, userErrors: itemErrors(err) });
    }
  }
  return results;
}

function itemErrors(err: AppError): UserError[] {
  if (err instanceof FieldNotEditableError) {
    // Here `field` is the input key, as in every userErrors entry.
    return err.refused.map(refusedFieldError);
  }
  return [{ field: null, code: err.code, message: err.message }];
}

export interface ImportSummary {
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: { index: number; code: string; message: string }[];
}

export interface ImportOptions {
  connection: string;
  upsert?: boolean | null;
  dryRun?: boolean | null;
  /** Records per transaction: a crash loses at most this many. */
  batchSize?: number;
  /** Called after each batch (the CLI's progress). */
  onProgress?: (done: number, summary: ImportSummary) => void;
  /** Keep at most this many errors in the summary (the CLI writes them to a file as they come). */
  keepErrors?: number;
  onError?: (error: { index: number; code: string; message: string }) => void;
}

/** The connection an import may target: a database connection, own store or custom database with import mode. */
export async function importTarget(ctx: AppContext, ref: string): Promise<ConnectionRow> {
  const connection = await findConnection(ctx, ref);
  if (!connection) throw notFound('connection', ref);
  if (connection.kind !== 'DATABASE' || (isCustomDatabase(connection) && !isImportMode(connection))) {
    throw new AppError(
      'BAD_USER_INPUT',
      'Users are imported into a DATABASE connection: the own store, or a custom database with import mode.',
      { field: 'connection' },
    );
  }
  return connection;
}

/**
 * importUsers. Records come one by one (an array, or a stream from the CLI); memory stays bounded
 * by the batch size (the keys that find duplicates within the file are kept in the database).
 */
export async function importUsers(
  ctx: AppContext,
  records: Iterable<unknown> | AsyncIterable<unknown>,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  if (!hasScope(caller, 'import:users')) throw forbidden('Importing users needs the import:users scope.');
  const connection = await importTarget(ctx, opts.connection);
  const requiresUsername = connection.options.requires_username === true;
  const migrated = isImportMode(connection);
  const batchSize = opts.batchSize ?? 500;
  const keepErrors = opts.keepErrors ?? Number.POSITIVE_INFINITY;
  const summary: ImportSummary = { inserted: 0, updated: 0, unchanged: 0, failed: 0, errors: [] };
  const seen = await ctx.store.users.importKeys();
  const audit = { actorId: caller.sub, operation: 'importUsers' };
  const events = userEventsOf(eventActor(ctx), attributeSettingsOf(connection.options));
  // An upsert is judged as updateUser would judge a tenant administrator's update of that user.
  const facts = await ctx.access.connectionFacts(connection.id);

  const attributes = attributeSettingsOf(connection.options);
  const decide = (record: ImportRecord, user: NewUser, found: ImportMatch[]): ImportItem => ({
    user,
    seen: found.map((m) => m.user),
    decision: withEvents(importDecision(record, found, Boolean(opts.upsert), facts, attributes), user, found[0]?.user, events),
  });

  let batch: { index: number; record: ImportRecord; user: NewUser }[] = [];
  let index = -1;
  const reportError = (i: number, code: string, message: string) => {
    summary.failed += 1;
    const error = { index: i, code, message };
    opts.onError?.(error);
    if (summary.errors.length < keepErrors) summary.errors.push(error);
  };
  const flush = async () => {
    if (batch.length === 0) return;
    // Each record decided against the users it matches, read first; the store applies the
    // decisions that still hold, and the stale ones are read and decided again.
    const results: (ImportItemResult | undefined)[] = batch.map(() => undefined);
    let pending = batch.map((_, at) => at);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > IMPORT_ATTEMPTS) {
        for (const at of pending) results[at] = { outcome: 'failed', problem: { kind: 'refused', error: concurrentWrites() } };
        break;
      }
      if (attempt > 1) await backoff(attempt - 1);
      const records = pending.map((at) => batch[at] as (typeof batch)[number]);
      const found = await ctx.store.users.importMatches(records.map((r) => r.user));
      const applied = await ctx.store.users.importBatch(
        records.map((r, i) => decide(r.record, r.user, found[i] ?? [])),
        audit,
        { dryRun: Boolean(opts.dryRun) },
      );
      if (applied.some((r) => r.outcome === 'inserted' || r.outcome === 'updated')) events.notify();
      const stale: number[] = [];
      applied.forEach((r, i) => {
        const at = pending[i] as number;
        if (r.outcome === 'stale') stale.push(at);
        else results[at] = r;
      });
      pending = stale;
    }
    results.forEach((r, i) => {
      const at = batch[i]?.index ?? -1;
      if (!r) return;
      if (r.outcome === 'failed') {
        const e = importProblemError(r.problem);
        reportError(at, e.code, e.message);
      } else if (r.outcome !== 'stale') summary[r.outcome] += 1;
    });
    batch = [];
    opts.onProgress?.(index + 1, summary);
  };

  try {
    for await (const raw of records) {
      index += 1;
      const parsed = parseImportRecord(raw, { requiresUsername, acceptsHash: (h) => hashFormat(h) !== null });
      if (!parsed.ok) {
        reportError(index, parsed.code, parsed.message);
        continue;
      }
      // Metadata against the declarations (schemas, undeclared keys); an upsert is also judged against the stored user.
      const attributeError = newUserAttributeErrors(attributeSettingsOf(connection.options), parsed.record.profile)[0];
      if (attributeError) {
        reportError(index, attributeError.code, attributeError.message);
        continue;
      }
      if (!(await seen.claim(recordKeys(parsed.record)))) {
        reportError(index, 'DUPLICATE_IN_FILE', 'An earlier record of this file has the same email, username or user_id.');
        continue;
      }
      batch.push({ index, record: parsed.record, user: importedUser(connection, parsed.record, migrated) });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    await seen.close();
  }
  return summary;
}

/** The user a record inserts (its id, email and username are the keys it is matched by). */
function importedUser(connection: ConnectionRow, record: ImportRecord, migrated: boolean): NewUser {
  const key = record.userId ?? newDatabaseUserKey();
  return newDatabaseUser(connection.id, key, record.profile, { migrated, passwordHash: record.passwordHash });
}

/** A record's decision with its change events: the new user's, or what the update does to the user as read. */
function withEvents(decision: ImportDecision, user: NewUser, current: UserRow | undefined, events: UserEvents): ImportDecision {
  if (decision.kind === 'insert') return { ...decision, events: events.of(insertedUserWrite(user)) };
  if (decision.kind !== 'update' || !current) return decision;
  const changed = changedFields(current, decision.changes);
  return { ...decision, events: events.of({ userId: current.id, before: current, after: rowAfter(current, decision, new Date()), changed }) };
}

/**
 * What to do with a record, given the users of the connection with its user_id, email or
 * username: insert it (none), refuse it (several; or one, without upsert), or, with upsert, update
 * that user as a tenant administrator's updateUser would (unchanged when nothing differs).
 */
function importDecision(record: ImportRecord, found: ImportMatch[], upsert: boolean, facts: ConnectionFacts, attributes: AttributeSettings): ImportDecision {
  if (found.length > 1) return { kind: 'failed', problem: { kind: 'ambiguous' } };
  const match = found[0];
  if (!match) return { kind: 'insert' };
  if (!upsert) return { kind: 'failed', problem: { kind: 'exists', userId: match.user.id } };
  const planned = upsertChanges(match.user, record, facts, attributes);
  if ('errors' in planned) return { kind: 'failed', problem: { kind: 'refused', error: planned.errors[0] ?? null } };
  const changes = planned.changes;
  // The same hash again is no change: a re-run with upsert changes nothing.
  if (record.passwordHash && !match.samePasswordHash) changes.passwordHash = record.passwordHash;
  return changedFields(match.user, changes).length === 0 ? { kind: 'unchanged' } : { kind: 'update', changes };
}

/** The same rules as a tenant administrator's updateUser: metadata merged one level deep, fields as the policy allows. */
function upsertChanges(current: UserRow, record: ImportRecord, facts: ConnectionFacts, attributes: AttributeSettings): { changes: UserChanges } | { errors: UserError[] } {
  const p = record.profile;
  const named = namedFields(p).filter((f) => f !== 'password');
  // Importing into a connection with import mode migrates the user: judged, and stored, as migrated.
  const migrated = current.migrated || facts.importMode;
  const policies = fieldPolicies(TENANT_ADMIN, facts, { migrated, invitationBound: false });
  const refused = [
    ...refusedFields(policies, named),
    ...refusedAttributes(
      TENANT_ADMIN,
      policies,
      attributes,
      { user_metadata: p.user_metadata, app_metadata: p.app_metadata },
      { user_metadata: current.userMetadata, app_metadata: current.appMetadata },
    ),
  ];
  if (refused.length > 0) {
    return { errors: [refusedFieldError(refused[0] as (typeof refused)[number])] };
  }
  const invalid = [
    ...(p.user_metadata ? invalidAttributes(attributes, 'user_metadata', p.user_metadata) : []),
    ...(p.app_metadata ? invalidAttributes(attributes, 'app_metadata', p.app_metadata) : []),
  ];
  if (invalid.length > 0) return { errors: invalid };
  const changes: UserChanges = migrated && !current.migrated ? { migrated: true } : {};
  if (p.email !== current.email) changes.email = p.email;
  if (p.email_verified !== undefined) changes.emailVerified = p.email_verified;
  else if (p.email !== current.email) changes.emailVerified = false;
  const { email: _e, email_verified: _v, user_metadata: _u, app_metadata: _a, ...rest } = p;
  Object.assign(changes, profileColumns(rest));
  // A changed phone number is unverified unless the same record sets the flag.
  if (p.phone_verified === undefined && p.phone_number !== undefined && p.phone_number !== current.phoneNumber) changes.phoneVerified = false;
  const errors: UserError[] = [];
  if (p.user_metadata) {
    changes.userMetadata = mergeMetadata(current.userMetadata, p.user_metadata);
    errors.push(...checkMetadata('user_metadata', changes.userMetadata));
  }
  if (p.app_metadata) {
    changes.appMetadata = mergeMetadata(current.appMetadata, p.app_metadata);
    errors.push(...checkMetadata('app_metadata', changes.appMetadata));
  }
  return errors.length > 0 ? { errors } : { changes };
}
