// Writes that a legacy custom database owns go through its script first; only if the script
// succeeds does the cache change. One place decides whether a user is legacy and maps failures.
import { type CustomDbScript, ScriptUnavailableError } from '../connectors/custom-db.js';
import { customScriptsName } from '../domain/connection.js';
import { isLegacyUser } from '../domain/policy.js';
import type { UserError } from '../domain/types.js';
import type { UserRow } from '../store/types.js';
import type { AppContext } from './context.js';

/**
 * Runs `run` against the user's legacy script when the user is legacy (a custom-database user not
 * migrated); does nothing otherwise. A throw or a timeout is a CONNECTION_UNAVAILABLE user error.
 */
export async function callLegacyScript(
  ctx: AppContext,
  user: UserRow,
  run: (script: CustomDbScript) => Promise<unknown>,
): Promise<UserError | null> {
  const facts = await ctx.access.connectionFacts(user.connectionId);
  if (!isLegacyUser(facts, { migrated: user.migrated, invitationBound: false })) return null;
  const connection = await ctx.loaders.connection.load(user.connectionId);
  const name = connection ? customScriptsName(connection) : null;
  if (!connection || !name) return null;
  try {
    await ctx.scripts.call(name, run, connection.name);
    return null;
  } catch (err) {
    if (!(err instanceof ScriptUnavailableError)) throw err;
    return {
      field: null,
      code: 'CONNECTION_UNAVAILABLE',
      message: `The custom database of connection ${connection.name} did not accept the change: nothing was changed.`,
    };
  }
}

/** The identifier the change scripts receive: the user's current email. */
export const legacyIdentifier = (user: UserRow) => user.email ?? user.username ?? '';

/** Email (or its verification) into a legacy database, where the script has changeEmail. */
export function legacyChangeEmail(ctx: AppContext, user: UserRow, email: string, verified: boolean) {
  return callLegacyScript(ctx, user, async (s) => s.changeEmail?.(legacyIdentifier(user), email, verified));
}
