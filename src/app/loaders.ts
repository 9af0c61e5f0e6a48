// A fresh set of DataLoaders per request, so every edge of a query is one batched read and no
// resolver queries the store directly (graphql/dataloader's README: new loaders per request).
import DataLoader from 'dataloader';
import { traced } from '../observability/tracing.js';
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

/** A batch function with a span per batch (inside a recorded trace; otherwise just the call). */
function batch<K, V>(name: string, load: (keys: readonly K[]) => Promise<V[]>): (keys: readonly K[]) => Promise<V[]> {
  const spanName = `loader ${name}`;
  return (keys) => traced(spanName, { 'loader.batch_size': keys.length }, () => load(keys));
}

export function createLoaders(store: Store) {
  const organization = new DataLoader<string, OrganizationRow | null>(batch('organization', (ids) => store.organizations.byIds(ids)), {
    maxBatchSize,
  });
  const membershipsByUser = new DataLoader<string, MembershipRow[]>(
    batch('membershipsByUser', (ids) => store.organizations.membershipsByUserIds(ids)),
    { maxBatchSize },
  );
  const identitiesByUser = new DataLoader<string, IdentityRow[]>(batch('identitiesByUser', (ids) => store.users.identitiesByUserIds(ids)), {
    maxBatchSize,
  });
  return {
    // A user is read with its identities and memberships (and their organizations) in one
    // statement, which primes those loaders: a profile read is then three statements in all.
    user: new DataLoader<string, UserRow | null>(
      batch('user', async (ids) =>
        (await store.users.withRelationsByIds(ids)).map((found) => {
          if (!found) return null;
          identitiesByUser.prime(found.user.id, found.identities);
          membershipsByUser.prime(found.user.id, found.memberships);
          for (const org of found.organizations) organization.prime(org.id, org);
          return found.user;
        }),
      ),
      { maxBatchSize },
    ),
    connection: new DataLoader<string, ConnectionRow | null>(batch('connection', (ids) => store.connections.byIds(ids)), {
      maxBatchSize,
    }),
    connectionUserCount: new DataLoader<string, number>(batch('connectionUserCount', (ids) => store.connections.userCounts(ids)), {
      maxBatchSize,
    }),
    organization,
    organizationConnectionIds: new DataLoader<string, string[]>(
      batch('organizationConnectionIds', (ids) => store.organizations.connectionIds(ids)),
      { maxBatchSize },
    ),
    membershipsByUser,
    identitiesByUser,
    /** Decisions made once per user per request (read access, field policies): src/app/request-memo.ts. */
    memo: new RequestMemo(),
    members: new DataLoader<MembersKey, Page<MembershipRow>, string>(
      batch('members', (keys: readonly MembersKey[]) => Promise.all(keys.map((k) => store.organizations.members(k.organizationId, k)))),
      { cacheKeyFn: (k) => `${k.organizationId}\u0000${k.first}\u0000${k.after ?? ''}`, maxBatchSize },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * After a write to the user's profile row only (an update, a ticket's effect, a password login's
 * bookkeeping): its memberships and identities are as they were, and so is how much of it the
 * caller may read; only the row is read again.
 */
export function forgetProfile(loaders: Loaders, userId: string): void {
  loaders.user.clear(userId);
}

/** After a write that may change a user's memberships or identities (a login, an invitation, an erasure): forget everything this request read and decided about them. */
export function forgetUser(loaders: Loaders, userId: string): void {
  loaders.memo.forget(userId);
  loaders.user.clear(userId);
  loaders.membershipsByUser.clear(userId);
  loaders.identitiesByUser.clear(userId);
}
