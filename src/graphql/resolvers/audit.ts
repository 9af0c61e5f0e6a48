// The audit log: who changed what, paged behind sealed cursors.
import { listAuditEvents } from '../../app/audit.js';
import type { AppContext } from '../../app/context.js';
import { badUserInput } from '../../app/errors.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { decodeCursor, pageSize, toConnection } from '../pagination.js';

function auditCursor(ctx: AppContext, after: string | null | undefined): number | null {
  const id = decodeCursor(ctx, 'audit', after);
  if (id === null) return null;
  const n = Number(id);
  if (!Number.isInteger(n) || n < 1) throw badUserInput('The cursor is malformed.', 'after');
  return n;
}

export const auditResolvers: Resolvers = {
  Query: {
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
};
