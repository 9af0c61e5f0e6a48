import { authenticate, loginBlocks, recordLogin, removeLoginBlocks } from '../../app/logins.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const loginResolvers: Resolvers = {
  Query: {
    loginBlocks: (_, { connection, identifier }, ctx) => loginBlocks(ctx, connection, identifier),
  },
  Mutation: {
    recordLogin: (_, { input }, ctx) => recordLogin(ctx, input),
    authenticate: (_, { input }, ctx) => authenticate(ctx, input),
    removeLoginBlocks: (_, { input }, ctx) => removeLoginBlocks(ctx, input),
  },
};
