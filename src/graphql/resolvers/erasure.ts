// Erasure and export: a user's data deleted for good, or handed to them whole.
import { deleteMe, deleteUser, exportUserData } from '../../app/erasure.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const erasureResolvers: Resolvers = {
  Query: {
    exportUserData: (_, { id }, ctx) => exportUserData(ctx, id),
  },
  Mutation: {
    deleteUser: (_, { id }, ctx) => deleteUser(ctx, id),
    deleteMe: (_, __, ctx) => deleteMe(ctx),
  },
};
