// Who the caller is relative to a user: the roles the mutability policy judges, and how much of
// the profile the caller may read. Pure: the caller's facts and the user's memberships are passed in.
import type { CallerRoles, OrgRole, Scope } from './types.js';

export interface Caller {
  sub: string;
  scopes: ReadonlySet<Scope>;
  /** The token's `org_id` claim: when present, only that organization's help-desk powers count. */
  orgId: string | null;
  /** Organizations in which the caller holds ADMIN (already narrowed by `orgId`). */
  adminOrganizationIds: ReadonlySet<string>;
}

/**
 * `full`: every field; `member`: the help desk's view (app_metadata reads as null); `write`: a
 * writer who may not read (its write's payload shows only `id` and `version`); `none`: not visible.
 */
export type ReadAccess = 'full' | 'member' | 'write' | 'none';

/** The fields of a user that a writer who may not read sees in its write's payload. */
export const WRITER_VISIBLE_FIELDS: ReadonlySet<string> = new Set(['id', 'version']);

/**
 * The help desk's listings and filters never reach beyond its organizations: filtering users by an
 * organization needs read:users or ADMIN of that organization (narrowed by `org_id`).
 */
export function mayFilterByOrganization(caller: Caller | null, organizationId: string): boolean {
  return caller !== null && (hasScope(caller, 'read:users') || caller.adminOrganizationIds.has(organizationId));
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.has(scope);
}

/** The organizations whose ADMIN role counts for this token. */
export function effectiveAdminOrganizations(
  adminOf: Iterable<string>,
  orgIdClaim: string | null,
): Set<string> {
  const all = new Set(adminOf);
  if (orgIdClaim === null) return all;
  return all.has(orgIdClaim) ? new Set([orgIdClaim]) : new Set();
}

export function isHelpDeskFor(caller: Caller, userOrganizationIds: Iterable<string>): boolean {
  for (const id of userOrganizationIds) if (caller.adminOrganizationIds.has(id)) return true;
  return false;
}

/**
 * Whether a help desk may erase a user of these organizations: only a member of its own, who
 * belongs to no other ('shared': the member is another organization's too).
 */
export function helpDeskErasure(caller: Caller, userOrganizationIds: readonly string[]): 'allowed' | 'not_help_desk' | 'shared' {
  if (!isHelpDeskFor(caller, userOrganizationIds)) return 'not_help_desk';
  return userOrganizationIds.every((o) => caller.adminOrganizationIds.has(o)) ? 'allowed' : 'shared';
}

export function callerRoles(
  caller: Caller,
  userId: string,
  userOrganizationIds: Iterable<string>,
): CallerRoles {
  return {
    tenantAdmin: hasScope(caller, 'update:users'),
    helpDesk: isHelpDeskFor(caller, userOrganizationIds),
    self: caller.sub === userId,
  };
}

export function readAccess(
  caller: Caller,
  userId: string,
  userOrganizationIds: Iterable<string>,
): ReadAccess {
  if (hasScope(caller, 'read:users') || caller.sub === userId) return 'full';
  return isHelpDeskFor(caller, userOrganizationIds) ? 'member' : 'none';
}

/**
 * Whether a write may even find the user: a reader may, and so may a holder of the write scope
 * (update:users / delete:users see every user for those writes). Otherwise the answer is NOT_FOUND,
 * exactly as for a user that does not exist.
 */
export function canFindForWrite(
  caller: Caller,
  userId: string,
  userOrganizationIds: Iterable<string>,
  writeScope: Scope,
): boolean {
  return hasScope(caller, writeScope) || readAccess(caller, userId, userOrganizationIds) !== 'none';
}

/**
 * The memberships of a user the caller may see: all of them with full access; the help desk sees
 * only those of the organizations it administers (a member's other organizations stay hidden).
 */
export function visibleMemberships<T extends { organizationId: string }>(
  caller: Caller | null,
  access: ReadAccess,
  memberships: T[],
): T[] {
  if (access === 'full') return memberships;
  return memberships.filter((m) => caller?.adminOrganizationIds.has(m.organizationId));
}

/**
 * Whether the caller may see one membership of a user it reads at `access`: every membership with
 * full access; the help desk only those of the organizations it administers, as visibleMemberships
 * says (a member's membership of another organization, and its invited address, stay hidden).
 */
export function mayReadMembership(caller: Caller | null, access: ReadAccess, organizationId: string): boolean {
  return access === 'full' || (access !== 'none' && caller?.adminOrganizationIds.has(organizationId) === true);
}

/** An accepted invitation adds its roles to the membership's (accepting never takes a role away). */
export function rolesAfterAcceptance(current: readonly OrgRole[] | null, invited: readonly OrgRole[]): OrgRole[] {
  return [...new Set([...(current ?? []), ...invited])];
}
