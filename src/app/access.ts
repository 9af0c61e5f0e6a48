// The permission layer's per-request view: how much of a user the caller may read and which
// fields they may change. Decisions come from src/domain (access.ts, policy.ts); this file only
// gathers the facts through the request's loaders and memoises per request.

import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { Caller } from '../domain/access.js';
import { callerRoles, mayReadMembership, type ReadAccess, readAccess } from '../domain/access.js';
import { type AttributeObject, type AttributeSettings, attributeSettingsOf, visibleMetadata } from '../domain/attributes.js';
import { connectionFacts, customScriptsName } from '../domain/connection.js';
import { type Audience, audienceOf } from '../domain/messages.js';
import { attributePolicies, fieldPolicies } from '../domain/policy.js';
import type { CallerRoles, ConnectionFacts, FieldPolicies, Metadata } from '../domain/types.js';
import type { UserRow } from '../store/types.js';
import type { Loaders } from './loaders.js';

export class Access {
  private readonly facts = new Map<string, Promise<ConnectionFacts>>();
  /**
   * Users this request wrote with the right to (a write scope, or a ticket that proves who holds
   * it): the write's payload may show them at this level, never more than the caller could read
   * anyway. Writing does not grant reading: a writer who may not read gets `write` (id and version).
   */
  private readonly writeGrants = new Map<string, ReadAccess>();

  grantRead(userId: string, level: ReadAccess = 'write'): void {
    this.writeGrants.set(userId, level);
  }

  private get memo() {
    return this.loaders.memo;
  }

  /** How many times this request decided the policy, per user (a test holds it to one). */
  get evaluations(): ReadonlyMap<string, number> {
    return this.memo.evaluations;
  }

  /** How many times the domain's policy ran in this request (users with the same facts share one). */
  get policyComputations(): number {
    return this.memo.computed;
  }

  constructor(
    readonly caller: Caller | null,
    private readonly loaders: Loaders,
    private readonly scripts: ScriptRegistry,
  ) {}

  /** The organizations of a user's memberships, mapped once per list the loader holds. */
  private readonly organizationIds = new WeakMap<readonly { organizationId: string }[], string[]>();

  async organizationIdsOf(userId: string): Promise<readonly string[]> {
    const memberships = await this.loaders.membershipsByUser.load(userId);
    let ids = this.organizationIds.get(memberships);
    if (!ids) {
      ids = memberships.map((m) => m.organizationId);
      this.organizationIds.set(memberships, ids);
    }
    return ids;
  }

  async read(user: Pick<UserRow, 'id'>): Promise<ReadAccess> {
    const known = this.readNow(user.id);
    if (known !== undefined) return known;
    const caller = this.caller as Caller;
    const own = await this.memo.rememberRead(user.id, async () => readAccess(caller, user.id, await this.organizationIdsOf(user.id)));
    return this.withGrant(user.id, own);
  }

  /** The read level when it is already decided in this request (synchronously), else undefined. */
  readNow(userId: string): ReadAccess | undefined {
    if (!this.caller) return this.withGrant(userId, 'none');
    const own = this.memo.readLevel(userId);
    return own === undefined ? undefined : this.withGrant(userId, own);
  }

  // A write (or a ticket) grants what the caller may see of the user it wrote only where its own
  // reading rights give nothing: writing does not widen reading.
  private withGrant(userId: string, own: ReadAccess): ReadAccess {
    return own === 'none' ? (this.writeGrants.get(userId) ?? 'none') : own;
  }

  /** The user row if the caller may read it, else null (the same answer as for a missing user). */
  async visible(user: UserRow | null): Promise<UserRow | null> {
    if (!user) return null;
    const access = await this.read(user);
    return access === 'full' || access === 'member' ? user : null;
  }

  /**
   * A membership's user if the caller may read the user and see that membership (domain's
   * mayReadMembership: the help desk sees only its own organizations' memberships), else null.
   */
  async visibleMember(membership: { userId: string; organizationId: string }, user: UserRow | null): Promise<UserRow | null> {
    const readable = await this.visible(user);
    if (!readable) return null;
    return mayReadMembership(this.caller, await this.read(readable), membership.organizationId) ? readable : null;
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

  /**
   * The policy as a tenant administrator would have it: what the connection itself allows,
   * its refusals worded for this caller.
   */
  async tenantAdminPolicies(user: UserRow): Promise<FieldPolicies> {
    const audience = audienceOf(await this.rolesFor(user));
    return this.policiesWith(user, { tenantAdmin: true, helpDesk: false, self: false }, audience);
  }

  /** The caller's policy for this user: decided once per user per request (see RequestMemo). */
  async policies(user: UserRow): Promise<FieldPolicies> {
    const roles = await this.rolesFor(user);
    return this.policiesWith(user, roles, audienceOf(roles));
  }

  private async policiesWith(user: UserRow, roles: CallerRoles, audience: Audience): Promise<FieldPolicies> {
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
    // Everything the domain decides from, and nothing else (not the user's id: users with the same
    // facts share a decision). The audience is part of it: its messages are worded for it.
    const key = JSON.stringify([user.connectionId, roles, userFacts, audience]);
    return this.memo.policies(user.id, key, () => fieldPolicies(roles, facts, userFacts, audience));
  }
}
