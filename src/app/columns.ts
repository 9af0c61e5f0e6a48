// The domain's profile (snake_case) as the store's columns: one mapping for updates, logins,
// imports and new users.
import type { ProfilePatch } from '../domain/types.js';
import type { NewUser, UserChanges } from '../store/types.js';

/** Only the keys present in the patch; metadata as given (an update merges it afterwards). */
export function profileColumns(p: ProfilePatch): UserChanges {
  const c: UserChanges = {};
  if (p.email !== undefined) c.email = p.email;
  if (p.email_verified !== undefined) c.emailVerified = p.email_verified;
  if (p.username !== undefined) c.username = p.username;
  if (p.phone_number !== undefined) c.phoneNumber = p.phone_number;
  if (p.phone_verified !== undefined) c.phoneVerified = p.phone_verified;
  if (p.name !== undefined) c.name = p.name;
  if (p.nickname !== undefined) c.nickname = p.nickname;
  if (p.given_name !== undefined) c.givenName = p.given_name;
  if (p.family_name !== undefined) c.familyName = p.family_name;
  if (p.picture !== undefined) c.picture = p.picture;
  if (p.user_metadata != null) c.userMetadata = p.user_metadata;
  if (p.app_metadata != null) c.appMetadata = p.app_metadata;
  if (p.blocked !== undefined) c.blocked = p.blocked;
  return c;
}

/** A new database user (`auth0|<key>`) of a connection, from a profile. */
export function newDatabaseUser(
  connectionId: string,
  key: string,
  p: ProfilePatch,
  extra: { migrated: boolean; passwordHash: string | null },
): NewUser {
  return {
    id: `auth0|${key}`,
    connectionId,
    email: p.email ?? null,
    emailVerified: p.email_verified ?? false,
    username: p.username ?? null,
    phoneNumber: p.phone_number ?? null,
    phoneVerified: p.phone_verified ?? false,
    name: p.name ?? null,
    nickname: p.nickname ?? null,
    givenName: p.given_name ?? null,
    familyName: p.family_name ?? null,
    picture: p.picture ?? null,
    userMetadata: p.user_metadata ?? {},
    appMetadata: p.app_metadata ?? {},
    blocked: p.blocked ?? false,
    migrated: extra.migrated,
    passwordHash: extra.passwordHash,
    identity: { provider: 'auth0', upstreamUserId: key, isSocial: false, profileData: null },
  };
}
