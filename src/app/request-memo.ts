// Decisions made once per user per request, shared by the shield rules, the use cases and the
// resolvers: how much of a user the caller may read, and the field policies. They live as long as
// the request's loaders. Nothing here outlives the request.
import type { ReadAccess } from '../domain/access.js';
import type { FieldPolicies } from '../domain/types.js';

export class RequestMemo {
  private readonly readLevels = new Map<string, ReadAccess>();
  /**
   * The policy decided, by what it is decided from (the connection, the caller's roles towards the
   * user, the user's facts, the audience): the shield rule, the use case, `User.fieldPolicies` and
   * the payload after a write share one evaluation, users with the same facts on a page share one
   * too, and a write that changes a fact (a migration, an invitation, a block) makes a new key, so
   * it is not cleared by forget().
   */
  private readonly decided = new Map<string, FieldPolicies>();
  /** Which users each decision was asked for (a user with new facts is decided again). */
  private readonly askedFor = new Set<string>();
  /** How many times this request decided the policy, per user (a test holds it to one). */
  readonly evaluations = new Map<string, number>();
  /** How many times the domain's policy ran in this request (at most one per distinct key). */
  computed = 0;
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

  /** The decision for `key`, which must hold every fact the decision depends on (not the user's id). */
  policies(userId: string, key: string, evaluate: () => FieldPolicies): FieldPolicies {
    const asked = `${userId}\u0000${key}`;
    if (!this.askedFor.has(asked)) {
      this.askedFor.add(asked);
      this.evaluations.set(userId, (this.evaluations.get(userId) ?? 0) + 1);
    }
    let decision = this.decided.get(key);
    if (!decision) {
      decision = evaluate();
      this.computed += 1;
      this.decided.set(key, decision);
    }
    return decision;
  }

  /** After a write to the user: its memberships may have changed, so its read level is decided again. */
  forget(userId: string): void {
    this.generation++;
    this.readLevels.delete(userId);
  }
}
