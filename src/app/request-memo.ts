// Decisions made once per user per request, shared by the shield rules, the use cases and the
// resolvers: how much of a user the caller may read, and the field policies. They live as long as
// the request's loaders, and forgetUser (after a write) clears a user's entries with the loaders'
// so what the request does next sees the write. Nothing here outlives the request.
import type { ReadAccess } from '../domain/access.js';
import type { CallerRoles, FieldPolicies } from '../domain/types.js';

export class RequestMemo {
  private readonly readLevels = new Map<string, ReadAccess>();
  private readonly policies = new Map<string, Promise<FieldPolicies>>();
  /**
   * The policy is a pure function of (roles, connection, migrated, invitation-bound): users who
   * share those (most of a page) share one computed answer.
   */
  private readonly policiesByFacts = new Map<string, FieldPolicies>();
  /** Bumped by forget(): a decision that was being computed across it is not kept. */
  private generation = 0;

  readLevel(userId: string): ReadAccess | undefined {
    return this.readLevels.get(userId);
  }

  async rememberRead(userId: string, decide: () => Promise<ReadAccess>): Promise<ReadAccess> {
    const generation = this.generation;
    const level = await decide();
    if (generation === this.generation) this.readLevels.set(userId, level);
    return level;
  }

  /** `variant` separates the caller's own policy from the tenant-administrator view of it. */
  rememberPolicies(userId: string, variant: 'caller' | 'tenantAdmin', decide: () => Promise<FieldPolicies>): Promise<FieldPolicies> {
    const key = `${variant}\u0000${userId}`;
    let pending = this.policies.get(key);
    if (!pending) {
      pending = decide();
      this.policies.set(key, pending);
    }
    return pending;
  }

  policiesFor(
    roles: CallerRoles,
    connectionId: string,
    user: { migrated: boolean; invitationBound: boolean },
    compute: () => FieldPolicies,
  ): FieldPolicies {
    const key = `${+roles.tenantAdmin}${+roles.helpDesk}${+roles.self}${+user.migrated}${+user.invitationBound}${connectionId}`;
    let policies = this.policiesByFacts.get(key);
    if (!policies) {
      policies = compute();
      this.policiesByFacts.set(key, policies);
    }
    return policies;
  }

  forget(userId: string): void {
    this.generation++;
    this.readLevels.delete(userId);
    this.policies.delete(`caller\u0000${userId}`);
    this.policies.delete(`tenantAdmin\u0000${userId}`);
  }
}
