import { authenticate, recordLogin } from '../../app/logins.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const loginResolvers: Resolvers = {
  Mutation: {
    recordLogin: (_, { input }, ctx) => recordLogin(ctx, input),
    authenticate: (_, { input }, ctx) => authenticate(ctx, input),
  },
};
