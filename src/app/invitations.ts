// Invitations: sent to an email address with roles and an expiry; accepting one (as the signed-in
// user whose email is the invited address) creates the membership, records the invited address
// (which then binds the user's email, see the policy) and marks the address verified.
import { hasScope, rolesAfterAcceptance } from '../domain/access.js';
import type { OrgRole, UserError } from '../domain/types.js';
import { isValidEmailShape } from '../domain/validation.js';
import { normalizeEmail } from '../domain/keys.js';
import type { AcceptanceDecision, InvitationRow, MembershipRow, UserRow } from '../store/types.js';
import { membershipEvents, userEvents } from '../domain/events.js';
import { changedFields, rowAfter } from '../store/changes.js';
import { eventActor } from './events.js';
import type { AppContext } from './context.js';
import { forbidden, notFound, unauthenticated } from './errors.js';
import { newInvitationId } from './ids.js';
import { forgetUser } from './loaders.js';
import { hashTicket, newTicketSecret, ticketError, ticketTtl } from './tickets.js';
import { legacyChangeEmail } from './legacy.js';
import { backoff, concurrentWrites } from './writes.js';

/** Decisions made for one acceptance before it gives up (CONCURRENT_WRITES). */
const ACCEPT_ATTEMPTS = 10;

export interface InvitationResult {
  invitation: (InvitationRow & { ticket: string | null }) | null;
  userErrors: UserError[];
}

/** Tenant administrators manage any organization; its ADMINs (the help desk) manage their own. */
export function assertManagesOrganization(ctx: AppContext, organizationId: string): void {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  if (hasScope(caller, 'update:organizations') || caller.adminOrganizationIds.has(organizationId)) return;
  throw forbidden("Only tenant administrators and the organization's ADMINs manage its members.");
}

export async function createInvitation(
  ctx: AppContext,
  input: { organization: string; email: string; roles?: readonly OrgRole[] | null; ttlSeconds?: number | null },
): Promise<InvitationResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const organization = await ctx.loaders.organization.load(input.organization);
  if (!organization) throw notFound('organization', input.organization);
  assertManagesOrganization(ctx, organization.id);
  const email = input.email.trim();
  if (!isValidEmailShape(email)) {
    return { invitation: null, userErrors: [{ field: ['email'], code: 'INVALID_EMAIL', message: 'Not a valid email address.' }] };
  }
  const ttl = ticketTtl(input.ttlSeconds, ctx.tickets.invitationTtl, ctx.tickets.maxTtl);
  if ('error' in ttl) return { invitation: null, userErrors: [ttl.error] };
  const roles: OrgRole[] = input.roles && input.roles.length > 0 ? [...new Set(input.roles)] : ['MEMBER'];
  const toCaller = hasScope(caller, 'update:organizations');
  const { ticket, hash } = newTicketSecret();
  const expiresAt = new Date(Date.now() + ttl.seconds * 1000);
  const name = organization.displayName ?? organization.name;
  const invitation = await ctx.store.invitations.create(
    { id: newInvitationId(), organizationId: organization.id, email, roles, inviterId: caller.sub, expiresAt },
    hash,
    toCaller
      ? null
      : {
          userId: null,
          to: email,
          subject: `You are invited to join ${name}`,
          body: [
            `You are invited to join ${name} as ${roles.join(', ')}.`,
            `Sign in with this address and accept the invitation with this ticket: ${ticket}`,
            `It can be used once, until ${expiresAt.toISOString()}.`,
          ].join('\n'),
        },
    { actorId: caller.sub, operation: 'createInvitation' },
  );
  return { invitation: { ...invitation, ticket: toCaller ? ticket : null }, userErrors: [] };
}

export async function acceptInvitation(
  ctx: AppContext,
  input: { ticket: string },
): Promise<{ membership: MembershipRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const user = await ctx.loaders.user.load(caller.sub);
  if (!user) throw forbidden('Only a signed-in user can accept an invitation.');
  const now = new Date();
  const invitation = await ctx.store.invitations.byHash(hashTicket(input.ticket));
  const fail = (error: UserError) => ({ membership: null, userErrors: [error] });
  if (!invitation) return fail(ticketError('TICKET_INVALID'));
  if (invitation.acceptedAt) return fail(ticketError('TICKET_USED'));
  if (invitation.expiresAt.getTime() <= now.getTime()) return fail(ticketError('TICKET_EXPIRED'));
  if (!user.email || normalizeEmail(user.email) !== normalizeEmail(invitation.email)) {
    return fail({
      field: ['ticket'],
      code: 'EMAIL_MISMATCH',
      message: 'The invitation was sent to another email address than the one you are signed in with.',
    });
  }
  // Holding the ticket proves the address: a legacy database is told first, where it can be.
  const scriptError = await legacyChangeEmail(ctx, user, user.email, true);
  if (scriptError) return fail(scriptError);
  // Decided against the user and their membership as read, applied only while both are still so
  // (a concurrent email change or membership change: read again, decided again).
  let current: UserRow = user;
  let membership = (await ctx.loaders.membershipsByUser.load(user.id)).find((m) => m.organizationId === invitation.organizationId) ?? null;
  const by = eventActor(ctx);
  for (let attempt = 1; ; attempt++) {
    const written: MembershipRow = {
      organizationId: invitation.organizationId,
      userId: current.id,
      roles: rolesAfterAcceptance(membership?.roles ?? null, invitation.roles),
      invitedEmail: invitation.email,
      joinedAt: membership?.joinedAt ?? now,
    };
    const changes = { emailVerified: true };
    const changed = changedFields(current, changes);
    // The events of what the store writes while the user and membership are as read.
    const events = [
      ...membershipEvents({ before: membership, after: written }, by),
      ...(changed.length > 0 ? userEvents({ userId: current.id, before: current, after: rowAfter(current, { changes }, now), changed }, by) : []),
    ];
    const decision: AcceptanceDecision = { before: membership, membership: written, changes, events };
    const result = await ctx.store.invitations.accept(invitation.id, current, decision, now, {
      actorId: caller.sub,
      operation: 'acceptInvitation',
    });
    if (result.ok) {
      if (events.length > 0 && by.notify) setImmediate(by.notify);
      forgetUser(ctx.loaders, user.id);
      return { membership: result.membership, userErrors: [] };
    }
    if ('problem' in result) return fail(ticketError(result.problem));
    if (attempt >= ACCEPT_ATTEMPTS) return fail(concurrentWrites());
    forgetUser(ctx.loaders, user.id);
    const [reread] = await ctx.store.users.byIds([user.id]);
    if (!reread) return fail(ticketError('TICKET_INVALID'));
    if (!reread.email || normalizeEmail(reread.email) !== normalizeEmail(invitation.email)) {
      return fail({ field: ['ticket'], code: 'EMAIL_MISMATCH', message: 'Your email address changed while the invitation was being accepted; it was not accepted.' });
    }
    current = reread;
    membership = (await ctx.store.organizations.membershipsByUserIds([user.id]))[0]?.find((m) => m.organizationId === invitation.organizationId) ?? null;
    await backoff(attempt);
  }
}
