// Organization operations. Adding an existing user to an organization is a tenant
// administrator's act: it would otherwise let a help desk reach any user (they invite instead).
import type { OrgRole, UserError } from '../domain/types.js';
import type { MembershipRow, OrganizationRow } from '../store/types.js';
import { eventActor, membershipEventsOf, told } from './events.js';
import type { AppContext } from './context.js';
import { notFound, unauthenticated } from './errors.js';
import { newOrganizationId } from './ids.js';
import { forgetUser } from './loaders.js';
import { assertManagesOrganization } from './invitations.js';
import { findConnection } from './lookup.js';
import { userError } from './results.js';
import { backoff, concurrentWrites, WRITE_ATTEMPTS } from './writes.js';

const NAME = /^[a-z0-9][a-z0-9_-]{0,49}$/;

/** Name (format, uniqueness) and displayName of a new or changed organization. */
async function checkOrganizationFields(
  ctx: AppContext,
  input: { name?: string | null; displayName?: string | null },
  current: OrganizationRow | null,
): Promise<UserError[]> {
  const errors: UserError[] = [];
  if (input.name != null && input.name !== current?.name) {
    if (!NAME.test(input.name)) {
      errors.push({ field: ['name'], code: 'INVALID_NAME', message: 'An organization name is 1–50 lower-case letters, digits, - and _.' });
    } else if (await ctx.store.organizations.byName(input.name)) {
      errors.push({ field: ['name'], code: 'NAME_TAKEN', message: `An organization named ${input.name} exists.` });
    }
  }
  if (input.displayName != null && (input.displayName.trim() === '' || input.displayName.length > 255)) {
    errors.push({ field: ['displayName'], code: 'INVALID_LENGTH', message: 'displayName is 1–255 characters.' });
  }
  return errors;
}

/** Connection ids or names to ids; an unknown one is a NOT_FOUND user error at its index. */
async function resolveConnections(ctx: AppContext, refs: readonly string[], errors: UserError[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const connection = await findConnection(ctx, ref);
    if (connection) ids.push(connection.id);
    else errors.push({ field: ['connections', String(i)], code: 'NOT_FOUND', message: `No connection ${ref}.` });
  }
  return [...new Set(ids)];
}

export async function createOrganization(
  ctx: AppContext,
  input: { name: string; displayName?: string | null; connections?: readonly string[] | null },
): Promise<{ organization: OrganizationRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const errors = await checkOrganizationFields(ctx, input, null);
  const connectionIds = await resolveConnections(ctx, input.connections ?? [], errors);
  if (errors.length > 0) return { organization: null, userErrors: errors };
  const row = await ctx.store.organizations.create(
    { id: newOrganizationId(), name: input.name, displayName: input.displayName ?? null },
    connectionIds,
    { actorId: caller.sub, operation: 'createOrganization' },
  );
  ctx.loaders.organization.prime(row.id, row);
  return { organization: row, userErrors: [] };
}

export async function addOrganizationMember(
  ctx: AppContext,
  input: { organization: string; user: string; roles?: readonly OrgRole[] | null },
): Promise<{ membership: MembershipRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const organization = await ctx.loaders.organization.load(input.organization);
  if (!organization) throw notFound('organization', input.organization);
  const user = await ctx.loaders.user.load(input.user);
  if (!user) throw notFound('user', input.user);
  const roles: OrgRole[] = input.roles && input.roles.length > 0 ? [...new Set(input.roles)] : ['MEMBER'];
  // A new membership the app fully knows: its events are made from the row it inserts.
  const row = { organizationId: organization.id, userId: user.id, roles, invitedEmail: null };
  const by = eventActor(ctx);
  const events = membershipEventsOf(by, { before: null, after: row });
  const result = await ctx.store.organizations.addMember(row, { actorId: caller.sub, operation: 'addOrganizationMember' }, events);
  if (result.ok) told(by, events);
  forgetUser(ctx.loaders, user.id);
  return result.ok
    ? { membership: result.membership, userErrors: [] }
    : { membership: null, userErrors: [userError('ALREADY_MEMBER', 'The user is already a member of this organization.', ['user'])] };
}

