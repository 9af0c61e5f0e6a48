// The GraphQL names of the profile fields, shared by the policy and its messages.
import type { ProfileField } from './types.js';

/** The GraphQL (camelCase) name of each field; messages use it because clients show them. */
export const FIELD_LABELS = {
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
