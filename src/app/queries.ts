// Root listings. Each is one store query, narrowed to what the caller may read; the edges below
// them resolve through the request's loaders.
import { hasScope, mayFilterByOrganization } from '../domain/access.js';
import { type AttributeSearch, attributeSettingsOf, searchCondition } from '../domain/attributes.js';
import type { AttributeCondition, ConnectionRow, OrganizationRow, Page, UserFilter, UserOrder, UserRow } from '../store/types.js';
import { badUserInput, forbidden } from './errors.js';
import type { AppContext } from './context.js';
import { findConnection } from './lookup.js';

export async function listUsers(
  ctx: AppContext,
  args: {
    first: number;
    after: string | null;
    filter: Omit<UserFilter, 'connectionId' | 'attributes'> & { connection?: string | null; attributes?: readonly AttributeSearch[] | null };
    orderBy?: UserOrder | null;
  },
): Promise<Page<UserRow>> {
  const caller = ctx.caller;
  const { connection: connectionRef, attributes: searches, ...filter } = args.filter;
  if (filter.organizationId && !mayFilterByOrganization(caller, filter.organizationId)) {
    throw forbidden('Filtering users by an organization needs read:users, or to be that organization’s help desk (ADMIN).');
  }
  // An unknown connection matches no user.
  const connection = connectionRef ? await findConnection(ctx, connectionRef) : null;
  const connectionId = connectionRef ? (connection?.id ?? connectionRef) : null;
  const attributes = searches && searches.length > 0 ? attributeConditions(ctx, connection, connectionRef, searches) : undefined;
  const page = await ctx.store.users.list({
    first: args.first,
    after: args.after,
    orderBy: args.orderBy ?? undefined,
    filter: { ...filter, connectionId, attributes },
    visibleTo:
      caller && hasScope(caller, 'read:users')
        ? undefined
        : { selfId: caller?.sub ?? null, adminOrganizationIds: [...(caller?.adminOrganizationIds ?? [])] },
  });
  for (const row of page.rows) ctx.loaders.user.prime(row.id, row);
  return page;
}

/**
 * Attribute conditions as the store takes them. Declarations belong to a connection, so a search by
 * attribute names one; the key must be declared there, and the caller must be allowed to view it
 * (a tenant administrator with read:users as TENANT_ADMIN, an organization's ADMIN as HELP_DESK).
 */
function attributeConditions(
  ctx: AppContext,
  connection: ConnectionRow | null,
  connectionRef: string | null | undefined,
  searches: readonly AttributeSearch[],
): AttributeCondition[] {
  if (!connectionRef) throw badUserInput('A search by attribute names its connection (filter.connection): attributes are declared per connection.', 'filter');
  const settings = connection ? attributeSettingsOf(connection.options) : { attributes: [], undeclared: 'ALLOW' as const };
  const caller = ctx.caller;
  const viewer = {
    tenantAdmin: caller !== null && hasScope(caller, 'read:users'),
    helpDesk: caller !== null && caller.adminOrganizationIds.size > 0,
    self: false,
  };
  return searches.map((search) => {
    const result = searchCondition(settings, search, viewer);
    if (!result.ok) throw result.code === 'FORBIDDEN' ? forbidden(result.message) : badUserInput(result.message, 'filter');
    return result.condition;
  });
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
