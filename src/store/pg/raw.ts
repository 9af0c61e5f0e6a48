// The profile read and the caller check, each one statement (the counterparts of ../sqlite/raw.ts):
// json_agg per relation, with the raw column names kept so the mappers below read them.
import { sql } from 'drizzle-orm';
import type { Metadata, OrgRole } from '../../domain/types.js';
import type { IdentityRow, MembershipRow, OrganizationRow, SubjectStanding, UserRow, UserWithRelations } from '../types.js';

export const USER_COLUMNS =
  'id, connection_id, email, email_verified, username, phone_number, phone_verified, name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, blocked_by_organization_id, migrated, version, created_at, updated_at, last_login, last_ip, logins_count, profile_synced_at';

export interface RawUser {
  id: string;
  connection_id: string;
  email: string | null;
  email_verified: boolean;
  username: string | null;
  phone_number: string | null;
  phone_verified: boolean;
  name: string | null;
  nickname: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  user_metadata: Metadata;
  app_metadata: Metadata;
  blocked: boolean;
  blocked_by_organization_id: string | null;
  migrated: boolean;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
  last_login: Date | string | null;
  last_ip: string | null;
  logins_count: number;
  profile_synced_at: Date | string | null;
}

/**
 * A timestamp of a raw row: drizzle's node-postgres driver leaves timestamptz as PostgreSQL's text
 * ("2026-12-01 15:13:05.708+00") for its own mapping, which a raw statement does not get.
 */
export function pgDate(value: Date | string): Date;
export function pgDate(value: Date | string | null): Date | null;
export function pgDate(value: Date | string | null): Date | null {
  if (value === null || value instanceof Date) return value;
  const iso = value.replace(' ', 'T');
  return new Date(/[+-]\d\d$/.test(iso) ? `${iso}:00` : iso);
}

export function userFromRaw(r: RawUser): UserRow {
  return {
    id: r.id,
    connectionId: r.connection_id,
    email: r.email,
    emailVerified: r.email_verified,
    username: r.username,
    phoneNumber: r.phone_number,
    phoneVerified: r.phone_verified,
    name: r.name,
    nickname: r.nickname,
    givenName: r.given_name,
    familyName: r.family_name,
    picture: r.picture,
    userMetadata: r.user_metadata,
    appMetadata: r.app_metadata,
    blocked: r.blocked,
    blockedByOrganizationId: r.blocked_by_organization_id,
    migrated: r.migrated,
    version: r.version,
    createdAt: pgDate(r.created_at),
    updatedAt: pgDate(r.updated_at),
    lastLogin: pgDate(r.last_login),
    lastIp: r.last_ip,
    loginsCount: r.logins_count,
    profileSyncedAt: pgDate(r.profile_synced_at),
  };
}

/** Rows inside json_agg: timestamps arrive as ISO text. */
interface JsonIdentity {
  user_id: string;
  connection_id: string;
  provider: string;
  upstream_user_id: string;
  is_social: boolean;
  profile_data: Metadata | null;
}
interface JsonMembership {
  organization_id: string;
  user_id: string;
  roles: OrgRole[];
  invited_email: string | null;
  joined_at: string;
}
interface JsonOrganization {
  name: string;
  display_name: string | null;
  created_at: string;
  updated_at: string;
}

const identityFromJson = (r: JsonIdentity): IdentityRow => ({
  userId: r.user_id,
  connectionId: r.connection_id,
  provider: r.provider,
  upstreamUserId: r.upstream_user_id,
  isSocial: r.is_social,
  profileData: r.profile_data,
});

const membershipFromJson = (r: JsonMembership): MembershipRow => ({
  organizationId: r.organization_id,
  userId: r.user_id,
  roles: r.roles,
  invitedEmail: r.invited_email,
  joinedAt: pgDate(r.joined_at),
});

const MEMBERSHIP_JSON = `'organization_id', m.organization_id, 'user_id', m.user_id, 'roles', m.roles, 'invited_email', m.invited_email, 'joined_at', m.joined_at`;

export const usersWithRelations = (ids: readonly string[]) =>
  sql.raw(`SELECT ${USER_COLUMNS.split(', ')
    .map((c) => `u.${c}`)
    .join(', ')},
  coalesce((SELECT json_agg(json_build_object('user_id', i.user_id, 'connection_id', i.connection_id, 'provider', i.provider, 'upstream_user_id', i.upstream_user_id, 'is_social', i.is_social, 'profile_data', i.profile_data)) FROM identities i WHERE i.user_id = u.id), '[]') AS identities_json,
  coalesce((SELECT json_agg(json_build_object(${MEMBERSHIP_JSON}, 'name', o.name, 'display_name', o.display_name, 'created_at', o.created_at, 'updated_at', o.updated_at) ORDER BY m.organization_id) FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = u.id), '[]') AS memberships_json
FROM users u WHERE u.id = ANY(`).append(sql`${sql.param([...ids])}::text[])`);

export interface RawUserWithRelations extends RawUser {
  identities_json: JsonIdentity[];
  memberships_json: (JsonMembership & JsonOrganization)[];
}

export function userWithRelationsFromRaw(r: RawUserWithRelations): UserWithRelations {
  const joined = r.memberships_json;
  return {
    user: userFromRaw(r),
    identities: r.identities_json.map(identityFromJson),
    memberships: joined.map(membershipFromJson),
    organizations: joined.map(
      (j): OrganizationRow => ({ id: j.organization_id, name: j.name, displayName: j.display_name, createdAt: pgDate(j.created_at), updatedAt: pgDate(j.updated_at) }),
    ),
  };
}

/** The caller check: blocked (null: no such user), erased, and memberships, in one statement. */
export const subjectStanding = (id: string, hash: string) => sql`SELECT
  (SELECT blocked FROM users WHERE id = ${id}) AS blocked,
  (SELECT created_at FROM users WHERE id = ${id}) AS created_at,
  (SELECT deleted_at FROM deleted_users WHERE id_hash = ${hash}) AS deleted_at,
  coalesce((SELECT json_agg(json_build_object(${sql.raw(MEMBERSHIP_JSON)}) ORDER BY m.organization_id) FROM memberships m WHERE m.user_id = ${id}), '[]') AS memberships_json`;

export function standingFromRaw(r: { blocked: boolean | null; created_at: Date | string | null; deleted_at: Date | string | null; memberships_json: JsonMembership[] }): SubjectStanding {
  return {
    blocked: r.blocked,
    createdAt: pgDate(r.created_at),
    deletedAt: pgDate(r.deleted_at),
    memberships: r.memberships_json.map(membershipFromJson),
  };
}

