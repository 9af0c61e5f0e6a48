// Decisions made once per user per request, shared by the shield rules, the use cases and the
// resolvers: how much of a user the caller may read, and the field policies. They live as long as
// the request's loaders. Nothing here outlives the request.
import type { ReadAccess } from '../domain/access.js';
import type { FieldPolicies } from '../domain/types.js';

export class RequestMemo {
  private readonly readLevels = new Map<string, ReadAccess>();
  /**
   * The policy decided for each user, by what it was decided from (user, connection, roles and the
   * user's facts): the shield rule, the use case, `User.fieldPolicies` and the payload after a write
   * share one evaluation, and a write that changes a fact (a migration, an invitation, a block)
   * makes a new key, so it is not cleared by forget().
   */
  private readonly decided = new Map<string, FieldPolicies>();
  /** How many times this request evaluated the policy, per user (a test holds it to one). */
  readonly evaluations = new Map<string, number>();
  /** Bumped by forget(): a read level that was being decided across it is not kept. */
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

  /** The decision for `key` (which must include the user id and every fact it depends on). */
  policies(userId: string, key: string, evaluate: () => FieldPolicies): FieldPolicies {
    const known = this.decided.get(key);
    if (known) return known;
    const decision = evaluate();
    this.decided.set(key, decision);
    this.evaluations.set(userId, (this.evaluations.get(userId) ?? 0) + 1);
    return decision;
  }

  /** After a write to the user: its memberships may have changed, so its read level is decided again. */
  forget(userId: string): void {
    this.generation++;
    this.readLevels.delete(userId);
  }
}
