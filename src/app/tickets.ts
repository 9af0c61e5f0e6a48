// Tickets: password reset and email verification. Random, stored only as hashes, single-use,
// expiring. A tenant administrator receives the ticket in the response; a ticket requested by the
// user or the help desk goes to the user's address through the outbox, never into the response.
import { createHash, randomBytes } from 'node:crypto';
import { hashPassword } from '../auth/passwords.js';
import { ScriptUnavailableError } from '../connectors/custom-db.js';
import { isLegacyUser } from '../domain/policy.js';
import type { UserError } from '../domain/types.js';
import { sameEmail, validateProfilePatch } from '../domain/validation.js';
import type { NewOutboxMessage, NewTicket, TicketKind, TicketProblem, UserChanges, UserRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { forbidden, unauthenticated } from './errors.js';
import { newTicketId } from './ids.js';
import { callLegacyScript, legacyChangeEmail, legacyIdentifier } from './legacy.js';
import { eventActor, userEventsOf } from './events.js';
import { forgetProfile } from './loaders.js';
import { findUserForWrite } from './lookup.js';
import { refusalErrors, type UserResult } from './results.js';
import { writeUser } from './writes.js';

export interface TicketResult {
  /** Only for a tenant administrator; null when the ticket went to the outbox. */
  ticket: string | null;
  expiresAt: Date | null;
  userErrors: UserError[];
}

/** 32 random bytes; the store keeps only their SHA-256. */
export function newTicketSecret(): { ticket: string; hash: string } {
  const ticket = randomBytes(32).toString('base64url');
  return { ticket, hash: hashTicket(ticket) };
}

export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket, 'utf8').digest('hex');
}

export const TICKET_MESSAGES: Record<TicketProblem, string> = {
  TICKET_INVALID: 'The ticket is not valid.',
  TICKET_EXPIRED: 'The ticket has expired; ask for a new one.',
  TICKET_USED: 'The ticket was used already; ask for a new one.',
};

export const ticketError = (problem: TicketProblem): UserError => ({
  field: ['ticket'],
  code: problem,
  message: TICKET_MESSAGES[problem],
});

/** A requested lifetime, within bounds; null with a user error when it is out of range. */
export function ticketTtl(
  requested: number | null | undefined,
  fallback: number,
  max: number,
): { seconds: number } | { error: UserError } {
  const seconds = requested ?? fallback;
  if (!Number.isInteger(seconds) || seconds < 60 || seconds > max) {
    return { error: { field: ['ttlSeconds'], code: 'INVALID_TTL', message: `ttlSeconds must be from 60 to ${max}.` } };
  }
  return { seconds };
}

const fail = (...userErrors: UserError[]): TicketResult => ({ ticket: null, expiresAt: null, userErrors });

/** Who may ask for a ticket for this user: a tenant administrator, the user's help desk, the user. */
async function requester(ctx: AppContext, user: UserRow): Promise<{ tenantAdmin: boolean }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const roles = await ctx.access.rolesFor(user);
  if (!roles.tenantAdmin && !roles.helpDesk && !roles.self) {
    throw forbidden('Only a tenant administrator, the user, or their help desk may ask for this ticket.');
  }
  return { tenantAdmin: roles.tenantAdmin };
}

function message(user: UserRow, subject: string, lines: string[]): NewOutboxMessage | null {
  if (!user.email) return null;
  return { userId: user.id, to: user.email, subject, body: lines.join('\n') };
}

export async function createPasswordResetTicket(
  ctx: AppContext,
  input: { user: string; ttlSeconds?: number | null },
): Promise<TicketResult> {
  const user = await findUserForWrite(ctx, input.user, 'update:users');
  const { tenantAdmin } = await requester(ctx, user);
  // Only where a tenant administrator could set the password (own store, migrated, legacy with changePassword).
  const password = (await ctx.access.tenantAdminPolicies(user)).password;
  if (!password.editable) return fail({ field: ['user'], code: password.reason, message: password.message });
  const ttl = ticketTtl(input.ttlSeconds, ctx.tickets.passwordResetTtl, ctx.tickets.maxTtl);
  if ('error' in ttl) return fail(ttl.error);
  if (!tenantAdmin && !user.email) {
    return fail({ field: ['user'], code: 'NO_EMAIL', message: 'The user has no email address to send the ticket to.' });
  }
  // Mailed only to an address the user proved to hold: otherwise whoever set the address (a help
  // desk, or someone who took over the session) would receive the account.
  if (!tenantAdmin && !user.emailVerified) {
    return fail({
      field: ['user'],
      code: 'EMAIL_NOT_VERIFIED',
      message: "The user's email address is not verified, so no password reset is mailed to it: verify it first (createEmailVerificationTicket).",
    });
  }
  // Bound to the email at issue: void once the email changes (checked when it is redeemed).
  return issue(ctx, user, 'password_reset', ttl.seconds, tenantAdmin, { email: user.email }, (ticket, expiresAt) => [
    'Someone asked to reset the password of your account.',
    `Your password reset ticket: ${ticket}`,
    `It can be used once, until ${expiresAt.toISOString()}. If you did not ask for it, ignore this message.`,
  ]);
}

