// Hot paths on prepared better-sqlite3 statements, prepared once per database. drizzle builds and
// prepares its SQL on every call, which the import's profile showed as most of its time.
import type Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import type { ConnectionKind, Metadata, OrgRole } from '../../domain/types.js';
import type {
  ConnectionOptions,
  IdentityRow,
  MembershipRow,
  OrganizationRow,
  SubjectStanding,
  UserRow,
  UserWithRelations,
} from '../types.js';

/** The columns of a UserRow, never the password hash. */
export const USER_COLUMNS =
  'id, connection_id, email, email_verified, username, phone_number, phone_verified, name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, blocked_by_organization_id, migrated, version, created_at, updated_at, last_login, last_ip, logins_count, profile_synced_at';

export interface RawUser {
  id: string;
  connection_id: string;
  email: string | null;
  email_verified: number;
  username: string | null;
  phone_number: string | null;
  phone_verified: number;
  name: string | null;
  nickname: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  user_metadata: string;
  app_metadata: string;
  blocked: number;
  blocked_by_organization_id: string | null;
  migrated: number;
  version: number;
  created_at: number;
  updated_at: number;
  last_login: number | null;
  last_ip: string | null;
  logins_count: number;
  profile_synced_at: number | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

export function userFromRaw(r: RawUser): UserRow {
  return {
    id: r.id,
    connectionId: r.connection_id,
    email: r.email,
    emailVerified: r.email_verified === 1,
    username: r.username,
    phoneNumber: r.phone_number,
    phoneVerified: r.phone_verified === 1,
    name: r.name,
    nickname: r.nickname,
    givenName: r.given_name,
    familyName: r.family_name,
    picture: r.picture,
    userMetadata: JSON.parse(r.user_metadata) as Metadata,
    appMetadata: JSON.parse(r.app_metadata) as Metadata,
    blocked: r.blocked === 1,
    blockedByOrganizationId: r.blocked_by_organization_id,
    migrated: r.migrated === 1,
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    lastLogin: date(r.last_login),
    lastIp: r.last_ip,
    loginsCount: r.logins_count,
    profileSyncedAt: date(r.profile_synced_at),
  };
}

/** SQL texts kept prepared; past it, the least recently used is dropped (prepared again if asked). */
const KEPT_STATEMENTS = 1000;

/**
 * Statements prepared once and reused (better-sqlite3 statements are bound to their database). A
 * bounded LRU: the store's texts are a fixed set but for the compare-and-set UPDATE, one text per
 * set of columns a write changes.
 */
export class Statements {
  private readonly prepare: (sql: string) => Database.Statement;

  constructor(
    sqlite: Database.Database,
    /** Told of every statement about to run (the statement-count tests listen). */
    private readonly onStatement?: (sql: string) => void,
  ) {
    this.prepare = preparedOnce(sqlite, KEPT_STATEMENTS);
  }

