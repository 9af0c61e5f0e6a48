// A fresh set of DataLoaders per request, so every edge of a query is one batched read and no
// resolver queries the store directly (graphql/dataloader's README: new loaders per request).
import DataLoader from 'dataloader';
import type {
  ConnectionRow,
  IdentityRow,
  MembershipRow,
  OrganizationRow,
  Page,
  Store,
  UserRow,
} from '../store/types.js';
import { RequestMemo } from './request-memo.js';

/** Below SQLite's bound-variable limit with room to spare. */
const maxBatchSize = 1000;

export interface MembersKey {
  organizationId: string;
  first: number;
  after: string | null;
}

export function createLoaders(store: Store) {
  const organization = new DataLoader<string, OrganizationRow | null>((ids) => store.organizations.byIds(ids), {
    maxBatchSize,
  });
  const membershipsByUser = new DataLoader<string, MembershipRow[]>(
    (ids) => store.organizations.membershipsByUserIds(ids),
    { maxBatchSize },
  );
  const identitiesByUser = new DataLoader<string, IdentityRow[]>((ids) => store.users.identitiesByUserIds(ids), {
    maxBatchSize,
  });
  return {
    // A user is read with its identities and memberships (and their organizations) in one
    // statement, which primes those loaders: a profile read is then three statements in all.
    user: new DataLoader<string, UserRow | null>(
      async (ids) =>
        (await store.users.withRelationsByIds(ids)).map((found) => {
          if (!found) return null;
          identitiesByUser.prime(found.user.id, found.identities);
          membershipsByUser.prime(found.user.id, found.memberships);
          for (const org of found.organizations) organization.prime(org.id, org);
          return found.user;
        }),
      { maxBatchSize },
    ),
    connection: new DataLoader<string, ConnectionRow | null>((ids) => store.connections.byIds(ids), {
      maxBatchSize,
    }),
    connectionUserCount: new DataLoader<string, number>((ids) => store.connections.userCounts(ids), {
      maxBatchSize,
    }),
    organization,
    organizationConnectionIds: new DataLoader<string, string[]>(
      (ids) => store.organizations.connectionIds(ids),
      { maxBatchSize },
    ),
    membershipsByUser,
    identitiesByUser,
    /** Decisions made once per user per request (read access, field policies): src/app/request-memo.ts. */
    memo: new RequestMemo(),
    members: new DataLoader<MembersKey, Page<MembershipRow>, string>(
      (keys) => Promise.all(keys.map((k) => store.organizations.members(k.organizationId, k))),
      { cacheKeyFn: (k) => `${k.organizationId}\u0000${k.first}\u0000${k.after ?? ''}`, maxBatchSize },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/** After a write: forget what this request read and decided about a user. */
export function forgetUser(loaders: Loaders, userId: string): void {
  loaders.memo.forget(userId);
  loaders.user.clear(userId);
  loaders.membershipsByUser.clear(userId);
  loaders.identitiesByUser.clear(userId);
}
