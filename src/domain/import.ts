// Bulk import records (Auth0's bulk-import shape): each record is checked on its own and either
// becomes a profile to store or fails with a stable code. Pure: the caller passes in how to tell
// a password hash it accepts.
import { checkMetadata } from './metadata.js';
import type { Metadata, ProfilePatch, UserError } from './types.js';
import { normalizeEmail, validateProfilePatch } from './validation.js';

export interface ImportRecord {
  /** Without the `auth0|` prefix; absent: the gateway makes one. */
  userId: string | null;
  profile: ProfilePatch & { email: string };
  passwordHash: string | null;
}

export type ParsedRecord = { ok: true; record: ImportRecord } | { ok: false; code: string; message: string };

const STRING_FIELDS = ['email', 'username', 'phone_number', 'name', 'nickname', 'given_name', 'family_name', 'picture'] as const;
const BOOLEAN_FIELDS = ['email_verified', 'phone_verified', 'blocked'] as const;
const KNOWN = new Set<string>([
  ...STRING_FIELDS,
  ...BOOLEAN_FIELDS,
  'user_id',
  'user_metadata',
  'app_metadata',
  'password_hash',
  'custom_password_hash',
]);

const fail = (code: string, message: string): ParsedRecord => ({ ok: false, code, message });

/** A record a file reader could not parse: it keeps its index and is reported as INVALID_JSON. */
export class UnreadableRecord {
  constructor(readonly reason: string) {}
}

function firstError(errors: UserError[]): ParsedRecord | null {
  const e = errors[0];
  return e ? fail(e.code, e.message) : null;
}

/** The hash of `password_hash`, or of Auth0's `custom_password_hash: { algorithm, hash: { value } }`. */
function passwordHashOf(raw: Record<string, unknown>): unknown {
  if (raw.password_hash !== undefined) return raw.password_hash;
  const custom = raw.custom_password_hash as { hash?: { value?: unknown } } | undefined;
  return custom && typeof custom === 'object' ? custom.hash?.value : undefined;
}

/**
 * One record of an import file. `requiresUsername`: the connection's setting; `acceptsHash`: whether
 * a stored hash is one the gateway can verify (argon2, scrypt or bcrypt).
 */
export function parseImportRecord(
  raw: unknown,
  opts: { requiresUsername: boolean; acceptsHash: (hash: string) => boolean },
): ParsedRecord {
  if (raw instanceof UnreadableRecord) return fail('INVALID_JSON', raw.reason);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('INVALID_RECORD', 'A record is a JSON object.');
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) return fail('UNKNOWN_FIELD', `Unknown field ${unknown.join(', ')}.`);
  for (const k of STRING_FIELDS) {
    if (r[k] !== undefined && r[k] !== null && typeof r[k] !== 'string') return fail('INVALID_RECORD', `${k} must be a string.`);
  }
  for (const k of BOOLEAN_FIELDS) {
    if (r[k] !== undefined && typeof r[k] !== 'boolean') return fail('INVALID_RECORD', `${k} must be true or false.`);
  }
  if (typeof r.email !== 'string' || r.email.trim() === '') return fail('REQUIRED', 'Every record needs an email.');
  if (opts.requiresUsername && (typeof r.username !== 'string' || r.username === '')) {
    return fail('REQUIRED', 'This connection requires usernames.');
  }
  if (!opts.requiresUsername && typeof r.username === 'string') {
    return fail('NOT_SUPPORTED_BY_CONNECTION', 'This connection does not use usernames (requires_username is off).');
  }
  let userId: string | null = null;
  if (r.user_id !== undefined) {
    const id = typeof r.user_id === 'number' ? String(r.user_id) : r.user_id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(id.replace(/^auth0\|/, ''))) {
      return fail('INVALID_USER_ID', 'user_id is 1–128 letters, digits, _ . -');
    }
    userId = id.replace(/^auth0\|/, '');
  }
  const profile: ProfilePatch & { email: string } = { email: r.email };
  for (const k of STRING_FIELDS) if (typeof r[k] === 'string') profile[k] = r[k] as string;
  for (const k of BOOLEAN_FIELDS) if (typeof r[k] === 'boolean') profile[k] = r[k] as boolean;
  const invalid = firstError(validateProfilePatch(profile));
  if (invalid) return invalid;
  for (const which of ['user_metadata', 'app_metadata'] as const) {
    const value = r[which];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) return fail('INVALID_METADATA_VALUE', `${which} must be a JSON object.`);
    const bad = firstError(checkMetadata(which, value as Metadata));
    if (bad) return bad;
    profile[which] = value as Metadata;
  }
  const hash = passwordHashOf(r);
  if (hash !== undefined && (typeof hash !== 'string' || !opts.acceptsHash(hash))) {
    return fail('INVALID_PASSWORD_HASH', 'password_hash must be an argon2, scrypt or bcrypt hash.');
  }
  return { ok: true, record: { userId, profile, passwordHash: typeof hash === 'string' ? hash : null } };
}

/** The keys a record may clash on within one file (case-insensitive email and username, user_id). */
export function recordKeys(record: ImportRecord): string[] {
  const keys = [`e:${normalizeEmail(record.profile.email)}`];
  if (record.profile.username) keys.push(`u:${record.profile.username.toLowerCase()}`);
  if (record.userId) keys.push(`i:${record.userId}`);
  return keys;
}
