// Bulk operations on users: many updates in one call, and imports.
import { importUsers, MAX_BULK_UPDATES, updateUsers } from '../../app/bulk.js';
import { badUserInput } from '../../app/errors.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { toProfilePatch } from '../inputs.js';

export const bulkResolvers: Resolvers = {
  Mutation: {
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
