// Finding the objects an operation targets, with the visibility rules applied.
import { canFindForWrite } from '../domain/access.js';
import type { ConnectionRow, UserRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { notFound, unauthenticated } from './errors.js';

/** A connection by id or by its unique name. */
export async function findConnection(ctx: AppContext, ref: string): Promise<ConnectionRow | null> {
  return (await ctx.loaders.connection.load(ref)) ?? (await ctx.store.connections.byName(ref));
}

/**
 * The user a write targets. A user the caller may neither read nor reach with the write scope
 * answers exactly as a missing one (NOT_FOUND), so no one learns that it exists.
 */
export async function findUserForWrite(
  ctx: AppContext,
  id: string,
  writeScope: 'update:users' | 'delete:users',
): Promise<UserRow> {
  if (!ctx.caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const user = await ctx.loaders.user.load(id);
  if (!user || !canFindForWrite(ctx.caller, id, await ctx.access.organizationIdsOf(id), writeScope)) {
    throw notFound('user', id);
  }
  return user;
}

