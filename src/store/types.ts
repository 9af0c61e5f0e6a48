// The store's interface: everything the gateway reads or writes goes through it. The SQLite
// implementation lives in ./sqlite, the PostgreSQL one in ./pg; ./index.ts picks one.
// Methods are async so that a driver with asynchronous I/O fits without changing callers.
import type { ChangeEventRow, ChangeEventType, MembershipWrite, NewChangeEvent, UserWrite } from '../domain/events.js';
import type { ConnectionKind, Metadata, OrgRole, RootAttributeSync, UserError } from '../domain/types.js';

/**
 * Every write's change events are values: the app decides them (src/domain/events.ts) before the
 * write, from the row it decided on and the row the write leaves (or the row it inserts), and the
 * store records them as given in the write's transaction, only when the write is applied. The store
 * never calls back into the app: a write decided on a row applies only while that row is unchanged
 * (compare-and-set), and answers stale otherwise for the app to decide again.
 */
export type { ChangeEventRow, ChangeEventType, MembershipWrite, NewChangeEvent, UserWrite };

/** A connection's options, stored whole as JSON (Auth0's names). Unknown keys are kept. */
export interface ConnectionOptions {
  set_user_root_attributes?: RootAttributeSync;
  import_mode?: boolean;
  enabledDatabaseCustomization?: boolean;
  customScripts?: string;
  requires_username?: boolean;
  [key: string]: unknown;
}

