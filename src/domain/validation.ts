// The limits on profile field values (shared/domain.md, "Limits"). Pure: no graphql, drizzle or IO.

import { toCamel } from './names.js';

export { normalizeEmail, normalizeUsername, sameEmail } from './keys.js';
import type { ProfilePatch, UserError } from './types.js';

export const NAME_MIN_LENGTH = 1;
/** name, given_name, family_name: characters (Unicode code points). */
export const NAME_MAX_LENGTH = 150;
export const NICKNAME_MIN_LENGTH = 1;
export const NICKNAME_MAX_LENGTH = 300;
export const USERNAME_MIN_LENGTH = 1;
export const USERNAME_MAX_LENGTH = 128;
export const EMAIL_MAX_LENGTH = 254;
/** Local part of an address (RFC 5321). */
export const EMAIL_LOCAL_MAX_LENGTH = 64;
/** Password length in UTF-8 bytes (72 is bcrypt's limit). */
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 72;

/** The characters a username may use, as written in messages. */
export const USERNAME_ALLOWED_CHARACTERS = "A–Z a–z 0–9 _ + - . ! # $ ' ^ ` ~ @";
/** One allowed username character. */
export const USERNAME_CHAR = /^[A-Za-z0-9_+\-.!#$'^`~@]$/;
const USERNAME_PATTERN = /^[A-Za-z0-9_+\-.!#$'^`~@]+$/;

/** E.164: a plus, a non-zero country digit, at most 15 digits in all. */
export const E164_PATTERN = /^\+[1-9]\d{1,14}$/;

// A "sane" address: dot-atom local part (ASCII atext or any letter/number), no leading, trailing or
// doubled dots; a domain of at least two dot-separated labels of letters, numbers and inner hyphens,
// each at most 63 characters, the last at least two letters long. No quoted local parts, no IP
// literals, no whitespace.
const EMAIL_LOCAL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\p{L}\\p{N}]+";
const EMAIL_LOCAL = new RegExp(`^${EMAIL_LOCAL_ATOM}(?:\\.${EMAIL_LOCAL_ATOM})*$`, 'u');
const EMAIL_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;
const EMAIL_TLD = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;

const encoder = new TextEncoder();


/** Length in characters (Unicode code points, so an emoji counts once). */
export function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Length in UTF-8 bytes. */
export function utf8Length(value: string): number {
  return encoder.encode(value).length;
}

/** Length of a name or nickname: a value that is empty after trimming counts as 0. */
function textLength(value: string): number {
  return value.trim() === '' ? 0 : charLength(value);
}

export function isValidUsername(username: string): boolean {
  const n = username.length; // ASCII only when valid, so UTF-16 units are characters
  return n >= USERNAME_MIN_LENGTH && n <= USERNAME_MAX_LENGTH && USERNAME_PATTERN.test(username);
}

export function isValidEmailShape(email: string): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (charLength(local) > EMAIL_LOCAL_MAX_LENGTH || !EMAIL_LOCAL.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((label) => EMAIL_LABEL.test(label))) return false;
  return EMAIL_TLD.test(labels[labels.length - 1]!);
}

export function isValidPhoneNumber(phone: string): boolean {
  return E164_PATTERN.test(phone);
}

