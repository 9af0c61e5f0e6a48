import { AppError } from '../../app/errors.js';
import { authenticate, loginBlocks, recordLogin, removeLoginBlocks } from '../../app/logins.js';
import { findConnection } from '../../app/lookup.js';
import type { AppContext } from '../../app/context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

/** Counts the login by connection, kind and outcome (`success`, or the user error or error code). */
async function counted<T extends { userErrors: readonly { code: string }[] }>(ctx: AppContext, ref: string, run: () => Promise<T>): Promise<T> {
  let outcome = 'error';
  try {
    const result = await run();
    outcome = result.userErrors[0]?.code ?? 'success';
    return result;
  } catch (err) {
    if (err instanceof AppError) outcome = err.code;
    throw err;
  } finally {
    if (ctx.obs) {
      // Named by the stored connection, so a client cannot invent label values.
      const connection = await findConnection(ctx, ref).catch(() => null);
      ctx.obs.login(connection?.name ?? 'unknown', connection?.kind ?? 'unknown', outcome);
    }
  }
}

export const loginResolvers: Resolvers = {
  Query: {
    loginBlocks: (_, { connection, identifier }, ctx) => loginBlocks(ctx, connection, identifier),
  },
  Mutation: {
    recordLogin: (_, { input }, ctx) => counted(ctx, input.connection, () => recordLogin(ctx, input)),
    authenticate: (_, { input }, ctx) => counted(ctx, input.connection, () => authenticate(ctx, input)),
    removeLoginBlocks: (_, { input }, ctx) => removeLoginBlocks(ctx, input),
  },
};
