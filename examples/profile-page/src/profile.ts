// What the form edits and how a form becomes an `updateUser` input: no DOM here.
import type {
  MutabilityReason,
  ProfileField,
  ProfileFieldsFragment,
  UpdateUserInput,
} from './gql/graphql.js';
import { declaredUserKeys } from './attributes.js';

export type Profile = ProfileFieldsFragment;
type Policy = Profile['fieldPolicies'][number];

type TextKey = 'name' | 'givenName' | 'familyName' | 'nickname' | 'email' | 'username' | 'phoneNumber' | 'picture';
export type FormKey = TextKey | 'userMetadata';
/** The part of `UpdateUserInput` this page edits (Pick fails to compile if a key left the schema). */
export type ProfileChanges = Pick<UpdateUserInput, FormKey>;

export interface FieldSpec {
  key: FormKey;
  /** The fieldPolicies entry that decides whether the input is enabled. */
  field: ProfileField;
  label: string;
  type: 'text' | 'email' | 'tel' | 'url' | 'json';
  hint?: string;
}

export const FIELDS: readonly FieldSpec[] = [
  { key: 'name', field: 'NAME', label: 'Name', type: 'text' },
  { key: 'givenName', field: 'GIVEN_NAME', label: 'Given name', type: 'text' },
  { key: 'familyName', field: 'FAMILY_NAME', label: 'Family name', type: 'text' },
  { key: 'nickname', field: 'NICKNAME', label: 'Nickname', type: 'text' },
  { key: 'email', field: 'EMAIL', label: 'Email', type: 'email' },
  { key: 'username', field: 'USERNAME', label: 'Username', type: 'text' },
  { key: 'phoneNumber', field: 'PHONE_NUMBER', label: 'Phone number', type: 'tel', hint: 'E.164, e.g. +14155550123' },
  { key: 'picture', field: 'PICTURE', label: 'Picture URL', type: 'url', hint: 'http or https' },
  {
    key: 'userMetadata',
    field: 'USER_METADATA',
    label: 'Preferences (user metadata, JSON)',
    type: 'json',
    hint: 'A JSON object; keys may not contain “.” or “$”. Removing a key removes it.',
  },
];

const FORM_KEYS = new Set<string>(FIELDS.map((f) => f.key));
export const isFormKey = (key: string | undefined): key is FormKey => key !== undefined && FORM_KEYS.has(key);

/** Short words for the reasons, shown before the server's sentence. */
export const REASON_LABELS: Record<MutabilityReason, string> = {
  SYNCED_FROM_IDENTITY_PROVIDER: 'Managed by your identity provider',
  MANAGED_IN_CUSTOM_DATABASE: 'Managed in your company’s user database',
  NOT_SUPPORTED_BY_CONNECTION: 'Not available for your sign-in method',
  INVITATION_BOUND_EMAIL: 'Bound to your invitation',
  USE_PASSWORD_RESET: 'Use a password reset',
  REQUIRES_TENANT_ADMIN: 'Only an administrator can change this',
  NOT_AUTHORIZED: 'You may not change this profile',
  MEMBER_OF_ANOTHER_ORGANIZATION: 'Shared with another organization',
  BLOCKED_BY_TENANT_ADMIN: 'Blocked by a tenant administrator',
  CREATE_ONLY: 'Set when your account was created',
  WRITE_ONCE: 'Can be set only once',
  UNDECLARED_ATTRIBUTE: 'Not a profile attribute',
};

export function policyFor(profile: Profile, field: ProfileField): Policy | undefined {
  return profile.fieldPolicies.find((p) => p.field === field);
}

/** userMetadata without the declared keys, which have their own fields (attributes.ts). */
export function undeclaredUserMetadata(profile: Profile): Record<string, unknown> {
  const declared = declaredUserKeys(profile);
  return Object.fromEntries(Object.entries(profile.userMetadata ?? {}).filter(([key]) => !declared.has(key)));
}

/** The text an input starts with. */
export function initialValue(profile: Profile, key: FormKey): string {
  if (key === 'userMetadata') return JSON.stringify(undeclaredUserMetadata(profile), null, 2);
  return profile[key] ?? '';
}

type Json = Record<string, unknown>;

/**
 * The metadata keys to send so the stored object becomes `after` (the gateway merges one level
 * deep): changed and new keys with their value, removed keys as null. Null when nothing changed.
 */
export function metadataPatch(before: Json | null, after: Json): Json | null {
  const old = before ?? {};
  const patch: Json = {};
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(value) !== JSON.stringify(old[key])) patch[key] = value;
  }
  for (const key of Object.keys(old)) if (!(key in after)) patch[key] = null;
  return Object.keys(patch).length > 0 ? patch : null;
}

export interface CollectedChanges {
  input: ProfileChanges;
  /** Problems found before sending (JSON that does not parse). */
  problems: Map<FormKey, string>;
}

/**
 * The input for `updateUser` from the values of the enabled inputs: only what changed; an emptied
 * text field is cleared (null).
 */
export function collectChanges(profile: Profile, values: Map<FormKey, string>): CollectedChanges {
  const input: ProfileChanges = {};
  const problems = new Map<FormKey, string>();
  for (const [key, raw] of values) {
    if (key === 'userMetadata') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.trim() === '' ? '{}' : raw);
      } catch (err) {
        problems.set(key, `Not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.set(key, 'Must be a JSON object, e.g. { "theme": "dark" }.');
        continue;
      }
      // Against the keys the editor showed: the declared ones are the attribute fields' to change.
      const patch = metadataPatch(undeclaredUserMetadata(profile), parsed as Json);
      if (patch) input.userMetadata = patch;
      continue;
    }
    const value = raw.trim();
    if (value !== (profile[key] ?? '')) input[key] = value === '' ? null : value;
  }
  return { input, problems };
}

export interface PlacedErrors {
  byField: Map<FormKey, string[]>;
  /** Errors no single input of the form is at fault for: shown in the banner. */
  general: string[];
}

/** Puts each `userErrors` entry beside its input (its `field` path starts with the input key). */
export function placeUserErrors(errors: readonly { field: string[] | null; code: string; message: string }[]): PlacedErrors {
  const placed: PlacedErrors = { byField: new Map(), general: [] };
  for (const error of errors) {
    const key = error.field?.[0];
    if (isFormKey(key)) placed.byField.set(key, [...(placed.byField.get(key) ?? []), error.message]);
    else placed.general.push(error.message);
  }
  return placed;
}