export async function updateOrganization(
  ctx: AppContext,
  id: string,
  input: { name?: string | null; displayName?: string | null; connections?: readonly string[] | null },
): Promise<{ organization: OrganizationRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const current = await ctx.loaders.organization.load(id);
  if (!current) throw notFound('organization', id);
  const errors = await checkOrganizationFields(ctx, input, current);
  const connectionIds = input.connections != null ? await resolveConnections(ctx, input.connections, errors) : undefined;
  if (errors.length > 0) return { organization: null, userErrors: errors };
  const row = await ctx.store.organizations.update(
    id,
    {
      ...(input.name != null ? { name: input.name } : {}),
      ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
      ...(connectionIds ? { connectionIds } : {}),
    },
    { actorId: caller.sub, operation: 'updateOrganization' },
  );
  if (!row) throw notFound('organization', id);
  ctx.loaders.organization.clear(id).prime(id, row);
  ctx.loaders.organizationConnectionIds.clear(id);
  return { organization: row, userErrors: [] };
}

/** Changes a member's roles: tenant administrators, or the organization's ADMINs. */
export async function updateOrganizationMember(
  ctx: AppContext,
  input: { organization: string; user: string; roles: readonly OrgRole[] },
): Promise<{ membership: MembershipRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const organization = await ctx.loaders.organization.load(input.organization);
  if (!organization) throw notFound('organization', input.organization);
  assertManagesOrganization(ctx, organization.id);
  if (input.roles.length === 0) {
    return { membership: null, userErrors: [{ field: ['roles'], code: 'REQUIRED', message: 'A member has at least one role.' }] };
  }
  const roles = [...new Set(input.roles)];
  const audit = { actorId: caller.sub, operation: 'updateOrganizationMember' };
  const by = eventActor(ctx);
  // Decided on the membership as read (its events say whether the roles change), applied only
  // while its roles are still those; decided again on the membership the store returns otherwise.
  let current = (await ctx.loaders.membershipsByUser.load(input.user)).find((m) => m.organizationId === organization.id) ?? null;
  for (let attempt = 1; ; attempt++) {
    // Not a member answers as a missing user: the help desk learns nothing of others.
    if (!current) throw notFound('member', input.user);
    const events = membershipEventsOf(by, { before: current, after: { ...current, roles } });
    const result = await ctx.store.organizations.updateMemberRoles(current, roles, audit, events);
    if (result.ok) {
      told(by, events);
      forgetUser(ctx.loaders, input.user);
      return { membership: result.membership, userErrors: [] };
    }
    if ('notMember' in result) current = null;
    else {
      if (attempt >= WRITE_ATTEMPTS) return { membership: null, userErrors: [concurrentWrites()] };
      current = result.current;
      await backoff(attempt);
    }
  }
}

export async function removeOrganizationMember(
  ctx: AppContext,
  input: { organization: string; user: string },
): Promise<{ removedUserId: string | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const organization = await ctx.loaders.organization.load(input.organization);
  if (!organization) throw notFound('organization', input.organization);
  assertManagesOrganization(ctx, organization.id);
  // The removal's event names the membership, not its roles: it is decided without reading them,
  // and recorded only if the store finds the membership to remove.
  const by = eventActor(ctx);
  const events = membershipEventsOf(by, { before: { organizationId: organization.id, userId: input.user, roles: [] }, after: null });
  const removed = await ctx.store.organizations.removeMember(organization.id, input.user, {
    actorId: caller.sub,
    operation: 'removeOrganizationMember',
  }, events);
  if (!removed) throw notFound('member', input.user);
  told(by, events);
  forgetUser(ctx.loaders, input.user);
  return { removedUserId: input.user, userErrors: [] };
}