/** An absolute http(s) URL, written out with its `//` (so `https:x` is refused). */
export function isValidPictureUrl(picture: string): boolean {
  if (!/^https?:\/\//i.test(picture)) return false;
  let url: URL;
  try {
    url = new URL(picture);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

function lengthError(field: string, min: number, max: number, unit: string): UserError {
  const name = toCamel(field);
  return {
    field: [name],
    code: 'INVALID_LENGTH',
    message: `${name} must be ${min}–${max} ${unit}.`,
  };
}

const TEXT_LIMITS = [
  ['name', NAME_MIN_LENGTH, NAME_MAX_LENGTH],
  ['nickname', NICKNAME_MIN_LENGTH, NICKNAME_MAX_LENGTH],
  ['given_name', NAME_MIN_LENGTH, NAME_MAX_LENGTH],
  ['family_name', NAME_MIN_LENGTH, NAME_MAX_LENGTH],
] as const;

/**
 * Checks every value the patch sets (absent keys and nulls are not checked; booleans and metadata
 * have no limits here: metadata is checked after the merge, see metadata.ts). At most one error per
 * field, in the order of PROFILE_FIELDS; a length violation is INVALID_LENGTH, a shape violation the
 * field's own code.
 */
export function validateProfilePatch(patch: ProfilePatch): UserError[] {
  const errors: UserError[] = [];
  // First, and alone for its field: U+0000 and lone surrogates (PostgreSQL refuses them, SQLite
  // would keep them; neither is text a person typed).
  const unusable = new Set<string>();
  for (const [field, value] of Object.entries(patch)) {
    if (typeof value === 'string' && hasUnusableCharacters(value)) {
      unusable.add(field);
      errors.push(unusableCharactersError([toCamel(field)]));
    }
  }
  if (unusable.size > 0) return errors;

  if (patch.email != null) {
    const email = patch.email;
    if (charLength(email) > EMAIL_MAX_LENGTH) {
      errors.push({
        field: ['email'],
        code: 'INVALID_LENGTH',
        message: `email may be at most ${EMAIL_MAX_LENGTH} characters.`,
      });
    } else if (!isValidEmailShape(email)) {
      errors.push({
        field: ['email'],
        code: 'INVALID_EMAIL',
        message:
          'email must be an address like name@example.com: no spaces, a local part of at most 64 characters, and a domain with a top-level domain.',
      });
    }
  }

  if (patch.username != null) {
    const username = patch.username;
    const n = charLength(username);
    if (n < USERNAME_MIN_LENGTH || n > USERNAME_MAX_LENGTH) {
      errors.push(lengthError('username', USERNAME_MIN_LENGTH, USERNAME_MAX_LENGTH, 'characters'));
    } else if (!USERNAME_PATTERN.test(username)) {
      errors.push({
        field: ['username'],
        code: 'INVALID_USERNAME',
        message: `username may only use the characters ${USERNAME_ALLOWED_CHARACTERS}.`,
      });
    }
  }

  if (patch.phone_number != null && !isValidPhoneNumber(patch.phone_number)) {
    errors.push({
      field: ['phoneNumber'],
      code: 'INVALID_PHONE_NUMBER',
      message:
        'phoneNumber must be in E.164 format: "+", the country code and the number, at most 15 digits, no spaces (e.g. +14155550123).',
    });
  }

  if (patch.password !== undefined) {
    const bytes = utf8Length(patch.password);
    if (bytes < PASSWORD_MIN_BYTES) {
      errors.push({
        field: ['password'],
        code: 'PASSWORD_TOO_WEAK',
        message: `password must be at least ${PASSWORD_MIN_BYTES} bytes (UTF-8) long.`,
      });
    } else if (bytes > PASSWORD_MAX_BYTES) {
      errors.push({
        field: ['password'],
        code: 'PASSWORD_TOO_LONG',
        message: `password may be at most ${PASSWORD_MAX_BYTES} bytes (UTF-8) long; characters outside ASCII take 2–4 bytes each.`,
      });
    }
  }

  for (const [field, min, max] of TEXT_LIMITS) {
    const value = patch[field];
    if (value == null) continue;
    const n = textLength(value);
    if (n < min || n > max) errors.push(lengthError(field, min, max, 'characters (not only spaces)'));
  }

  if (patch.picture != null && !isValidPictureUrl(patch.picture)) {
    errors.push({
      field: ['picture'],
      code: 'INVALID_PICTURE',
      message: 'picture must be an absolute http:// or https:// URL.',
    });
  }

  return errors;
}

/** The user errors for an email or username another user of the same connection already has. */
export function conflictErrors(clash: { email: boolean; username: boolean }): UserError[] {
  const errors: UserError[] = [];
  if (clash.email) {
    errors.push({
      field: ['email'],
      code: 'EMAIL_TAKEN',
      message: 'Another user of this connection has this email.',
    });
  }
  if (clash.username) {
    errors.push({
      field: ['username'],
      code: 'USERNAME_TAKEN',
      message: 'Another user of this connection has this username.',
    });
  }
  return errors;
}

/** An update based on an older version of the profile than the stored one. */
export function versionConflict(expected: number, actual: number): UserError {
  return {
    field: ['expectedVersion'],
    code: 'VERSION_CONFLICT',
    message: `The profile changed since version ${expected}; it is now at version ${actual}. Reload it and try again.`,
  };
}

/** U+0000, or a UTF-16 surrogate without its pair: characters no store keeps alike. */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const UNUSABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function hasUnusableCharacters(text: string): boolean {
  return UNUSABLE.test(text);
}

export function unusableCharactersError(field: string[]): UserError {
  return { field, code: 'INVALID_CHARACTERS', message: 'Text may not contain U+0000 or an unpaired UTF-16 surrogate; remove it.' };
}

