// The permission layer's per-request view: how much of a user the caller may read and which
// fields they may change. Decisions come from src/domain (access.ts, policy.ts); this file only
// gathers the facts through the request's loaders and memoises per request.

import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { Caller } from '../domain/access.js';
import { callerRoles, type ReadAccess, readAccess } from '../domain/access.js';
import { connectionFacts, customScriptsName } from '../domain/connection.js';
import { fieldPolicies } from '../domain/policy.js';
import type { CallerRoles, ConnectionFacts, FieldPolicies } from '../domain/types.js';
import type { UserRow } from '../store/types.js';
import type { Loaders } from './loaders.js';

export class Access {
  private readonly facts = new Map<string, Promise<ConnectionFacts>>();
  /**
   * The policy decided for each user in this request, by what it was decided from: the shield
   * rule, the use case, `User.fieldPolicies` and the payload after a write share one evaluation
   * (a write that changes a fact, e.g. a migration or an invitation, makes a new key).
   */
  private readonly decided = new Map<string, FieldPolicies>();
  /** How many times this request evaluated the policy, per user (a test holds it to one). */
  readonly evaluations = new Map<string, number>();
  /**
   * Users this request wrote with the right to (a write scope, or a ticket that proves who holds
   * it): the write's payload may show them at this level, never more than the caller could read
   * anyway. Writing does not grant reading: a writer who may not read gets `write` (id and version).
   */
  private readonly writeGrants = new Map<string, ReadAccess>();

  grantRead(userId: string, level: ReadAccess = 'write'): void {
    this.writeGrants.set(userId, level);
  }

  constructor(
    readonly caller: Caller | null,
    private readonly loaders: Loaders,
    private readonly scripts: ScriptRegistry,
  ) {}

  async organizationIdsOf(userId: string): Promise<string[]> {
    const memberships = await this.loaders.membershipsByUser.load(userId);
    return memberships.map((m) => m.organizationId);
  }

  async read(user: Pick<UserRow, 'id'>): Promise<ReadAccess> {
    const own = this.caller ? readAccess(this.caller, user.id, await this.organizationIdsOf(user.id)) : 'none';
    return own === 'none' ? (this.writeGrants.get(user.id) ?? 'none') : own;
  }

  /** The user row if the caller may read it, else null (the same answer as for a missing user). */
  async visible(user: UserRow | null): Promise<UserRow | null> {
    if (!user) return null;
    const access = await this.read(user);
    return access === 'full' || access === 'member' ? user : null;
  }

  connectionFacts(connectionId: string): Promise<ConnectionFacts> {
    let pending = this.facts.get(connectionId);
    if (!pending) {
      pending = (async () => {
        const connection = await this.loaders.connection.load(connectionId);
        if (!connection) throw new Error(`connection ${connectionId} is missing`);
        return connectionFacts(connection, await this.scripts.capabilities(customScriptsName(connection)));
      })();
      this.facts.set(connectionId, pending);
    }
    return pending;
  }

  /** The caller's roles relative to a user. */
  async rolesFor(user: UserRow): Promise<CallerRoles> {
    if (!this.caller) return { tenantAdmin: false, helpDesk: false, self: false };
    return callerRoles(this.caller, user.id, await this.organizationIdsOf(user.id));
  }

  /** The policy as a tenant administrator would have it: what the connection itself allows. */
  async tenantAdminPolicies(user: UserRow): Promise<FieldPolicies> {
    return this.policiesWith(user, { tenantAdmin: true, helpDesk: false, self: false });
  }

  async policies(user: UserRow): Promise<FieldPolicies> {
    return this.policiesWith(user, await this.rolesFor(user));
  }

  private async policiesWith(user: UserRow, roles: CallerRoles): Promise<FieldPolicies> {
    const [memberships, facts] = await Promise.all([
      this.loaders.membershipsByUser.load(user.id),
      this.connectionFacts(user.connectionId),
    ]);
    const administered = roles.helpDesk ? (this.caller?.adminOrganizationIds ?? new Set<string>()) : new Set<string>();
    const userFacts = {
      migrated: user.migrated,
      invitationBound: memberships.some((m) => m.invitedEmail !== null),
      memberOfAnotherOrganization: roles.helpDesk && memberships.some((m) => !administered.has(m.organizationId)),
      blockedBy: !user.blocked
        ? null
        : user.blockedByOrganizationId === null
          ? ('tenant_admin' as const)
          : administered.has(user.blockedByOrganizationId)
            ? ('this_help_desk' as const)
            : ('another_help_desk' as const),
    };
    const key = JSON.stringify([user.id, user.connectionId, roles, userFacts]);
    const known = this.decided.get(key);
    if (known) return known;
    const decision = fieldPolicies(roles, facts, userFacts);
    this.decided.set(key, decision);
    this.evaluations.set(user.id, (this.evaluations.get(user.id) ?? 0) + 1);
    return decision;
  }
}
