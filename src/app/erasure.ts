// Deleting users (erasure) and exporting everything the gateway holds about one.
import { hasScope, helpDeskErasure } from '../domain/access.js';
import { userEvents } from '../domain/events.js';
import type { UserError } from '../domain/types.js';
import type { AuditEntry, ErasureDecision, UserRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { forbidden, unauthenticated } from './errors.js';
import { type AppEventActor, eventActor, sealedEvents } from './events.js';
import { forgetUser } from './loaders.js';
import { findUserForWrite } from './lookup.js';
import { backoff, concurrentWrites, WRITE_ATTEMPTS } from './writes.js';

export interface DeleteResult {
  deletedUserId: string | null;
  userErrors: UserError[];
}

/**
 * deleteUser: tenant administrators (delete:users) delete anyone; the help desk deletes a member
 * only when the member belongs to no other organization; a user may delete themself.
 */
export async function deleteUser(ctx: AppContext, id: string): Promise<DeleteResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const user = await findUserForWrite(ctx, id, 'delete:users');
  // The help desk's rule holds for the memberships every decision is made on (eraseUser decides
  // again when they changed meanwhile), not only for the ones read here.
  const check = !hasScope(caller, 'delete:users') && caller.sub !== user.id ? (organizations: readonly string[]) => helpDeskMayErase(caller, organizations) : undefined;
  check?.(await ctx.access.organizationIdsOf(user.id));
  return erase(ctx, user.id, 'deleteUser', check);
}

/** The help desk deletes a member of its organizations only when they belong to no other; throws FORBIDDEN otherwise. */
function helpDeskMayErase(caller: NonNullable<AppContext['caller']>, organizations: readonly string[]): void {
  const verdict = helpDeskErasure(caller, organizations);
  if (verdict === 'not_help_desk') throw forbidden('Deleting a user needs the delete:users scope.');
  if (verdict === 'shared') {
    throw forbidden(
      'This member also belongs to another organization, so their account is not yours to delete: remove them from your organization instead (removeOrganizationMember).',
    );
  }
}

export async function deleteMe(ctx: AppContext): Promise<DeleteResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const user = await ctx.loaders.user.load(caller.sub);
  if (!user) throw forbidden('Only a signed-in user can delete their own account.');
  return erase(ctx, user.id, 'deleteMe');
}

async function erase(ctx: AppContext, id: string, operation: string, check?: (organizations: readonly string[]) => void): Promise<DeleteResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated();
  const erased = await eraseUser(ctx, id, (organizations) => {
    check?.(organizations);
    // The organization a help desk acts through, as the memberships decided on say.
    const organizationId = hasScope(caller, 'delete:users') ? null : (organizations.find((o) => caller.adminOrganizationIds.has(o)) ?? null);
    return { audit: { actorId: caller.sub, operation, organizationId }, by: eventActor(ctx, organizationId) };
  });
  forgetUser(ctx.loaders, id);
  if (erased === 'concurrent') return { deletedUserId: null, userErrors: [concurrentWrites()] };
  return erased === 'erased' ? { deletedUserId: id, userErrors: [] } : { deletedUserId: null, userErrors: [] };
}

/**
 * An erasure is a value too: decided against the user as read and the organizations they belong
 * to (the audit entry, the deletion notices naming the organizations left), applied by the store
 * only while both are unchanged, and decided again on what the store found otherwise. `decide`
 * gives the audit entry and the events' actor for the organizations a decision is made on, and
 * throws (FORBIDDEN) when the caller may not erase a user of those organizations: it runs for every
 * decision, the first and each one made again. `read`: the user as the caller has just read them
 * (else read here).
 */
export async function eraseUser(
  ctx: AppContext,
  id: string,
  decide: (organizations: readonly string[]) => { audit: Omit<AuditEntry, 'targetUserId'>; by: AppEventActor },
  read?: UserRow,
): Promise<'erased' | 'missing' | 'concurrent'> {
  const user = read ?? (await ctx.store.users.byIds([id]))[0];
  if (!user) return 'missing';
  let current: UserRow = user;
  let organizations = ((await ctx.store.organizations.membershipsByUserIds([id]))[0] ?? []).map((m) => m.organizationId);
  for (let attempt = 1; ; attempt++) {
    const { audit, by } = decide(organizations);
    const result = await ctx.store.users.erase(id, current, erasureDecision(ctx, id, organizations, audit, by));
    if (result.ok) {
      if (by.notify) setImmediate(by.notify);
      return 'erased';
    }
    if ('notFound' in result) return 'missing';
    if (attempt >= WRITE_ATTEMPTS) return 'concurrent';
    ({ current, organizations } = result);
    await backoff(attempt);
  }
}

function erasureDecision(ctx: AppContext, id: string, organizations: string[], audit: Omit<AuditEntry, 'targetUserId'>, by: AppEventActor): ErasureDecision {
  const notices = userEvents({ userId: id, before: null, after: null, changed: ['deleted'], organizationsLeft: organizations }, by);
  return { organizations, audit, events: sealedEvents(notices, ctx.events?.box) };
}

/** exportUserData: the user themself, or a tenant administrator with read:users; null for anyone else. */
export async function exportUserData(ctx: AppContext, id: string): Promise<Record<string, unknown> | null> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  if (caller.sub !== id && !hasScope(caller, 'read:users')) return null;
  const data = await ctx.store.users.exportData(id);
  const user = await ctx.loaders.user.load(id);
  if (!data || !user) return data;
  // Declared attributes the caller may not view are absent here too, as in userMetadata/appMetadata.
  const exported = data.user as Record<string, unknown>;
  exported.user_metadata = await ctx.access.visibleMetadata(user, 'user_metadata', user.userMetadata);
  exported.app_metadata = await ctx.access.visibleMetadata(user, 'app_metadata', user.appMetadata);
  return data;
}
