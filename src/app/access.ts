// The permission layer's per-request view: how much of a user the caller may read and which
// fields they may change. Decisions come from src/domain (access.ts, policy.ts); this file only
// gathers the facts through the request's loaders and memoises per request.

import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { Caller } from '../domain/access.js';
import { callerRoles, type ReadAccess, readAccess } from '../domain/access.js';
import { connectionFacts, customScriptsName } from '../domain/connection.js';
import { type Audience, audienceOf } from '../domain/messages.js';
import { fieldPolicies } from '../domain/policy.js';
import type { CallerRoles, ConnectionFacts, FieldPolicies } from '../domain/types.js';
import type { UserRow } from '../store/types.js';
import type { Loaders } from './loaders.js';

export class Access {
  private readonly facts = new Map<string, Promise<ConnectionFacts>>();
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

  async policies(user: UserRow): Promise<FieldPolicies> {
    const roles = await this.rolesFor(user);
    return this.policiesWith(user, roles, audienceOf(roles));
  }

  private async policiesWith(user: UserRow, roles: CallerRoles, audience: Audience): Promise<FieldPolicies> {
    const [memberships, facts] = await Promise.all([
      this.loaders.membershipsByUser.load(user.id),
      this.connectionFacts(user.connectionId),
    ]);
    return fieldPolicies(
      roles,
      facts,
      { migrated: user.migrated, invitationBound: memberships.some((m) => m.invitedEmail !== null) },
      audience,
    );
  }
}
