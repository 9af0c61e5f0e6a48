import { discardOutboxMessage, listOutboxMessages, retryOutboxMessage } from '../../app/outbox.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const outboxResolvers: Resolvers = {
  Query: {
    outboxMessages: (_, { status, first, after }, ctx) =>
      listOutboxMessages(ctx, { status: status ?? 'FAILED', first: first ?? 50, after }),
  },
  Mutation: {
    retryOutboxMessage: (_, { id }, ctx) => retryOutboxMessage(ctx, id),
    discardOutboxMessage: (_, { id }, ctx) => discardOutboxMessage(ctx, id),
  },
  OutboxMessage: {
    id: (m) => String(m.id),
    // Through the reading rules: a user the caller may not read is null.
    user: async (m, _, ctx) => (m.userId ? ctx.access.visible(await ctx.loaders.user.load(m.userId)) : null),
  },
};