  /** The prepared statement for `sql`; each call stands for one execution. */
  get(sql: string): Database.Statement {
    this.onStatement?.(sql);
    return this.prepare(sql);
  }
}

/** `sqlite.prepare`, each SQL text's statement kept (the `max` most recently used). */
function preparedOnce(sqlite: Database.Database, max: number): (sql: string) => Database.Statement {
  const kept = new LRUCache<string, Database.Statement>({ max });
  return (sql) => {
    let statement = kept.get(sql);
    if (!statement) {
      statement = sqlite.prepare(sql);
      kept.set(sql, statement);
    }
    return statement;
  };
}

/** `IN (SELECT value FROM json_each(?))`: one prepared statement serves every batch size. */
export const IN_JSON = 'IN (SELECT value FROM json_each(?))';

export interface RawConnection {
  id: string;
  name: string;
  kind: string;
  strategy: string;
  options: string;
  created_at: number;
  updated_at: number;
}

export const connectionFromRaw = (r: RawConnection) => ({
  id: r.id,
  name: r.name,
  kind: r.kind as ConnectionKind,
  strategy: r.strategy,
  options: JSON.parse(r.options) as ConnectionOptions,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export interface RawOrganization {
  id: string;
  name: string;
  display_name: string | null;
  created_at: number;
  updated_at: number;
}

export const organizationFromRaw = (r: RawOrganization): OrganizationRow => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export interface RawMembership {
  organization_id: string;
  user_id: string;
  roles: string;
  invited_email: string | null;
  joined_at: number;
}

export const membershipFromRaw = (r: RawMembership): MembershipRow => ({
  organizationId: r.organization_id,
  userId: r.user_id,
  roles: JSON.parse(r.roles) as OrgRole[],
  invitedEmail: r.invited_email,
  joinedAt: new Date(r.joined_at),
});

export interface RawIdentity {
  user_id: string;
  connection_id: string;
  provider: string;
  upstream_user_id: string;
  is_social: number;
  profile_data: string | null;
}

export const identityFromRaw = (r: RawIdentity): IdentityRow => ({
  userId: r.user_id,
  connectionId: r.connection_id,
  provider: r.provider,
  upstreamUserId: r.upstream_user_id,
  isSocial: r.is_social === 1,
  profileData: r.profile_data === null ? null : (JSON.parse(r.profile_data) as Metadata),
});

// A user with its identities and memberships (joined to their organizations) in one statement:
// json_group_array per relation, the raw column names kept so the mappers above read them.
const IDENTITY_JSON = `json_object('user_id', i.user_id, 'connection_id', i.connection_id, 'provider', i.provider, 'upstream_user_id', i.upstream_user_id, 'is_social', i.is_social, 'profile_data', i.profile_data)`;
const MEMBERSHIP_JSON = `json_object('organization_id', m.organization_id, 'user_id', m.user_id, 'roles', m.roles, 'invited_email', m.invited_email, 'joined_at', m.joined_at, 'name', o.name, 'display_name', o.display_name, 'created_at', o.created_at, 'updated_at', o.updated_at)`;

export const USERS_WITH_RELATIONS = `SELECT ${USER_COLUMNS
  .split(', ')
  .map((c) => `u.${c}`)
  .join(', ')},
  (SELECT json_group_array(${IDENTITY_JSON}) FROM identities i WHERE i.user_id = u.id) AS identities_json,
  (SELECT json_group_array(${MEMBERSHIP_JSON}) FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = u.id) AS memberships_json
FROM users u WHERE u.id ${IN_JSON}`;

export interface RawUserWithRelations extends RawUser {
  identities_json: string;
  memberships_json: string;
}

export function userWithRelationsFromRaw(r: RawUserWithRelations): UserWithRelations {
  const identities = (JSON.parse(r.identities_json) as RawIdentity[]).map(identityFromRaw);
  const joined = (JSON.parse(r.memberships_json) as (RawMembership & RawOrganization)[]).sort((a, b) =>
    a.organization_id < b.organization_id ? -1 : a.organization_id > b.organization_id ? 1 : 0,
  );
  return {
    user: userFromRaw(r),
    identities,
    memberships: joined.map(membershipFromRaw),
    organizations: joined.map((j) => organizationFromRaw({ ...j, id: j.organization_id })),
  };
}

/** The caller check: blocked (null: no such user), erased, and memberships; @id the id, @hash its deletion hash. */
export const SUBJECT_STANDING = `SELECT
  (SELECT blocked FROM users WHERE id = @id) AS blocked,
  (SELECT created_at FROM users WHERE id = @id) AS created_at,
  (SELECT deleted_at FROM deleted_users WHERE id_hash = @hash) AS deleted_at,
  (SELECT json_group_array(json_object('organization_id', organization_id, 'user_id', user_id, 'roles', roles, 'invited_email', invited_email, 'joined_at', joined_at)) FROM memberships WHERE user_id = @id) AS memberships_json`;

export function standingFromRaw(r: { blocked: number | null; created_at: number | null; deleted_at: number | null; memberships_json: string }): SubjectStanding {
  return {
    blocked: r.blocked === null ? null : r.blocked === 1,
    createdAt: r.created_at === null ? null : new Date(r.created_at),
    deletedAt: r.deleted_at === null ? null : new Date(r.deleted_at),
    memberships: (JSON.parse(r.memberships_json) as RawMembership[])
      .map(membershipFromRaw)
      .sort((a, b) => (a.organizationId < b.organizationId ? -1 : a.organizationId > b.organizationId ? 1 : 0)),
  };
}

/** Distinct SQL texts drizzle's statements are kept for (a list of n ids is its own text). */
const DRIZZLE_STATEMENTS = 500;

/**
 * The database as drizzle is given it: `prepare` keeps each SQL text's statement (least recently
 * used dropped past DRIZZLE_STATEMENTS). drizzle prepares its SQL again on every call, which a
 * write's profile showed as a fifth of its time. drizzle runs a statement right after preparing
 * it, on this one thread, so sharing one is safe; its data mode is reset at each prepare (drizzle
 * turns `raw()` on for row arrays and expects it off otherwise). Only drizzle sees this object:
 * the store's own statements (Statements) and anything that iterates keep their own.
 */
export function preparingOnce(sqlite: Database.Database): Database.Database {
  const prepared = preparedOnce(sqlite, DRIZZLE_STATEMENTS);
  const prepare = (sql: string): Database.Statement => {
    const statement = prepared(sql);
    if (statement.reader) statement.raw(false);
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, key) {
      if (key === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The store's Statements for a drizzle database or any transaction opened on it (they share one
 * session: drizzle hands a transaction the session of its database), so the hot writes inside a
 * drizzle transaction run prepared statements on the same connection, hence in that transaction.
 */
const statementsBySession = new WeakMap<object, Statements>();
const sessionOf = (db: object): object => (db as { session?: object }).session ?? db;

export function registerStatements(db: object, statements: Statements): void {
  statementsBySession.set(sessionOf(db), statements);
}

export function statementsOf(db: object): Statements {
  const statements = statementsBySession.get(sessionOf(db));
  if (!statements) throw new Error('no prepared statements registered for this SQLite database');
  return statements;
}

