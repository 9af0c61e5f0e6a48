// What a login does to the cached profile (shared/domain.md, "The profile cache and logins").
// Pure: given the upstream profile, the sync setting and whether the user is new, it says which
// profile fields to write. Bookkeeping (last_login, logins_count…) is added by the caller.
import { type Metadata, ROOT_ATTRIBUTES, type RootAttributeSync } from './types.js';

/** An upstream profile (identity provider or custom-database script), Auth0's snake_case keys. */
export type UpstreamProfile = Record<string, unknown>;

/** The profile fields a login writes, in the domain's names; a key left out is not touched. */
export interface LoginProfileChanges {
  email?: string | null;
  email_verified?: boolean;
  username?: string | null;
  phone_number?: string | null;
  phone_verified?: boolean;
  name?: string | null;
  nickname?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  picture?: string | null;
  user_metadata?: Metadata;
  app_metadata?: Metadata;
}

export type LoginSource =
  /** Social and enterprise providers. */
  | 'identity_provider'
  /** Passwordless: the gateway is the identity provider, root attributes are set on creation only. */
  | 'passwordless'
  /** A custom database's script: the legacy database owns email, username and phone. */
  | 'custom_database';

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const flag = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const object = (v: unknown): Metadata | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Metadata) : undefined;

/**
 * A profile as every store can keep it: U+0000 removed and each unpaired UTF-16 surrogate replaced
 * by U+FFFD, in every string and key at any depth. A login is not refused for what an identity
 * provider or a legacy database sends; what reaches the cache is well-formed text. Works on the
 * JSON text (where JSON.stringify spells exactly these as escapes), so no depth can overflow a stack.
 */
export function wellFormedProfile<T>(profile: T): T {
  const json = JSON.stringify(profile);
  if (json === undefined || !UNUSABLE_ESCAPE.test(json)) return profile;
  return JSON.parse(json.replace(NUL_ESCAPE, '$1').replace(SURROGATE_ESCAPE, '$1\\ufffd')) as T;
}

// An escape is one only after an even number of backslashes ("\\u0000" is the text \u0000).
const UNUSABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;
const SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/gi;

/** The upstream id of a profile: `user_id` as a non-empty string (numbers are accepted, as Auth0 does). */
export function upstreamUserId(profile: UpstreamProfile): string | null {
  const id = profile.user_id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return typeof id === 'string' && id.trim() !== '' ? id : null;
}

/** Only http(s) pictures are kept from upstream (a `javascript:` URL is dropped, as an edit would refuse it). */
const httpUrl = (v: unknown): string | undefined => {
  const s = text(v);
  return s !== undefined && /^https?:\/\//i.test(s) ? s : undefined;
};

function rootAttributes(profile: UpstreamProfile): LoginProfileChanges {
  const out: LoginProfileChanges = {};
  for (const key of ROOT_ATTRIBUTES) {
    const value = key === 'picture' ? httpUrl(profile[key]) : text(profile[key]);
    // A key the profile leaves out keeps its value.
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * The profile fields to write for a login.
 * - creation: every field the profile carries (root attributes only unless `never_on_login`;
 *   metadata only from a custom database);
 * - later logins: root attributes only under `on_each_login` (never for passwordless); email and
 *   email_verified refreshed when present; a custom database also owns username and phone.
 */
export function loginProfileChanges(
  source: LoginSource,
  sync: RootAttributeSync,
  isNew: boolean,
  profile: UpstreamProfile,
): LoginProfileChanges {
  const changes: LoginProfileChanges = {};
  const email = text(profile.email);
  const emailVerified = flag(profile.email_verified);
  if (email !== undefined) changes.email = email;
  if (emailVerified !== undefined) changes.email_verified = emailVerified;

  if (source === 'custom_database') {
    // The legacy database owns these: its answer wins, and a value it no longer has is cleared.
    changes.username = text(profile.username) ?? null;
    changes.phone_number = text(profile.phone_number) ?? null;
    changes.phone_verified = flag(profile.phone_verified) ?? false;
    changes.email_verified = emailVerified ?? false;
  } else if (isNew) {
    const phone = text(profile.phone_number);
    const phoneVerified = flag(profile.phone_verified);
    if (phone !== undefined) changes.phone_number = phone;
    if (phoneVerified !== undefined) changes.phone_verified = phoneVerified;
  }

  const effectiveSync: RootAttributeSync = source === 'passwordless' ? 'on_first_login' : sync;
  const writeRoot = isNew ? effectiveSync !== 'never_on_login' : effectiveSync === 'on_each_login';
  if (writeRoot) Object.assign(changes, rootAttributes(profile));

  // Metadata from an identity provider is ignored; a custom database's is taken when the user is created.
  if (isNew && source === 'custom_database') {
    const userMetadata = object(profile.user_metadata);
    const appMetadata = object(profile.app_metadata);
    if (userMetadata) changes.user_metadata = userMetadata;
    if (appMetadata) changes.app_metadata = appMetadata;
  }
  return changes;
}

/** The user id a login creates: `<strategy>|<id>`, enterprise `<strategy>|<connection>|<id>`, database `auth0|<id>`. */
export function userIdFor(
  connection: { kind: string; strategy: string; name: string },
  upstreamId: string,
): string {
  if (connection.kind === 'DATABASE') return `auth0|${upstreamId}`;
  if (connection.kind === 'ENTERPRISE') return `${connection.strategy}|${connection.name}|${upstreamId}`;
  return `${connection.strategy}|${upstreamId}`;
}
