// Hot paths on prepared better-sqlite3 statements, prepared once per database. drizzle builds and
// prepares its SQL on every call, which the import's profile showed as most of its time.
import type Database from 'better-sqlite3';
import type { Metadata } from '../../domain/types.js';
import type { UserRow } from '../types.js';

/** The columns of a UserRow, never the password hash. */
export const USER_COLUMNS =
  'id, connection_id, email, email_verified, username, phone_number, phone_verified, name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, migrated, version, created_at, updated_at, last_login, last_ip, logins_count, profile_synced_at';

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

/** Statements prepared once and reused (better-sqlite3 statements are bound to their database). */
export class Statements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly sqlite: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}
