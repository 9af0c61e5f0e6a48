// Password-reset and email-verification tickets: requested, then redeemed.
import { createEmailVerificationTicket, createPasswordResetTicket, resetPassword, verifyEmail } from '../../app/tickets.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const ticketResolvers: Resolvers = {
  Mutation: {
    createPasswordResetTicket: (_, { input }, ctx) => createPasswordResetTicket(ctx, input),
    resetPassword: (_, { input }, ctx) => resetPassword(ctx, input),
    createEmailVerificationTicket: (_, { input }, ctx) => createEmailVerificationTicket(ctx, input),
    verifyEmail: (_, { input }, ctx) => verifyEmail(ctx, input),
  },
};
