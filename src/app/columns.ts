// The domain's profile (snake_case) as the store's columns (camelCase, as domain/names.ts spells
// them): one mapping for updates, logins, imports and new users.
import { CAMEL_NAMES } from '../domain/names.js';
import { PROFILE_FIELDS, type ProfilePatch } from '../domain/types.js';
import type { NewUser, UserChanges } from '../store/types.js';

/** Only the keys present in the patch; metadata as given (an update merges it afterwards), never null. */
export function profileColumns(p: ProfilePatch): UserChanges {
  const c: Record<string, unknown> = {};
  for (const field of PROFILE_FIELDS) {
    const value = p[field];
    if (field === 'password' || value === undefined) continue;
    if ((field === 'user_metadata' || field === 'app_metadata') && value === null) continue;
    c[CAMEL_NAMES[field]] = value;
  }
  return c as UserChanges;
}

/** A new user's columns where the profile says nothing (or null). */
const NEW_USER_DEFAULTS = {
  email: null,
  emailVerified: false,
  username: null,
  phoneNumber: null,
  phoneVerified: false,
  name: null,
  nickname: null,
  givenName: null,
  familyName: null,
  picture: null,
  userMetadata: {},
  appMetadata: {},
  blocked: false,
} satisfies Omit<Required<NewUser>, 'id' | 'connectionId' | 'migrated' | 'passwordHash' | 'lastLogin' | 'lastIp' | 'loginsCount' | 'profileSyncedAt' | 'identity'>;

/** A new database user (`auth0|<key>`) of a connection, from a profile. */
export function newDatabaseUser(
  connectionId: string,
  key: string,
  p: ProfilePatch,
  extra: { migrated: boolean; passwordHash: string | null },
): NewUser {
  const given = profileColumns(p) as Record<string, unknown>;
  const columns = Object.fromEntries(
    Object.entries(NEW_USER_DEFAULTS).map(([column, fallback]) => [column, given[column] ?? fallback]),
  ) as typeof NEW_USER_DEFAULTS;
  return {
    id: `auth0|${key}`,
    connectionId,
    ...columns,
    migrated: extra.migrated,
    passwordHash: extra.passwordHash,
    identity: { provider: 'auth0', upstreamUserId: key, isSocial: false, profileData: null },
  };
}
