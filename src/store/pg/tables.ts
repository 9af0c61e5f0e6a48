// The PostgreSQL tables: the same tables, columns and names as ../sqlite/tables.ts, in
// PostgreSQL's types (jsonb, timestamptz, boolean, identity columns). drizzle-kit generates the
// migrations in drizzle/pg/ from this file (`npm run db:generate`, drizzle.pg.config.ts).
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp as pgTimestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { ChangeEventData, ChangeEventType } from '../../domain/events.js';
import type { ConnectionKind, Metadata, OrgRole } from '../../domain/types.js';
import type { ConnectionOptions } from '../types.js';

const timestamp = (name: string) => pgTimestamp(name, { withTimezone: true, precision: 3 });
const bool = (name: string) => boolean(name);

export const connections = pgTable('connections', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  kind: text('kind').$type<ConnectionKind>().notNull(),
  strategy: text('strategy').notNull(),
  options: jsonb('options').$type<ConnectionOptions>().notNull(),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull(),
});

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id),
    email: text('email'),
    // Lower-cased copies back case-insensitive lookups and uniqueness.
    emailLower: text('email_lower'),
    emailVerified: bool('email_verified').notNull().default(false),
    username: text('username'),
    usernameLower: text('username_lower'),
    phoneNumber: text('phone_number'),
    phoneVerified: bool('phone_verified').notNull().default(false),
    name: text('name'),
    nickname: text('nickname'),
    givenName: text('given_name'),
    familyName: text('family_name'),
    picture: text('picture'),
    userMetadata: jsonb('user_metadata').$type<Metadata>().notNull().default(sql`'{}'`),
    appMetadata: jsonb('app_metadata').$type<Metadata>().notNull().default(sql`'{}'`),
    blocked: bool('blocked').notNull().default(false),
    // The organization whose help desk set the block; null for a tenant administrator's (or none).
    blockedByOrganizationId: text('blocked_by_organization_id'),
    migrated: bool('migrated').notNull().default(false),
    // Write-only: never selected into a UserRow.
    passwordHash: text('password_hash'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at').notNull(),
    updatedAt: timestamp('updated_at').notNull(),
    lastLogin: timestamp('last_login'),
    lastIp: text('last_ip'),
    loginsCount: integer('logins_count').notNull().default(0),
    profileSyncedAt: timestamp('profile_synced_at'),
  },
  (t) => [
    uniqueIndex('users_connection_username').on(t.connectionId, t.usernameLower),
    index('users_connection_email').on(t.connectionId, t.emailLower),
    index('users_email').on(t.emailLower),
  ],
);

export const identities = pgTable(
  'identities',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id),
    provider: text('provider').notNull(),
    upstreamUserId: text('upstream_user_id').notNull(),
    isSocial: bool('is_social').notNull(),
    profileData: jsonb('profile_data').$type<Metadata>(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.connectionId] }),
    uniqueIndex('identities_connection_upstream').on(t.connectionId, t.upstreamUserId),
  ],
);

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  displayName: text('display_name'),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull(),
});

export const organizationConnections = pgTable(
  'organization_connections',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.connectionId] })],
);

export const memberships = pgTable(
  'memberships',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roles: jsonb('roles').$type<OrgRole[]>().notNull(),
    invitedEmail: text('invited_email'),
    joinedAt: timestamp('joined_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] }), index('memberships_user').on(t.userId)],
);

export const invitations = pgTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    roles: jsonb('roles').$type<OrgRole[]>().notNull(),
    ticketHash: text('ticket_hash').notNull().unique(),
    inviterId: text('inviter_id'),
    createdAt: timestamp('created_at').notNull(),
    expiresAt: timestamp('expires_at').notNull(),
    acceptedAt: timestamp('accepted_at'),
    acceptedBy: text('accepted_by'),
  },
  (t) => [index('invitations_organization').on(t.organizationId)],
);

/** Password-reset and email-verification tickets; only a hash of the ticket is kept. */
export const tickets = pgTable(
  'tickets',
  {
    id: text('id').primaryKey(),
    kind: text('kind').$type<'password_reset' | 'email_verification'>().notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    ticketHash: text('ticket_hash').notNull().unique(),
    data: jsonb('data').$type<Metadata>(),
    createdAt: timestamp('created_at').notNull(),
    expiresAt: timestamp('expires_at').notNull(),
    usedAt: timestamp('used_at'),
  },
  (t) => [index('tickets_user').on(t.userId)],
);

/** Who changed what, to whom. Values of email, phone and password are never recorded. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at').notNull(),
    actorId: text('actor_id').notNull(),
    operation: text('operation').notNull(),
    // No foreign key: the record outlives the user (pseudonymised on erasure).
    targetUserId: text('target_user_id'),
    organizationId: text('organization_id'),
    fields: jsonb('fields').$type<string[]>().notNull(),
  },
  (t) => [
    index('audit_target').on(t.targetUserId),
    index('audit_actor').on(t.actorId),
    index('audit_organization').on(t.organizationId),
  ],
);

/** Hashes of erased user ids, so tokens issued before an erasure stop working at once. */
export const deletedUsers = pgTable('deleted_users', {
  idHash: text('id_hash').primaryKey(),
  deletedAt: timestamp('deleted_at').notNull(),
});

/** Messages to deliver (ticket links, invitations); written in the same transaction as their ticket. */
export const outbox = pgTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at'),
    sentAt: timestamp('sent_at'),
    lastError: text('last_error'),
  },
  (t) => [index('outbox_pending').on(t.sentAt, t.nextAttemptAt), index('outbox_user').on(t.userId)],
);

/**
 * The store's own settings: the pseudonym key when PSEUDONYM_SECRET is unset (made once by whichever
 * instance starts first, so every instance hashes erased ids alike; SQLite keeps it in a file).
 */
export const storeSettings = pgTable('store_settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Change events (issue #18), in commit order: `seq` comes from an identity column, and every
 * transaction that inserts events first takes one advisory lock (EVENTS_LOCK in ./events.ts), so
 * a smaller seq is never committed after a larger one.
 */
export const changeEvents = pgTable(
  'change_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text('id').notNull().unique(),
    type: text('type').$type<ChangeEventType>().notNull(),
    subject: text('subject').notNull(),
    time: timestamp('time').notNull(),
    data: jsonb('data').$type<ChangeEventData>().notNull(),
  },
  (t) => [index('change_events_time').on(t.time)],
);

/** Webhooks: where events are POSTed. The signing secret is kept encrypted (AES-256-GCM). */
export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  types: jsonb('types').$type<ChangeEventType[]>().notNull(),
  secretCiphertext: text('secret_ciphertext').notNull(),
  createdAt: timestamp('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

/** Each consumer's progress through the events (a webhook's id, or `nats`), leased to one instance at a time. */
export const eventCursors = pgTable('event_cursors', {
  consumer: text('consumer').primaryKey(),
  afterSeq: bigint('after_seq', { mode: 'number' }).notNull(),
  generation: integer('generation').notNull().default(0),
  leaseOwner: text('lease_owner'),
  leaseUntil: timestamp('lease_until'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at'),
  failingSince: timestamp('failing_since'),
  lastError: text('last_error'),
});

/** Events a consumer gave up on after the documented time (kept for redelivery decisions). */
export const eventDeliveryFailures = pgTable(
  'event_delivery_failures',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    consumer: text('consumer').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    eventId: text('event_id').notNull(),
    attempts: integer('attempts').notNull(),
    lastError: text('last_error'),
    failedAt: timestamp('failed_at').notNull(),
  },
  (t) => [index('event_delivery_failures_consumer').on(t.consumer, t.seq)],
);
