// Custom-database scripts of the demo connection `legacy-db` (a legacy custom database: the users
// stay in the customer's database and the gateway only caches their profiles).
//
// A script module is what a connection's `customScripts` option names: NAME.js, NAME.mjs or NAME.ts
// in CUSTOM_DB_SCRIPTS_DIR. It must export two async functions,
//   login(identifier, password)   -> the profile, or null for an unknown user or a wrong password
//   getUser(identifier)           -> the profile, or null
// and may export
//   create(user)                                 -> the new user's profile (throw when it exists)
//   changePassword(identifier, newPassword)      -> anything; throw on failure
//   changeEmail(identifier, newEmail, verified)  -> anything; throw on failure
// `identifier` is an email or username as given at login (the current email for the change
// scripts). A profile uses Auth0's normalized snake_case keys: `user_id` (required), `email`,
// `email_verified`, `username`, `phone_number`, `phone_verified`, `name`, `nickname`, `given_name`,
// `family_name`, `picture`, `user_metadata`, `app_metadata`. A thrown error, or no answer within
// the script timeout, means the database is unavailable. Leaving out an optional function makes the
// matching field read-only in the gateway (MANAGED_IN_CUSTOM_DATABASE, or NOT_SUPPORTED for create).
//
// The demo database itself (its own table layout, bcrypt hashes, the mapping to Auth0's keys) is in
// ./lib/legacy-database.mjs; its file is LEGACY_DB_PATH (default ./data/legacy.db).
import { makeScripts } from './lib/legacy-database.mjs';

export const { login, getUser, create, changePassword, changeEmail } = makeScripts('legacy-db');
