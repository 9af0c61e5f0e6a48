import { acceptInvitation, createInvitation } from '../../app/invitations.js';
import {
  addOrganizationMember,
  createOrganization,
  removeOrganizationMember,
  updateOrganization,
  updateOrganizationMember,
} from '../../app/organizations.js';
import { listOrganizations, readableOrganization } from '../../app/queries.js';
import type { ConnectionRow } from '../../store/types.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { type CursorList, decodeCursor, pageSize, toConnection } from '../pagination.js';

export const organizationResolvers: Resolvers = {
  Query: {
    organization: (_, { id }, ctx) => readableOrganization(ctx, id),
    organizations: (_, __, ctx) => listOrganizations(ctx),
  },
  Organization: {
    connections: async (org, _, ctx) => {
      const ids = await ctx.loaders.organizationConnectionIds.load(org.id);
      const rows = await ctx.loaders.connection.loadMany(ids);
      return rows
        .filter((r): r is ConnectionRow => r !== null && !(r instanceof Error))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    members: async (org, { first, after }, ctx) => {
      const list: CursorList = `members:${org.id}`;
      const page = await ctx.loaders.members.load({
        organizationId: org.id,
        first: pageSize(first),
        after: decodeCursor(ctx, list, after),
      });
      return { ...page, list };
    },
  },
  MembershipConnection: {
    edges: (page, _, ctx) => toConnection(ctx, page, (m) => m.userId).edges,
    pageInfo: (page, _, ctx) => toConnection(ctx, page, (m) => m.userId).pageInfo,
    totalCount: (page) => page.totalCount,
  },
  OrganizationMembership: {
    organization: async (m, _, ctx) => {
      const org = await ctx.loaders.organization.load(m.organizationId);
      if (!org) throw new Error(`organization ${m.organizationId} is missing`);
      return org;
    },
    // The member reads as the member's profile does, and only where the caller may see this
    // membership (a help desk reading another organization's members sees none of its own members
    // there: which of them also belong elsewhere is not its to know). The invited address likewise.
    user: async (m, _, ctx) => ctx.access.visibleMember(m, await ctx.loaders.user.load(m.userId)),
    invitedEmail: async (m, _, ctx) => (m.invitedEmail !== null && (await ctx.access.visibleMember(m, await ctx.loaders.user.load(m.userId))) ? m.invitedEmail : null),
  },
  Invitation: {
    organization: async (invitation, _, ctx) => {
      const org = await ctx.loaders.organization.load(invitation.organizationId);
      if (!org) throw new Error(`organization ${invitation.organizationId} is missing`);
      return org;
    },
  },
  Mutation: {
    createOrganization: (_, { input }, ctx) => createOrganization(ctx, input),
    updateOrganization: (_, { id, input }, ctx) => updateOrganization(ctx, id, input),
    addOrganizationMember: (_, { input }, ctx) => addOrganizationMember(ctx, input),
    updateOrganizationMember: (_, { input }, ctx) => updateOrganizationMember(ctx, input),
    removeOrganizationMember: (_, { input }, ctx) => removeOrganizationMember(ctx, input),
    createInvitation: (_, { input }, ctx) => createInvitation(ctx, input),
    acceptInvitation: (_, { input }, ctx) => acceptInvitation(ctx, input),
  },
};

