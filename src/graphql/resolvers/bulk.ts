import { toAttributeDeclarations } from '../inputs.js';
import { importUsers, MAX_BULK_UPDATES, updateUsers } from '../../app/bulk.js';
import { deleteConnection, updateConnection } from '../../app/connections.js';
import { badUserInput } from '../../app/errors.js';
import { lower } from '../enums.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { toProfilePatch } from '../inputs.js';

export const bulkResolvers: Resolvers = {
  Mutation: {
    updateConnection: (_, { id, input }, ctx) =>
      updateConnection(ctx, id, {
        ...input,
        syncUserRootAttributes: lower(input.syncUserRootAttributes),
        attributes: toAttributeDeclarations(input.attributes),
      }),
    deleteConnection: (_, { id, deleteUsers }, ctx) => deleteConnection(ctx, id, { deleteUsers }),
    updateUsers: async (_, { input }, ctx) => {
      if (input.items.length > MAX_BULK_UPDATES) throw badUserInput(`At most ${MAX_BULK_UPDATES} items per call.`, 'items');
      const results = await updateUsers(
        ctx,
        input.items.map((item) => {
          const { expectedVersion, ...profile } = item.input;
          return { id: item.id, patch: toProfilePatch(profile), expectedVersion };
        }),
      );
      return { results };
    },
    importUsers: async (_, { input }, ctx) => ({
      ...(await importUsers(ctx, input.users, { connection: input.connection, upsert: input.upsert, dryRun: input.dryRun })),
      dryRun: Boolean(input.dryRun),
    }),
  },
};
