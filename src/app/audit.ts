// Reading the audit log: tenant administrators with read:audit read all of it; the help desk
// reads its organization's events.
import { hasScope } from '../domain/access.js';
import type { AuditEventRow, Page } from '../store/types.js';
import type { AppContext } from './context.js';
import { forbidden, unauthenticated } from './errors.js';

export async function listAuditEvents(
  ctx: AppContext,
  args: { first: number; after: number | null; filter: { userId?: string | null; actorId?: string | null; organization?: string | null } },
): Promise<Page<AuditEventRow>> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const { organization, ...rest } = args.filter;
  let organizationIds: string[] | null = organization ? [organization] : null;
  if (!hasScope(caller, 'read:audit')) {
    const mine = [...caller.adminOrganizationIds];
    if (mine.length === 0) throw forbidden('Reading the audit log needs read:audit, or the ADMIN role of an organization.');
    if (organization && !caller.adminOrganizationIds.has(organization)) {
      throw forbidden("The help desk reads its own organization's events only.");
    }
    organizationIds = organization ? [organization] : mine;
  }
  return ctx.store.audit.list({ first: args.first, after: args.after, filter: { ...rest, organizationIds } });
}
