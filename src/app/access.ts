// The permission layer's per-request view: how much of a user the caller may read and which
// fields they may change. Decisions come from src/domain (access.ts, policy.ts); this file only
// gathers the facts through the request's loaders and memoises per request.

import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { Caller } from '../domain/access.js';
import { callerRoles, type ReadAccess, readAccess } from '../domain/access.js';
import { type AttributeObject, type AttributeSettings, attributeSettingsOf, visibleMetadata } from '../domain/attributes.js';
import { connectionFacts, customScriptsName } from '../domain/connection.js';
import { attributePolicies, fieldPolicies } from '../domain/policy.js';
import type { CallerRoles, ConnectionFacts, FieldPolicies, Metadata } from '../domain/types.js';
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
   * it): the write's payload may show them, at this level.
   */
  private readonly writeGrants = new Map<string, ReadAccess>();

  grantRead(userId: string, level: ReadAccess = 'full'): void {
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
    const granted = this.writeGrants.get(user.id);
    if (granted) return granted;
    if (!this.caller) return 'none';
    return readAccess(this.caller, user.id, await this.organizationIdsOf(user.id));
  }

  /** The user row if the caller may read it, else null (the same answer as for a missing user). */
  async visible(user: UserRow | null): Promise<UserRow | null> {
    return user && (await this.read(user)) !== 'none' ? user : null;
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

  /** The connection's declared attributes and its rule for undeclared keys. */
  async attributeSettings(connectionId: string): Promise<AttributeSettings> {
    const connection = await this.loaders.connection.load(connectionId);
    if (!connection) throw new Error(`connection ${connectionId} is missing`);
    return attributeSettingsOf(connection.options);
  }

  /** For each declared attribute of the user's connection, whether the caller may change it (User.attributePolicies). */
  async attributePolicies(user: UserRow) {
    return attributePolicies(await this.rolesFor(user), await this.policies(user), await this.attributeSettings(user.connectionId), {
      user_metadata: user.userMetadata,
      app_metadata: user.appMetadata,
    });
  }

  /** A metadata object as the caller may see it: declared keys they may not view are absent. */
  async visibleMetadata(user: UserRow, object: AttributeObject, metadata: Metadata): Promise<Metadata> {
    return visibleMetadata(await this.attributeSettings(user.connectionId), object, metadata, await this.viewerOf(user));
  }

  /** Who the caller is to this user when it comes to viewing attributes (view lists name these roles). */
  async viewerOf(user: UserRow): Promise<{ tenantAdmin: boolean; helpDesk: boolean; self: boolean }> {
    const roles = await this.rolesFor(user);
    const tenantAdmin = this.caller !== null && this.caller.scopes.has('read:users');
    return { tenantAdmin: tenantAdmin || (roles.tenantAdmin && (await this.read(user)) === 'full'), helpDesk: roles.helpDesk, self: roles.self };
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
