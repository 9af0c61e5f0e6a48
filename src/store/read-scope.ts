// The request's read scope (#15, read replicas): what a store with a replica needs to know of the
// request it serves, and nothing about which database runs. The HTTP layer opens one scope per
// request (`inReadScope`) when the store routes reads (`Store.routesReads`), the context builder names the verified caller (`identifyReader`, the
// token's sub), and a mutation says it writes (`readFresh`). The PostgreSQL store with
// DATABASE_READ_URL reads these to route (./pg/replica.ts); SQLite and a store without a replica
// ignore them. Outside any scope (CLIs, the outbox sender, start-up) every read is the primary's.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ReadScope {
  /** Whose writes this request must see (the token's sub), or null for an anonymous request. */
  key: string | null;
  /** True once the request writes (or is a mutation): its reads then see the primary's latest. */
  fresh: boolean;
  /** The store's decision for this request, made once at its first routed read. */
  decision?: Promise<boolean>;
}

const scopes = new AsyncLocalStorage<ReadScope>();

/** Runs one request's work in a read scope of its own. */
export function inReadScope<T>(fn: () => T): T {
  return scopes.run({ key: null, fresh: false }, fn);
}

/** Names the request's caller: their earlier writes decide where this request reads. */
export function identifyReader(key: string): void {
  const scope = scopes.getStore();
  if (scope) scope.key = key;
}

/** Marks the request as one that writes: every read from here on sees the primary's latest. */
export function readFresh(): void {
  const scope = scopes.getStore();
  if (scope) scope.fresh = true;
}

/** The current request's scope (for a store), or undefined outside any request. */
export function currentReadScope(): ReadScope | undefined {
  return scopes.getStore();
}
