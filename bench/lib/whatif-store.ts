// What-if: the store's hot reads through statements prepared once, instead of a drizzle query
// built and an SQLite statement compiled on every call. A measuring aid for the report (a
// prototype of the proposed fix), not part of the gateway: it wraps a real store, replaces only
// the reads the benchmark's requests make, and delegates everything else.
import Database from 'better-sqlite3';
import type {
  ConnectionRow,
  IdentityRow,
  MembershipRow,
  OrganizationRow,
  Store,
  UserRow,
} from '../../src/store/types.js';

const USER_COLUMNS = `id, connection_id, email, email_verified, username, phone_number, phone_verified, name, nickname,
  given_name, family_name, picture, user_metadata, app_metadata, blocked, blocked_by_organization_id, migrated, version, created_at, updated_at,
  last_login, last_ip, logins_count, profile_synced_at`;

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as number));
const json = <T>(v: unknown): T => JSON.parse(v as string) as T;

function userFrom(r: Raw): UserRow {
  return {
    id: r.id as string,
    connectionId: r.connection_id as string,
    email: r.email as string | null,
    emailVerified: r.email_verified === 1,
    username: r.username as string | null,
    phoneNumber: r.phone_number as string | null,
    phoneVerified: r.phone_verified === 1,
    name: r.name as string | null,
    nickname: r.nickname as string | null,
    givenName: r.given_name as string | null,
    familyName: r.family_name as string | null,
    picture: r.picture as string | null,
    userMetadata: json(r.user_metadata),
    appMetadata: json(r.app_metadata),
    blocked: r.blocked === 1,
    blockedByOrganizationId: (r.blocked_by_organization_id as string | null) ?? null,
    migrated: r.migrated === 1,
    version: r.version as number,
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    lastLogin: date(r.last_login),
    lastIp: r.last_ip as string | null,
    loginsCount: r.logins_count as number,
    profileSyncedAt: date(r.profile_synced_at),
  };
}

function byKey<T>(ids: readonly string[], rows: T[], key: (r: T) => string): (T | null)[] {
  const map = new Map(rows.map((r) => [key(r), r]));
  return ids.map((id) => map.get(id) ?? null);
}

function groupBy<T>(ids: readonly string[], rows: T[], key: (r: T) => string): T[][] {
  const map = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const r of rows) map.get(key(r))?.push(r);
  return ids.map((id) => map.get(id) ?? []);
}

/**
 * `IN (SELECT value FROM json_each(?))`: one prepared statement serves every batch size (the
 * DataLoader's batches vary), still an index lookup per key.
 */
export function withPreparedReads(store: Store, path: string): Store & { closeReads(): void } {
  const db = new Database(path, { readonly: true });
  const users = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id IN (SELECT value FROM json_each(?))`);
  const connections = db.prepare('SELECT * FROM connections WHERE id IN (SELECT value FROM json_each(?))');
  const organizations = db.prepare('SELECT * FROM organizations WHERE id IN (SELECT value FROM json_each(?))');
  const memberships = db.prepare(
    'SELECT * FROM memberships WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY organization_id',
  );
  const identities = db.prepare('SELECT * FROM identities WHERE user_id IN (SELECT value FROM json_each(?))');
  const count = db.prepare('SELECT count(*) FROM users').pluck();
  const pageFirst = db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY id LIMIT ?`);
  const pageAfter = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id > ? ORDER BY id LIMIT ?`);

  return {
    ...store,
    closeReads: () => db.close(),
    users: {
      ...store.users,
      async byIds(ids) {
        return byKey(ids, (users.all(JSON.stringify(ids)) as Raw[]).map(userFrom), (u) => u.id);
      },
      async identitiesByUserIds(ids) {
        const rows = (identities.all(JSON.stringify(ids)) as Raw[]).map(
          (r): IdentityRow => ({
            userId: r.user_id as string,
            connectionId: r.connection_id as string,
            provider: r.provider as string,
            upstreamUserId: r.upstream_user_id as string,
            isSocial: r.is_social === 1,
            profileData: r.profile_data === null ? null : json(r.profile_data),
          }),
        );
        return groupBy(ids, rows, (r) => r.userId);
      },
      async list(args) {
        const plain = !args.visibleTo && !Object.values(args.filter ?? {}).some((v) => v !== null && v !== undefined);
        if (!plain) return store.users.list(args);
        const total = count.get() as number;
        const raw = (args.after ? pageAfter.all(args.after, args.first + 1) : pageFirst.all(args.first + 1)) as Raw[];
        const rows = raw.map(userFrom);
        return { rows: rows.slice(0, args.first), hasNextPage: rows.length > args.first, totalCount: total };
      },
    },
    connections: {
      ...store.connections,
      async byIds(ids) {
        const rows = (connections.all(JSON.stringify(ids)) as Raw[]).map(
          (r): ConnectionRow => ({
            id: r.id as string,
            name: r.name as string,
            kind: r.kind as ConnectionRow['kind'],
            strategy: r.strategy as string,
            options: json(r.options),
            createdAt: date(r.created_at) as Date,
            updatedAt: date(r.updated_at) as Date,
          }),
        );
        return byKey(ids, rows, (c) => c.id);
      },
    },
    organizations: {
      ...store.organizations,
      async byIds(ids) {
        const rows = (organizations.all(JSON.stringify(ids)) as Raw[]).map(
          (r): OrganizationRow => ({
            id: r.id as string,
            name: r.name as string,
            displayName: r.display_name as string | null,
            createdAt: date(r.created_at) as Date,
            updatedAt: date(r.updated_at) as Date,
          }),
        );
        return byKey(ids, rows, (o) => o.id);
      },
      async membershipsByUserIds(ids) {
        const rows = (memberships.all(JSON.stringify(ids)) as Raw[]).map(
          (r): MembershipRow => ({
            organizationId: r.organization_id as string,
            userId: r.user_id as string,
            roles: json(r.roles),
            invitedEmail: r.invited_email as string | null,
            joinedAt: date(r.joined_at) as Date,
          }),
        );
        return groupBy(ids, rows, (m) => m.userId);
      },
    },
  };
}
