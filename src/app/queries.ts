// Root listings. Each is one store query, narrowed to what the caller may read; the edges below
// them resolve through the request's loaders.
import { hasScope, mayFilterByOrganization } from '../domain/access.js';
import { forbidden } from './errors.js';
import type { ConnectionRow, OrganizationRow, Page, UserFilter, UserRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { findConnection } from './lookup.js';

export async function listUsers(
  ctx: AppContext,
  args: { first: number; after: string | null; filter: Omit<UserFilter, 'connectionId'> & { connection?: string | null } },
): Promise<Page<UserRow>> {
  const caller = ctx.caller;
  const { connection: connectionRef, ...filter } = args.filter;
  if (filter.organizationId && !mayFilterByOrganization(caller, filter.organizationId)) {
    throw forbidden('Filtering users by an organization needs read:users, or to be that organization’s help desk (ADMIN).');
  }
  // An unknown connection matches no user.
  const connectionId = connectionRef ? ((await findConnection(ctx, connectionRef))?.id ?? connectionRef) : null;
  const page = await ctx.store.users.list({
    first: args.first,
    after: args.after,
    filter: { ...filter, connectionId },
    visibleTo:
      caller && hasScope(caller, 'read:users')
        ? undefined
        : { selfId: caller?.sub ?? null, adminOrganizationIds: [...(caller?.adminOrganizationIds ?? [])] },
  });
  for (const row of page.rows) ctx.loaders.user.prime(row.id, row);
  return page;
}

export async function listConnections(ctx: AppContext): Promise<ConnectionRow[]> {
  const rows = await ctx.store.connections.list();
  for (const row of rows) ctx.loaders.connection.prime(row.id, row);
  return rows;
}

/** An organization the caller may read: any with read:organizations, else one they belong to. */
export async function readableOrganization(ctx: AppContext, id: string): Promise<OrganizationRow | null> {
  const caller = ctx.caller;
  const org = await ctx.loaders.organization.load(id);
  if (!org || !caller) return null;
  if (hasScope(caller, 'read:organizations')) return org;
  const mine = await ctx.loaders.membershipsByUser.load(caller.sub);
  return mine.some((m) => m.organizationId === org.id) ? org : null;
}

/** With read:organizations every organization, otherwise the caller's own. */
export async function listOrganizations(ctx: AppContext): Promise<OrganizationRow[]> {
  const caller = ctx.caller;
  if (!caller) return [];
  if (hasScope(caller, 'read:organizations')) {
    const rows = await ctx.store.organizations.list();
    for (const row of rows) ctx.loaders.organization.prime(row.id, row);
    return rows;
  }
  const mine = await ctx.loaders.membershipsByUser.load(caller.sub);
  const rows = await ctx.loaders.organization.loadMany(mine.map((m) => m.organizationId));
  return rows.filter((r): r is OrganizationRow => r !== null && !(r instanceof Error));
}
