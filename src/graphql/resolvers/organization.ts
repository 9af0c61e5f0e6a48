import type { AppContext } from '../../app/context.js';
import { addOrganizationMember, createOrganization } from '../../app/organizations.js';
import { hasScope } from '../../domain/access.js';
import type { ConnectionRow, OrganizationRow } from '../../store/types.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { decodeCursor, pageSize, toConnection } from '../pagination.js';

/** An organization the caller may read: any with read:organizations, else one they belong to. */
export async function readableOrganization(ctx: AppContext, id: string): Promise<OrganizationRow | null> {
  const caller = ctx.caller;
  const org = await ctx.loaders.organization.load(id);
  if (!org || !caller) return null;
  if (hasScope(caller, 'read:organizations')) return org;
  const mine = await ctx.loaders.membershipsByUser.load(caller.sub);
  return mine.some((m) => m.organizationId === org.id) ? org : null;
}

export const organizationResolvers: Resolvers = {
  Query: {
    organization: (_, { id }, ctx) => readableOrganization(ctx, id),
    organizations: async (_, __, ctx) => {
      const caller = ctx.caller;
      if (!caller) return [];
      if (hasScope(caller, 'read:organizations')) return ctx.store.organizations.list();
      const mine = await ctx.loaders.membershipsByUser.load(caller.sub);
      const rows = await ctx.loaders.organization.loadMany(mine.map((m) => m.organizationId));
      return rows.filter((r): r is OrganizationRow => r !== null && !(r instanceof Error));
    },
  },
  Organization: {
    connections: async (org, _, ctx) => {
      const ids = await ctx.loaders.organizationConnectionIds.load(org.id);
      const rows = await ctx.loaders.connection.loadMany(ids);
      return rows.filter((r): r is ConnectionRow => r !== null && !(r instanceof Error));
    },
    members: async (org, { first, after }, ctx) =>
      ctx.loaders.members.load({
        organizationId: org.id,
        first: pageSize(first),
        after: decodeCursor(after),
      }),
  },
  MembershipConnection: {
    edges: (page) => toConnection(page, (m) => m.userId).edges,
    pageInfo: (page) => toConnection(page, (m) => m.userId).pageInfo,
    totalCount: (page) => page.totalCount,
  },
  OrganizationMembership: {
    organization: async (m, _, ctx) => {
      const org = await ctx.loaders.organization.load(m.organizationId);
      if (!org) throw new Error(`organization ${m.organizationId} is missing`);
      return org;
    },
    user: async (m, _, ctx) => ctx.access.visible(await ctx.loaders.user.load(m.userId)),
  },
  Mutation: {
    createOrganization: (_, { input }, ctx) => createOrganization(ctx, input),
    addOrganizationMember: (_, { input }, ctx) => addOrganizationMember(ctx, input),
  },
};
