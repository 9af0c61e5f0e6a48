// GraphQL inputs (camelCase, scalars) to the domain's ProfilePatch (snake_case).
import { badUserInput } from '../app/errors.js';
import type { Metadata, ProfilePatch } from '../domain/types.js';
import type { UpdateUserInput } from './generated/resolvers-types.js';

type ProfileInput = Omit<UpdateUserInput, 'expectedVersion'>;

function metadata(value: unknown, field: string): Metadata | null | undefined {
  if (value === undefined || value === null) return value as null | undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badUserInput(`${field} must be a JSON object.`, field);
  return value as Metadata;
}

/** Only keys present in the input appear in the patch: an absent key changes nothing. */
export function toProfilePatch(input: ProfileInput): ProfilePatch {
  const patch: ProfilePatch = {};
  const set = <K extends keyof ProfilePatch>(key: K, value: ProfilePatch[K] | undefined) => {
    if (value !== undefined) patch[key] = value;
  };
  set('email', input.email);
  set('email_verified', input.emailVerified as boolean | undefined);
  set('username', input.username);
  set('phone_number', input.phoneNumber);
  set('phone_verified', input.phoneVerified as boolean | undefined);
  set('password', input.password as string | undefined);
  set('name', input.name);
  set('nickname', input.nickname);
  set('given_name', input.givenName);
  set('family_name', input.familyName);
  // graphql-scalars' URL parses to a URL object; the store keeps the string.
  set('picture', input.picture == null ? input.picture : String(input.picture));
  set('user_metadata', metadata(input.userMetadata, 'userMetadata'));
  set('app_metadata', metadata(input.appMetadata, 'appMetadata'));
  set('blocked', input.blocked as boolean | undefined);
  return patch;
}