export async function createEmailVerificationTicket(
  ctx: AppContext,
  input: { user: string; ttlSeconds?: number | null },
): Promise<TicketResult> {
  const user = await findUserForWrite(ctx, input.user, 'update:users');
  const { tenantAdmin } = await requester(ctx, user);
  if (!user.email) return fail({ field: ['user'], code: 'NO_EMAIL', message: 'The user has no email address to verify.' });
  const ttl = ticketTtl(input.ttlSeconds, ctx.tickets.emailVerificationTtl, ctx.tickets.maxTtl);
  if ('error' in ttl) return fail(ttl.error);
  return issue(ctx, user, 'email_verification', ttl.seconds, tenantAdmin, { email: user.email }, (ticket, expiresAt) =>
    verificationLines(ticket, expiresAt),
  );
}

function verificationLines(ticket: string, expiresAt: Date): string[] {
  return [
    'Please confirm that this is your email address.',
    `Your email verification ticket: ${ticket}`,
    `It can be used once, until ${expiresAt.toISOString()}.`,
  ];
}

async function issue(
  ctx: AppContext,
  user: UserRow,
  kind: TicketKind,
  ttlSeconds: number,
  toCaller: boolean,
  data: Record<string, unknown> | null,
  body: (ticket: string, expiresAt: Date) => string[],
): Promise<TicketResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated();
  const { ticket, hash } = newTicketSecret();
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const subject = kind === 'password_reset' ? 'Reset your password' : 'Verify your email address';
  await ctx.store.tickets.create(
    { id: newTicketId(), kind, userId: user.id, data, expiresAt },
    hash,
    toCaller ? null : message(user, subject, body(ticket, expiresAt)),
    { actorId: caller.sub, operation: kind === 'password_reset' ? 'createPasswordResetTicket' : 'createEmailVerificationTicket' },
  );
  return { ticket: toCaller ? ticket : null, expiresAt, userErrors: [] };
}

/**
 * After an email change that leaves the address unverified (whoever made the change): a
 * verification ticket to the new address and its message, planned against the row being written
 * so they commit with the change, or not at all.
 */
export function emailVerificationOnChange(
  ctx: AppContext,
  current: UserRow,
  changes: UserChanges,
  actorId: string,
): { ticket: NewTicket; message: NewOutboxMessage } | null {
  if (changes.email === undefined || changes.email === current.email || !changes.email) return null;
  if (changes.emailVerified ?? current.emailVerified) return null;
  const { ticket, hash } = newTicketSecret();
  const expiresAt = new Date(Date.now() + ctx.tickets.emailVerificationTtl * 1000);
  return {
    ticket: {
      row: { id: newTicketId(), kind: 'email_verification', userId: current.id, data: { email: changes.email }, expiresAt },
      ticketHash: hash,
      audit: { actorId, operation: 'createEmailVerificationTicket' },
    },
    message: { userId: current.id, to: changes.email, subject: 'Verify your email address', body: verificationLines(ticket, expiresAt).join('\n') },
  };
}

/** Redeems a ticket: checks it, runs the legacy script first where there is one, then one transaction. */
/**
 * Redeems a ticket. The ticket is claimed first, in its own transaction (so two redemptions of one
 * ticket cannot both go on to call a legacy script); then the effect is prepared (a hash, or the
 * legacy database's script); a failure there gives the ticket back; then the user is written.
 */