export interface ConnectionRow {
  id: string;
  name: string;
  kind: ConnectionKind;
  strategy: string;
  options: ConnectionOptions;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored profile. The password hash is deliberately not part of it. */
export interface UserRow {
  id: string;
  connectionId: string;
  email: string | null;
  emailVerified: boolean;
  username: string | null;
  phoneNumber: string | null;
  phoneVerified: boolean;
  name: string | null;
  nickname: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  userMetadata: Metadata;
  appMetadata: Metadata;
  blocked: boolean;
  /** Who set the block: the organization whose help desk did; null for a tenant administrator (or no block). */
  blockedByOrganizationId: string | null;
  migrated: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  lastLogin: Date | null;
  lastIp: string | null;
  loginsCount: number;
  profileSyncedAt: Date | null;
}

export interface IdentityRow {
  userId: string;
  connectionId: string;
  provider: string;
  upstreamUserId: string;
  isSocial: boolean;
  profileData: Metadata | null;
}

export interface OrganizationRow {
  id: string;
  name: string;
  displayName: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface MembershipRow {
  organizationId: string;
  userId: string;
  roles: OrgRole[];
  invitedEmail: string | null;
  joinedAt: Date;
}

/** Recorded in the same transaction as the write it describes. */
export interface AuditEntry {
  actorId: string;
  operation: string;
  targetUserId?: string | null;
  organizationId?: string | null;
  /** Names of the fields changed; never their values. */
  fields?: string[];
}

export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  totalCount: number;
}

export interface PageArgs {
  first: number;
  /** Keyset cursor: the id of the last row of the previous page. */
  after?: string | null;
}

export interface UserFilter {
  connectionId?: string | null;
  organizationId?: string | null;
  email?: string | null;
  blocked?: boolean | null;
  search?: string | null;
  /** Conditions on declared attributes (each value already typed as its declaration's schema says). */
  attributes?: AttributeCondition[];
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  lastLoginAfter?: Date | null;
  lastLoginBefore?: Date | null;
}

/** One metadata key compared with a value: equal, starting with, or within bounds (inclusive). */
export interface AttributeCondition {
  object: 'user_metadata' | 'app_metadata';
  /** A declared key (letters, digits, `_`, `-`: checked by the domain before it reaches the store). */
  key: string;
  equals?: string | number | boolean;
  prefix?: string;
  gte?: string | number;
  lte?: string | number;
}

export type UserOrderField = 'created_at' | 'last_login' | 'email' | 'name';
export interface UserOrder {
  field: UserOrderField;
  direction: 'asc' | 'desc';
}

/** Narrows a listing to what a caller may read: themself and the members of organizations they administer. */
export interface Visibility {
  selfId: string | null;
  adminOrganizationIds: string[];
}

/** The stored fields of a new user; the password is already hashed. */
export interface NewUser {
  id: string;
  connectionId: string;
  email?: string | null;
  emailVerified?: boolean;
  username?: string | null;
  phoneNumber?: string | null;
  phoneVerified?: boolean;
  name?: string | null;
  nickname?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  picture?: string | null;
  userMetadata?: Metadata;
  appMetadata?: Metadata;
  blocked?: boolean;
  migrated?: boolean;
  passwordHash?: string | null;
  lastLogin?: Date | null;
  lastIp?: string | null;
  loginsCount?: number;
  profileSyncedAt?: Date | null;
  identity: Omit<IdentityRow, 'userId' | 'connectionId'>;
}

/** A login's bookkeeping: written with a login's decision, never a change of the profile (the version stays). */
export type LoginBookkeeping = Partial<Pick<UserRow, 'lastLogin' | 'lastIp' | 'loginsCount' | 'profileSyncedAt'>> & {
  /** The same password in the current scheme. */
  passwordRehash?: string;
};

/**
 * Profile column values to write: when one differs from the row, the store bumps `version` (and
 * `updated_at` changes with any write).
 */
export type UserChanges = Partial<
  Omit<UserRow, 'id' | 'connectionId' | 'version' | 'createdAt' | 'updatedAt' | 'lastLogin' | 'lastIp' | 'loginsCount' | 'profileSyncedAt'> & {
    /** A new password (counts as a change of the profile, whatever the value). */
    passwordHash: string;
    /** A legacy database's script changed the password: nothing to store, but it counts as a change. */
    passwordSetInCustomDatabase: true;
  }
>;

/**
 * One decided write to a user: the columns to write and what commits with them. Made by the app
 * (from the domain's rules) against a row it read; the store applies it as it is.
 */
export interface UserDecision {
  changes: UserChanges;
  /** A login's bookkeeping, written with the changes; it alone leaves the version as it is. */
  bookkeeping?: LoginBookkeeping;
  /** Written to the outbox in the same transaction, if anything changed. */
  messages?: NewOutboxMessage[];
  /** Written in the same transaction, if anything changed (an email change's verification ticket). */
  tickets?: NewTicket[];
  /**
   * The write's change events, recorded in the same transaction if anything changed: made by the
   * app from the row it decided on and the row the decision leaves (changes.ts rowAfter), which is
   * the row the store writes, since it applies a decision only to an unchanged row.
   */
  events?: NewChangeEvent[];
}

/**
 * Which state of a user a decision was made against. Every write to a user changes its version or
 * (a login's bookkeeping, which leaves the version alone) its logins count, so a row whose pair
 * is unchanged is the row the decision saw. Its connection (which never changes) and its email and
 * username say, before the row is read, which keys a decision changes and so must lock.
 */
export type UserStamp = Pick<UserRow, 'version' | 'loginsCount' | 'connectionId' | 'email' | 'username'>;

/** An erasure, decided by the app against the user it read and the organizations they were a member of then. */
export interface ErasureDecision {
  /** The organizations the user is a member of, as decided on (in the order the store reads memberships). */
  organizations: string[];
  /** Recorded with the target, and the actor when it is the user, replaced by the keyed pseudonym. */
  audit: Omit<AuditEntry, 'targetUserId'>;
  /** The deletion notices (membership.deleted for each organization left, user.deleted), recorded as given. */
  events: NewChangeEvent[];
}

export type EraseResult =
  | { ok: true }
  | { ok: false; notFound: true }
  | { ok: false; stale: true; current: UserRow; organizations: string[] };

/** A ticket that belongs to a write and commits with it, or not at all; its message goes in the write's `messages`. */
export interface NewTicket {
  row: Omit<TicketRow, 'usedAt' | 'createdAt'>;
  /** The ticket itself is never stored: only its hash. */
  ticketHash: string;
  audit: AuditEntry;
}

/**
 * A unique value of a user that another user already holds: `id` anywhere, `email` and `username`
 * within a database connection (case-insensitively). The store says which; the app words the error.
 */
export type UserKey = 'id' | 'email' | 'username';

/** Why the store did not apply a write to a user: what happened, not what to tell the caller. */
export type UserWriteRefusal =
  | { ok: false; taken: UserKey[] }
  | { ok: false; versionConflict: { expected: number; actual: number } }
  /** The app's own refusal (a decision that is errors), passed through. */
  | { ok: false; errors: UserError[] };

export type UpdateResult =
  | { ok: true; user: UserRow; changed: string[] }
  | UserWriteRefusal
  | { ok: false; notFound: true };

/** What the store did with a decision: applied it, or not, because the row moved on (`stale`: the row now), a key is taken, or the user is gone. */
export type ApplyResult =
  | { ok: true; user: UserRow; changed: string[] }
  | { ok: false; stale: true; current: UserRow }
  | { ok: false; taken: UserKey[] }
  | { ok: false; notFound: true };

export type CreateUserResult = { ok: true; user: UserRow } | { ok: false; taken: UserKey[] };

/** The keys an import record is matched by: its id, and its email and username within its connection. */
export type ImportKeys = Pick<NewUser, 'id' | 'connectionId' | 'email' | 'username' | 'passwordHash'>;

/**
 * A user an import record matches, and whether the stored hash is the record's own (the store
 * compares them: a hash never leaves the store).
 */
export interface ImportMatch {
  user: UserRow;
  samePasswordHash: boolean;
}

/**
 * What the app decided for one import record against the users it matched: insert it, update the
 * one match with these changes (what really changes: an empty decision is `unchanged`), leave it,
 * or refuse it.
 */
export type ImportDecision =
  /** `events`: the new user's (user.created), recorded with it. */
  | { kind: 'insert'; events?: NewChangeEvent[] }
  /** `events`: what the update does to the user as it was read (user.updated, …), recorded with it. */
  | { kind: 'update'; changes: UserChanges; events?: NewChangeEvent[] }
  | { kind: 'unchanged' }
  | { kind: 'failed'; problem: ImportProblem };

/** One record of a bulk import, decided by the app against the users it read (`seen`). */
export interface ImportItem {
  /** The user an insert stores; its id, email and username are the keys it is matched by. */
  user: NewUser;
  /**
   * The users of the record's connection holding its id, email or username when it was decided,
   * each as it was then (an update's is the first and only one). The store applies the decision
   * only while exactly these users match, each still at the same version and logins count (so
   * still this row: an update is applied to it); `stale` otherwise.
   */
  seen: UserRow[];
  decision: ImportDecision;
}

export interface ImportKeySet {
  /** Records the keys unless one was seen before: false then (a duplicate), true otherwise. */
  claim(keys: string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** Why one import record was not applied; the app words the error. */
export type ImportProblem =
  /** A user of the connection has the record's user_id, email or username (and upsert is off). */
  | { kind: 'exists'; userId: string }
  /** The record matches several users (by user_id, email or username). */
  | { kind: 'ambiguous' }
  /** With upsert: the record's email or username is another user's. */
  | { kind: 'taken'; keys: UserKey[] }
  /** The record's id is a user of another connection. */
  | { kind: 'idTakenElsewhere'; userId: string }
  /** The app's own refusal (the upsert's policy or metadata rules). */
  | { kind: 'refused'; error: UserError | null };

export type ImportItemResult =
  | { outcome: 'inserted' | 'updated' | 'unchanged'; userId: string }
  | { outcome: 'failed'; problem: ImportProblem }
  /** The users the record matches are not those it was decided against (any more): read and decide again. */
  | { outcome: 'stale' };

export type ConnectionUpdateResult =
  | { ok: true; connection: ConnectionRow }
  | { ok: false; notFound: true }
  /** The connection changed since it was read: what it is now, to decide again on. */
  | { ok: false; stale: true; current: ConnectionRow };

export type MemberWriteResult =
  | { ok: true; membership: MembershipRow }
  | { ok: false; notMember: true }
  /** The membership's roles changed since it was read: the membership as it is now, to decide again on. */
  | { ok: false; stale: true; current: MembershipRow };

export interface ConnectionStore {
  byIds(ids: readonly string[]): Promise<(ConnectionRow | null)[]>;
  byName(name: string): Promise<ConnectionRow | null>;
  list(): Promise<ConnectionRow[]>;
  userCounts(ids: readonly string[]): Promise<number[]>;
  create(row: Omit<ConnectionRow, 'createdAt' | 'updatedAt'>, audit: AuditEntry): Promise<ConnectionRow>;
  /**
   * Applies the changes, with their audit entry and change events (as given), only while the
   * connection is still `base` (the row they were decided on: same name, strategy, options and
   * updatedAt); `stale` with the row as it is otherwise, and nothing is written.
   */
  update(
    id: string,
    base: ConnectionRow,
    changes: { name?: string; strategy?: string; options?: ConnectionOptions },
    audit: AuditEntry,
    events?: readonly NewChangeEvent[],
  ): Promise<ConnectionUpdateResult>;
  /** Deletes a connection that has no users left; false when it has some (or does not exist). */
  delete(id: string, audit: AuditEntry): Promise<boolean>;
  /** A page of a connection's users, by id (for exports). */
  usersPage(connectionId: string, args: PageArgs): Promise<UserRow[]>;
  /** Makes sure searches on these attributes of the connection's users are served by an index. */
  indexAttributes(connectionId: string, keys: { object: 'user_metadata' | 'app_metadata'; key: string }[]): Promise<void>;
}

/** A user with the identities and memberships (and their organizations) a profile shows, read together. */
export interface UserWithRelations {
  user: UserRow;
  identities: IdentityRow[];
  /** Ordered by organization id, as membershipsByUserIds orders them. */
  memberships: MembershipRow[];
  /** The organizations of those memberships. */
  organizations: OrganizationRow[];
}

/** What the caller check needs about a token's subject. Read on every request, never cached. */
export interface SubjectStanding {
  /** Null when no user has that id. */
  blocked: boolean | null;
  /** When the user bearing the id now was created; null when no user has it. */
  createdAt: Date | null;
  /** When a user with that id was last erased; null if never. */
  deletedAt: Date | null;
  memberships: MembershipRow[];
}

export interface UserStore {
  byIds(ids: readonly string[]): Promise<(UserRow | null)[]>;
  /** byIds with each user's identities and memberships, in one statement (a profile read's main read). */
  withRelationsByIds(ids: readonly string[]): Promise<(UserWithRelations | null)[]>;
  /** Whether a token's subject is blocked or erased, and its memberships: one statement. */
  standing(id: string): Promise<SubjectStanding>;
  /** By id, or by `orderBy` then id; `after` is the id of the last row of the previous page. */
  list(args: PageArgs & { filter?: UserFilter; visibleTo?: Visibility; orderBy?: UserOrder }): Promise<Page<UserRow>>;
  /** Case-insensitive: is this email or username already used by another user of the connection? */
  findConflicts(
    connectionId: string,
    values: { email?: string | null; username?: string | null },
    exceptUserId?: string,
  ): Promise<{ email: boolean; username: boolean }>;
  identitiesByUserIds(ids: readonly string[]): Promise<IdentityRow[][]>;
  /** Inserts the user with its identity; on a clash, says which key is taken. */
  create(
    user: NewUser,
    audit: AuditEntry,
    opts: {
      /** Emails and usernames must not clash with another user's of the connection (the domain's keysAreUnique). */
      uniqueKeys: boolean;
      releaseFromLegacyUsers?: boolean;
      /** The user's user.created events, as the app made them from the user it inserts (insertedUserWrite); recorded only when it is inserted. */
      events?: readonly NewChangeEvent[];
    },
  ): Promise<CreateUserResult>;
  /**
   * One transaction: if the user is still as `base` says (compare-and-set on version and logins
   * count), writes the decision (the version bumped unless only login bookkeeping changed), its
   * audit entry, and the decision's outbox messages, tickets and change events as they are;
   * otherwise answers `stale` with the row as it is.
   */
  apply(
    id: string,
    base: UserStamp,
    decision: UserDecision,
    audit: AuditEntry,
    opts: {
      /** A changed email or username must not clash with another user's of the connection (the domain's keysAreUnique). */
      uniqueKeys: boolean;
      /** A login also keeps the raw upstream profile in the user's identity of that connection. */
      identityProfileData?: Metadata | null;
      /** A custom-database login: stale emails/usernames of other cached legacy users give way. */
      releaseFromLegacyUsers?: boolean;
    },
  ): Promise<ApplyResult>;
  /** A user of the connection whose email or username is `identifier` (case-insensitive; email first). */
  findByIdentifier(connectionId: string, identifier: string): Promise<UserRow | null>;
  /** The user linked to an upstream identity of the connection. */
  findByIdentity(connectionId: string, upstreamUserId: string): Promise<UserRow | null>;
  /** For password verification only: the stored hash never leaves the gateway. */
  passwordHashOf(userId: string): Promise<string | null>;
  /** When a user bearing this id was last erased (null if never): kept when the id is reused. */
  deletedAt(id: string): Promise<Date | null>;
  /**
   * Erasure, in one transaction, applied only while the user is as `base` says (compare-and-set on
   * version and logins count) and a member of exactly the organizations the decision names: the
   * profile, identities, memberships, tickets, invitations to the user's address and outbox
   * messages go; the user's events about themself go, others' events about the user stay with a
   * keyed pseudonym as target, events the user caused on others keep the pseudonym as actor, the
   * decision's audit entry is the one pseudonymous record of the deletion, and its events (the
   * deletion notices) are recorded after the rewrite. `stale`: the user and their organizations as
   * they are now, for the app to decide again on.
   */
  erase(id: string, base: UserStamp, decision: ErasureDecision): Promise<EraseResult>;
  /**
   * For each import record, the users of its connection holding its id, email or username (one
   * read for the batch): what the app decides the record against.
   */
  importMatches(records: readonly ImportKeys[]): Promise<ImportMatch[][]>;
  /**
   * A batch of an import, decided by the app: one transaction, each record in its own savepoint.
   * A record whose matches are still those it was decided against is applied as decided (an
   * update with a compare-and-set on its user's version and logins count); otherwise it is
   * `stale`, and nothing of it is written. `dryRun` does the work and rolls it back.
   */
  importBatch(items: ImportItem[], audit: AuditEntry, opts: { dryRun: boolean }): Promise<ImportItemResult[]>;
  /**
   * The keys an import has seen (emails, usernames, user_ids), kept in the database rather than
   * in memory, so a file of millions of users is checked for duplicates in bounded memory.
   */
  importKeys(): Promise<ImportKeySet>;
  /** Every row the gateway holds about a user (never a password or ticket hash), for the user's export. */
  exportData(id: string): Promise<Record<string, unknown> | null>;
}

export interface OrganizationStore {
  byIds(ids: readonly string[]): Promise<(OrganizationRow | null)[]>;
  byName(name: string): Promise<OrganizationRow | null>;
  list(filter?: { ids?: string[] }): Promise<OrganizationRow[]>;
  connectionIds(organizationIds: readonly string[]): Promise<string[][]>;
  create(
    row: Omit<OrganizationRow, 'createdAt' | 'updatedAt'>,
    connectionIds: string[],
    audit: AuditEntry,
  ): Promise<OrganizationRow>;
  membershipsByUserIds(userIds: readonly string[]): Promise<MembershipRow[][]>;
  members(organizationId: string, args: PageArgs): Promise<Page<MembershipRow>>;
  /** The events (membership.created, made by the app from `row`) are recorded only when the membership is inserted. */
  addMember(
    row: Omit<MembershipRow, 'joinedAt'>,
    audit: AuditEntry,
    events?: readonly NewChangeEvent[],
  ): Promise<{ ok: true; membership: MembershipRow } | { ok: false; alreadyMember: true }>;
  update(
    id: string,
    changes: { name?: string; displayName?: string | null; connectionIds?: string[] },
    audit: AuditEntry,
  ): Promise<OrganizationRow | null>;
  /**
   * Sets the member's roles, with the audit entry and the events as given, only while the
   * membership has the roles `base` (the membership the app decided on) has; `stale` with the
   * membership as it is otherwise (nothing written), `notMember` when there is none.
   */
  updateMemberRoles(
    base: MembershipRow,
    roles: OrgRole[],
    audit: AuditEntry,
    events?: readonly NewChangeEvent[],
  ): Promise<MemberWriteResult>;
  /**
   * Removes the membership, with the audit entry and the events as given (membership.deleted,
   * which depends on nothing but the membership's existence); false when the user was not a member,
   * and nothing is recorded.
   */
  removeMember(organizationId: string, userId: string, audit: AuditEntry, events?: readonly NewChangeEvent[]): Promise<boolean>;
}

export type TicketKind = 'password_reset' | 'email_verification';

export interface TicketRow {
  id: string;
  kind: TicketKind;
  userId: string;
  /** What the ticket is for, e.g. the email address a verification ticket was sent to. */
  data: Metadata | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface InvitationRow {
  id: string;
  organizationId: string;
  email: string;
  roles: OrgRole[];
  inviterId: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedBy: string | null;
}

export interface AuditEventRow {
  id: number;
  at: Date;
  actorId: string;
  operation: string;
  targetUserId: string | null;
  organizationId: string | null;
  fields: string[];
}

export interface AuditFilter {
  userId?: string | null;
  actorId?: string | null;
  /** Events of any of these organizations. */
  organizationIds?: string[] | null;
}

/** Why a ticket cannot be redeemed: stable userErrors codes. */
export type TicketProblem = 'TICKET_INVALID' | 'TICKET_EXPIRED' | 'TICKET_USED';

export interface TicketStore {
  create(
    row: Omit<TicketRow, 'usedAt' | 'createdAt'>,
    ticketHash: string,
    message: NewOutboxMessage | null,
    audit: AuditEntry,
  ): Promise<TicketRow>;
  /** Marks the ticket used if it is valid (one transaction): the one redemption that may go on. */
  claim(kind: TicketKind, ticketHash: string, now: Date): Promise<{ ok: true; ticket: TicketRow & { usedAt: Date } } | { ok: false; problem: TicketProblem }>;
  /**
   * Gives a claimed ticket back (its effect failed): only the claim made at `claimedAt` (the
   * claimed ticket's `usedAt`), so a ticket used by anyone since stays used, and only while its
   * user is still at `userVersion`: any change of the user since (a new password voids reset
   * tickets; a change of the profile may have changed what the ticket was for) keeps it used.
   */
  release(id: string, claimedAt: Date, userVersion: number): Promise<void>;
}

/** What accepting an invitation writes, decided by the app. */
export interface AcceptanceDecision {
  /** The user's membership of the organization when the decision was made (null: none). */
  before: MembershipRow | null;
  /** The membership to write (its roles merged with the invitation's, `invitedEmail` set). */
  membership: MembershipRow;
  /** The user's changes (holding the ticket proved the address). */
  changes: UserChanges;
  /**
   * The acceptance's change events (the membership's, then the user's when the changes change it),
   * made by the app from the membership and user it decided on; recorded as given.
   */
  events?: NewChangeEvent[];
}

export interface InvitationStore {
  create(
    row: Omit<InvitationRow, 'acceptedAt' | 'acceptedBy' | 'createdAt'>,
    ticketHash: string,
    message: NewOutboxMessage | null,
    audit: AuditEntry,
  ): Promise<InvitationRow>;
  byHash(ticketHash: string): Promise<InvitationRow | null>;
  /**
   * Applies an acceptance the app decided against the user at `base` and their membership of the
   * organization as it was (`decision.before`), in one transaction: the invitation is checked again
   * (unused, unexpired), and if the user and the membership are still as decided on, the membership
   * is written, the user changed, the invitation marked accepted, audited, the decision's events recorded;
   * `stale` otherwise (the app decides again on what it reads then).
   */
  accept(
    invitationId: string,
    base: UserStamp & { id: string },
    decision: AcceptanceDecision,
    now: Date,
    audit: AuditEntry,
  ): Promise<{ ok: true; membership: MembershipRow } | { ok: false; problem: TicketProblem } | { ok: false; stale: true }>;
}

export interface AuditStore {
  /** Newest first; the cursor is the id of the last event of the previous page. */
  list(args: { first: number; after?: number | null; filter: AuditFilter }): Promise<Page<AuditEventRow>>;
  /** An event that goes with no other write (a login block, its removal). */
  record(entry: AuditEntry): Promise<void>;
}

/** A message waiting to be delivered (ticket links, invitations, verification requests). */
export interface OutboxMessage {
  id: number;
  /** The recipient user, when there is one (erasure deletes their messages). */
  userId: string | null;
  to: string;
  subject: string;
  body: string;
  createdAt: Date;
  attempts: number;
  sentAt: Date | null;
  lastError: string | null;
}

export type NewOutboxMessage = Pick<OutboxMessage, 'userId' | 'to' | 'subject' | 'body'>;

export interface OutboxStore {
  /** Unsent messages whose next attempt is due, oldest first. */
  pending(limit: number, now: Date): Promise<OutboxMessage[]>;
  markSent(id: number, at: Date): Promise<void>;
  /** Records a failed attempt; the message is tried again at `retryAt` (null: never again). */
  markFailed(id: number, error: string, retryAt: Date | null): Promise<void>;
  /** For tests and the export: every message to a user. */
  byUser(userId: string): Promise<OutboxMessage[]>;
  /** How many messages wait (or are being retried), were sent, and were given up. */
  counts(): Promise<{ pending: number; sent: number; failed: number }>;
  /** Messages in one status, oldest first, after the message `afterId`; never their bodies or addresses. */
  list(args: { status: OutboxStatus; first: number; afterId?: number | null }): Promise<OutboxMessageSummary[]>;
  byId(id: number): Promise<OutboxMessageSummary | null>;
  /** An unsent message due now with a fresh count of tries; audited in the same transaction. */
  retry(id: number, now: Date, audit: AuditEntry): Promise<OutboxChange>;
  /** An unsent message deleted; audited in the same transaction. */
  discard(id: number, audit: AuditEntry): Promise<OutboxChange>;
}

export type OutboxStatus = 'PENDING' | 'SENT' | 'FAILED';

/** What an operator may see of a message: no body (it may hold a ticket), no address. */
export interface OutboxMessageSummary {
  id: number;
  userId: string | null;
  subject: string;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  /** Null once sent or given up. */
  nextAttemptAt: Date | null;
  sentAt: Date | null;
}

export type OutboxChange = { ok: true; message: OutboxMessageSummary | null } | { ok: false; problem: 'missing' | 'sent' };

/** A page of events: no total (counting every kept event is paid only by those who ask, through EventStore.count). */
export interface EventPage {
  rows: ChangeEventRow[];
  hasNextPage: boolean;
}

export interface EventStore {
  /**
   * Events after the event `after` (a seq; null: from the oldest kept), in commit order, of the
   * given types (all when none).
   */
  list(args: { after: number | null; first: number; types?: readonly ChangeEventType[] | null }): Promise<EventPage>;
  /** How many events of these types (all when none) are kept: a count of the whole table, asked for only when wanted. */
  count(types?: readonly ChangeEventType[] | null): Promise<number>;
  /** Up to `first` events after the seq `after`, of the given types (all when none), in commit order; no count (the delivery worker's read). */
  since(after: number, first: number, types?: readonly ChangeEventType[] | null): Promise<ChangeEventRow[]>;
  /** The seq of the last event recorded (0 when none). */
  lastSeq(): Promise<number>;
  /** The seq of the event with this CloudEvents id; null when none is kept. */
  seqOf(id: string): Promise<number | null>;
  /** Deletes events recorded before `before` (EVENT_RETENTION_DAYS); answers how many went. */
  prune(before: Date): Promise<number>;
}

/** A webhook: where events of some types are POSTed. Its secret never leaves the store but encrypted. */
export interface WebhookRow {
  id: string;
  url: string;
  /** The event types it receives; empty: all. */
  types: ChangeEventType[];
  createdAt: Date;
  createdBy: string;
}

export interface WebhookStore {
  /** Inserts the webhook and its delivery cursor, which starts after the last event recorded. */
  create(row: WebhookRow, secretCiphertext: string, audit: AuditEntry): Promise<WebhookRow>;
  list(): Promise<WebhookRow[]>;
  byIds(ids: readonly string[]): Promise<(WebhookRow | null)[]>;
  /** The encrypted signing secret (the delivery worker decrypts it). */
  secretOf(id: string): Promise<string | null>;
  /** The webhook, its cursor and its failures go; false when there was none. */
  delete(id: string, audit: AuditEntry): Promise<boolean>;
  /**
   * Moves the webhook's cursor to `afterSeq`, so every event after it (of its types) is delivered
   * again, in order. The generation changes with it, so a delivery in flight from the old cursor
   * cannot move it on (no event is skipped, none sent twice but the ones asked for).
   */
  redeliver(id: string, afterSeq: number, audit: AuditEntry): Promise<boolean>;
}

/** Where a consumer of events (a webhook, the NATS publisher) stands. */
export interface DeliveryCursor {
  consumer: string;
  /** The seq of the last event delivered or given up. */
  afterSeq: number;
  /** Changes on every redelivery: progress is recorded only under the generation it was read in. */
  generation: number;
  /** Failed attempts at the next event. */
  attempts: number;
  nextAttemptAt: Date | null;
  /** When the next event first failed (null while none fails): it is given up after the documented time. */
  failingSince: Date | null;
  lastError: string | null;
}

export interface DeliveryFailure {
  consumer: string;
  seq: number;
  eventId: string;
  attempts: number;
  lastError: string | null;
  failedAt: Date;
}

/** Progress of each consumer of events, claimed by one instance at a time (a lease). */
export interface DeliveryStore {
  /** Makes a cursor for a consumer that is not a webhook (the NATS publisher), starting after the last event; kept if it exists. */
  ensure(consumer: string): Promise<void>;
  /** The ids of every consumer with a cursor. */
  consumers(): Promise<string[]>;
  /** Leases the cursor to `owner` until `until` when it is free, expired or already `owner`'s; null otherwise. */
  claim(consumer: string, owner: string, now: Date, until: Date): Promise<DeliveryCursor | null>;
  /** Gives a lease back. */
  release(consumer: string, owner: string): Promise<void>;
  /**
   * Moves the cursor from `fromSeq` to `seq` (delivered, or given up with `failure`) if `owner` still
   * holds it in that generation; false when not (a redelivery moved it, or the lease was lost).
   */
  advance(
    consumer: string,
    owner: string,
    generation: number,
    fromSeq: number,
    seq: number,
    failure?: { eventId: string; attempts: number; error: string; at: Date },
  ): Promise<boolean>;
  /** Records a failed attempt at the next event; it is tried again at `retryAt`. */
  retryLater(consumer: string, owner: string, generation: number, error: string, retryAt: Date, failingSince: Date): Promise<boolean>;
  /** The consumers' cursors, by id. */
  cursors(consumers: readonly string[]): Promise<(DeliveryCursor | null)[]>;
  /** The events given up for a consumer, newest first. */
  failures(consumer: string, first: number): Promise<DeliveryFailure[]>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Whether this store routes reads by the request's read scope (src/store/read-scope.ts): true
   * only for PostgreSQL with a replica (DATABASE_READ_URL). Without it, the HTTP layer opens no
   * scope: an AsyncLocalStorage costs a hook on every promise of every request.
   */
  readonly routesReads: boolean;
  /** Where the data is, for a log line: the file, or the server and database (never a password). */
  readonly location: string;
  /** This start created the database (no migration had run before): the demo seed's 'if-new'. */
  readonly fresh: boolean;
  /** How many migrations this start applied (0: another instance or an earlier start had). */
  readonly migrationsApplied: number;
  connections: ConnectionStore;
  users: UserStore;
  organizations: OrganizationStore;
  outbox: OutboxStore;
  tickets: TicketStore;
  invitations: InvitationStore;
  audit: AuditStore;
  events: EventStore;
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  /**
   * The key page cursors are sealed with (src/graphql/pagination.ts), derived from the server's
   * secret (PSEUDONYM_SECRET or the key file beside the database), so every instance on the same
   * database reads the cursors of the others, and no client can read or forge one.
   */
  readonly cursorKey: Buffer;
  /**
   * The key of webhook secrets when WEBHOOK_SECRET_KEY is unset, when the store has one every
   * instance shares (PostgreSQL: derived from its stored secret); null: a key file beside the database (SQLite).
   */
  readonly secretBoxKey: Buffer | null;
  /** Answers when the database does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
