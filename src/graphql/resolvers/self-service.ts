import { listAuditEvents } from '../../app/audit.js';
import { deleteMe, deleteUser, exportUserData } from '../../app/erasure.js';
import { acceptInvitation, createInvitation } from '../../app/invitations.js';
import {
  removeOrganizationMember,
  updateOrganization,
  updateOrganizationMember,
} from '../../app/organizations.js';
import { createEmailVerificationTicket, createPasswordResetTicket, resetPassword, verifyEmail } from '../../app/tickets.js';
import { badUserInput } from '../../app/errors.js';
import type { AppContext } from '../../app/context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { decodeCursor, pageSize, toConnection } from '../pagination.js';

function auditCursor(ctx: AppContext, after: string | null | undefined): number | null {
  const id = decodeCursor(ctx, 'audit', after);
  if (id === null) return null;
  const n = Number(id);
  if (!Number.isInteger(n) || n < 1) throw badUserInput('The cursor is malformed.', 'after');
  return n;
}

/** Organizations' members, invitations, tickets, erasure, export and the audit log. */
export const selfServiceResolvers: Resolvers = {
  Query: {
    exportUserData: (_, { id }, ctx) => exportUserData(ctx, id),
    auditEvents: async (_, { first, after, filter }, ctx) => ({
      ...(await listAuditEvents(ctx, {
        first: pageSize(first),
        after: auditCursor(ctx, after),
        filter: { userId: filter?.userId, actorId: filter?.actorId, organization: filter?.organization },
      })),
      list: 'audit' as const,
    }),
  },
  AuditEventConnection: {
    edges: (page, _, ctx) => toConnection(ctx, page, (e) => String(e.id)).edges,
    pageInfo: (page, _, ctx) => toConnection(ctx, page, (e) => String(e.id)).pageInfo,
    totalCount: (page) => page.totalCount,
  },
  AuditEvent: {
    id: (e) => String(e.id),
  },
  Invitation: {
    organization: async (invitation, _, ctx) => {
      const org = await ctx.loaders.organization.load(invitation.organizationId);
      if (!org) throw new Error(`organization ${invitation.organizationId} is missing`);
      return org;
    },
  },
  Mutation: {
    updateOrganization: (_, { id, input }, ctx) => updateOrganization(ctx, id, input),
    updateOrganizationMember: (_, { input }, ctx) => updateOrganizationMember(ctx, input),
    removeOrganizationMember: (_, { input }, ctx) => removeOrganizationMember(ctx, input),
    createInvitation: (_, { input }, ctx) => createInvitation(ctx, input),
    acceptInvitation: (_, { input }, ctx) => acceptInvitation(ctx, input),
    createPasswordResetTicket: (_, { input }, ctx) => createPasswordResetTicket(ctx, input),
    resetPassword: (_, { input }, ctx) => resetPassword(ctx, input),
    createEmailVerificationTicket: (_, { input }, ctx) => createEmailVerificationTicket(ctx, input),
    verifyEmail: (_, { input }, ctx) => verifyEmail(ctx, input),
    deleteUser: (_, { id }, ctx) => deleteUser(ctx, id),
    deleteMe: (_, __, ctx) => deleteMe(ctx),
  },
};