async function redeem(
  ctx: AppContext,
  kind: TicketKind,
  ticket: string,
  prepare: (user: UserRow, data: Record<string, unknown> | null) => Promise<{ changes: UserChanges } | { errors: UserError[] }>,
  operation: string,
  /** Re-checked inside the write transaction, against the row as it is then (a concurrent change cannot slip between). */
  stillValid: (current: UserRow, data: Record<string, unknown> | null) => UserError | null,
): Promise<UserResult> {
  const claimed = await ctx.store.tickets.claim(kind, hashTicket(ticket), new Date());
  if (!claimed.ok) return { user: null, userErrors: [ticketError(claimed.problem)] };
  const user = await ctx.loaders.user.load(claimed.ticket.userId);
  if (!user) return { user: null, userErrors: [ticketError('TICKET_INVALID')] };
  const early = stillValid(user, claimed.ticket.data);
  if (early) return { user: null, userErrors: [early] };
  const prepared = await prepare(user, claimed.ticket.data);
  if ('errors' in prepared) {
    await ctx.store.tickets.release(claimed.ticket.id, claimed.ticket.usedAt, user.version);
    return { user: null, userErrors: prepared.errors };
  }
  const result = await writeUser(ctx.store, user.id, user, (current) => {
    const changed = stillValid(current, claimed.ticket.data);
    return changed ? { errors: [changed] } : prepared;
  }, {
    // The ticket holder proved to be the user.
    actorId: ctx.caller?.sub ?? user.id,
    operation,
    // A ticket's effect (a password, a verified address) changes neither email nor username.
  }, { uniqueKeys: true, events: userEventsOf(eventActor(ctx, null, user.id)) });
  forgetProfile(ctx.loaders, user.id);
  if (!result.ok) return { user: null, userErrors: 'notFound' in result ? [ticketError('TICKET_INVALID')] : refusalErrors(result, user.id) };
  // The ticket is a credential to write, not to read: an anonymous holder sees id and version only
  // (a signed-in caller sees what they may read anyway).
  ctx.access.grantRead(user.id);
  return { user: result.user, userErrors: [] };
}

/** The address a ticket was issued for (undefined for a ticket that records none). */
function boundEmailOf(data: Record<string, unknown> | null): string | null | undefined {
  const email = data?.email;
  return typeof email === 'string' || email === null ? email : undefined;
}

const sameAddress = (a: string | null | undefined, b: string | null) => (a == null && b == null) || sameEmail(a, b);

const emailChanged = (how: 'issued' | 'sent'): UserError => ({
  field: ['ticket'],
  code: 'EMAIL_MISMATCH',
  message: `The email address changed since this ticket was ${how}; ask for a new one.`,
});

export async function resetPassword(ctx: AppContext, input: { ticket: string; password: string }): Promise<UserResult> {
  const invalid = validateProfilePatch({ password: input.password });
  if (invalid.length > 0) return { user: null, userErrors: invalid };
  return redeem(
    ctx,
    'password_reset',
    input.ticket,
    async (user) => {
      const facts = await ctx.access.connectionFacts(user.connectionId);
      if (isLegacyUser(facts, { migrated: user.migrated, invitationBound: false })) {
        // The legacy database keeps the password: its changePassword script sets it.
        const error = await callLegacyScript(ctx, user, async (s) => {
          if (!s.changePassword) throw new ScriptUnavailableError('no changePassword script');
          return s.changePassword(legacyIdentifier(user), input.password);
        });
        // Nothing to store, but a password write all the same: versioned and audited.
        return error ? { errors: [error] } : { changes: { passwordSetInCustomDatabase: true } };
      }
      return { changes: { passwordHash: await hashPassword(input.password) } };
    },
    'resetPassword',
    (current, data) => (boundEmailOf(data) === undefined || !sameAddress(boundEmailOf(data), current.email) ? emailChanged('issued') : null),
  );
}

export async function verifyEmail(ctx: AppContext, input: { ticket: string }): Promise<UserResult> {
  return redeem(
    ctx,
    'email_verification',
    input.ticket,
    async (user, data) => {
      const error = await legacyChangeEmail(ctx, user, boundEmailOf(data) as string, true);
      return error ? { errors: [error] } : { changes: { emailVerified: true } };
    },
    'verifyEmail',
    (current, data) => {
      const email = boundEmailOf(data);
      return typeof email === 'string' && sameEmail(email, current.email) ? null : emailChanged('sent');
    },
  );
}
