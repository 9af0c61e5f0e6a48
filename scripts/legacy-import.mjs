// Custom-database scripts of the demo connection `legacy-import`: a custom database with import
// mode, whose users migrate to the gateway's own store at their first successful login (the
// gateway keeps the profile and a hash of the password, and never asks the legacy database about
// that user again).
//
// Only `login` and `getUser` are exported, on purpose: after migration the gateway owns the user,
// so email and password changes (and new users) are handled in its own store and no `create`,
// `changeEmail` or `changePassword` script is needed. See ./legacy-db.mjs for what a script module
// may export.
import { makeScripts } from './lib/legacy-database.mjs';

export const { login, getUser } = makeScripts('legacy-import');
