// The one mapping between the domain's snake_case names (domain.md, ProfilePatch, the audit log)
// and their camelCase spelling (GraphQL fields and inputs, the store's columns), and their
// SCREAMING_SNAKE spelling as GraphQL enum values (given_name ↔ givenName ↔ GIVEN_NAME).
import type { ProfileField } from './types.js';

/** The camelCase name of each profile field: GraphQL's field and input name, and the store's column. */
export const CAMEL_NAMES = {
  email: 'email',
  email_verified: 'emailVerified',
  username: 'username',
  phone_number: 'phoneNumber',
  phone_verified: 'phoneVerified',
  password: 'password',
  name: 'name',
  nickname: 'nickname',
  given_name: 'givenName',
  family_name: 'familyName',
  picture: 'picture',
  user_metadata: 'userMetadata',
  app_metadata: 'appMetadata',
  blocked: 'blocked',
} as const satisfies Record<ProfileField, string>;

export type CamelName = (typeof CAMEL_NAMES)[ProfileField];

/** given_name → givenName; a name that is no profile field is returned as it is. */
export function toCamel(field: string): string {
  return (CAMEL_NAMES as Record<string, string>)[field] ?? field;
}

/** GraphQL enum values are the domain's snake_case names in upper case (GIVEN_NAME ↔ given_name). */
export function upper<T extends string>(value: T): Uppercase<T>;
export function upper<T extends string>(value: T | null): Uppercase<T> | null;
export function upper<T extends string>(value: T | null): Uppercase<T> | null {
  return value === null ? null : (value.toUpperCase() as Uppercase<T>);
}

export function lower<T extends string>(value: T | null | undefined): Lowercase<T> | null | undefined {
  return value == null ? value : (value.toLowerCase() as Lowercase<T>);
}
