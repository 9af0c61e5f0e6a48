import { createUser, updateUser } from '../../app/users.js';
import { listUsers } from '../../app/queries.js';
import { visibleMemberships } from '../../domain/access.js';
import { type FieldPolicies, PROFILE_FIELDS } from '../../domain/types.js';
import { lower, upper } from '../enums.js';
import type { UserOrderField } from '../../store/types.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { FieldPolicyParent } from '../mappers.js';
import { toProfilePatch } from '../inputs.js';
import { decodeCursor, pageSize, toConnection, usersList } from '../pagination.js';

/**
 * A decision as the `fieldPolicies` list, built once per decision: users with the same facts share
 * one decision (src/app/request-memo.ts), and so one list. Nothing downstream changes it.
 */
const policyLists = new WeakMap<FieldPolicies, FieldPolicyParent[]>();

function fieldPolicyList(policies: FieldPolicies): FieldPolicyParent[] {
  let list = policyLists.get(policies);
  if (!list) {
    list = PROFILE_FIELDS.map((field) => ({ ...policies[field], field: upper(field) }));
    policyLists.set(policies, list);
  }
  return list;
}

export const userResolvers: Resolvers = {
  Query: {
    me: async (_, __, ctx) =>
      ctx.caller ? ctx.access.visible(await ctx.loaders.user.load(ctx.caller.sub)) : null,
    user: async (_, { id }, ctx) => ctx.access.visible(await ctx.loaders.user.load(id)),
    users: async (_, { first, after, filter, orderBy }, ctx) => {
      const list = usersList(orderBy);
      const page = await listUsers(ctx, {
        first: pageSize(first),
        after: decodeCursor(ctx, list, after),
        filter: {
          connection: filter?.connection ?? null,
          organizationId: filter?.organization ?? null,
          email: filter?.email ?? null,
          blocked: filter?.blocked ?? null,
          search: filter?.search ?? null,
          attributes: filter?.attributes?.map((a) => ({ ...a, in: a.in === 'APP_METADATA' ? ('app_metadata' as const) : ('user_metadata' as const) })),
          createdAfter: filter?.createdAfter ?? null,
          createdBefore: filter?.createdBefore ?? null,
          lastLoginAfter: filter?.lastLoginAfter ?? null,
          lastLoginBefore: filter?.lastLoginBefore ?? null,
        },
        orderBy: orderBy
          ? { field: lower(orderBy.field) as UserOrderField, direction: orderBy.direction === 'DESC' ? 'desc' : 'asc' }
          : null,
      });
      return { ...page, list };
    },
  },
  UserConnection: {
    edges: (page, _, ctx) => toConnection(ctx, page, (u) => u.id).edges,
    pageInfo: (page, _, ctx) => toConnection(ctx, page, (u) => u.id).pageInfo,
    totalCount: (page) => page.totalCount,
  },
  User: {
    connection: async (user, _, ctx) => {
      const connection = await ctx.loaders.connection.load(user.connectionId);
      if (!connection) throw new Error(`connection ${user.connectionId} of user ${user.id} is missing`);
      return connection;
    },
    // Declared attributes the caller may not view are absent (not an error).
    userMetadata: async (user, _, ctx) =>
      ctx.access.visibleMetadata(user, 'user_metadata', user.userMetadata),
    // The help desk reads every field but app_metadata, which reads as null without an error.
    appMetadata: async (user, _, ctx) =>
      (await ctx.access.read(user)) === 'full'
        ? ctx.access.visibleMetadata(user, 'app_metadata', user.appMetadata)
        : null,
    identities: (user, _, ctx) => ctx.loaders.identitiesByUser.load(user.id),
    organizations: async (user, _, ctx) => {
      const memberships = await ctx.loaders.membershipsByUser.load(user.id);
      return visibleMemberships(ctx.caller, await ctx.access.read(user), memberships);
    },
    fieldPolicies: async (user, _, ctx) => fieldPolicyList(await ctx.access.policies(user)),
    attributePolicies: async (user, _, ctx) => {
      const decisions = await ctx.access.attributePolicies(user);
      return decisions.map((d) => ({ ...d, in: d.in === 'app_metadata' ? ('APP_METADATA' as const) : ('USER_METADATA' as const) }));
    },
  },
  Identity: {
    connection: async (identity, _, ctx) =>
      (await ctx.loaders.connection.load(identity.connectionId))?.name ?? '',
    userId: (identity) => identity.upstreamUserId,
    // The raw upstream profile may carry app_metadata and more: for full readers only.
    profileData: async (identity, _, ctx) =>
      (await ctx.access.read({ id: identity.userId })) === 'full' ? identity.profileData : null,
  },
  Mutation: {
    createUser: (_, { input }, ctx) => {
      const { connection, ...profile } = input;
      return createUser(ctx, { connection, ...toProfilePatch(profile) });
    },
    updateUser: (_, { id, input }, ctx) => {
      const { expectedVersion, ...profile } = input;
      return updateUser(ctx, id, toProfilePatch(profile), { expectedVersion });
    },
  },
};
