// What a row's stored state means, the same for every dialect: a ticket's or invitation's
// usability, and an outbox message's status.
import type { MembershipRow, OutboxMessageSummary, OutboxStatus, TicketProblem, UserRow, UserStamp } from './types.js';

/** Why a ticket or invitation cannot be redeemed now, or null when it can. */
export function problemOf(row: { usedAt?: Date | null; acceptedAt?: Date | null; expiresAt: Date } | undefined, now: Date): TicketProblem | null {
  if (!row) return 'TICKET_INVALID';
  if (row.usedAt || row.acceptedAt) return 'TICKET_USED';
  if (row.expiresAt.getTime() <= now.getTime()) return 'TICKET_EXPIRED';
  return null;
}

/** Whether the row is still the one a decision was made on (see UserStamp). */
export function unchangedSince(row: Pick<UserRow, 'version' | 'loginsCount'>, base: Pick<UserStamp, 'version' | 'loginsCount'>): boolean {
  return row.version === base.version && row.loginsCount === base.loginsCount;
}

/** Whether a user is a member of the same organizations as a decision saw (whatever their order). */
export function sameOrganizations(now: readonly string[], seen: readonly string[]): boolean {
  const sorted = (ids: readonly string[]) => JSON.stringify([...ids].sort());
  return sorted(now) === sorted(seen);
}

/** A compare-and-set that found the row moved on: nothing of the write is kept (the app decides again). */
export class StaleRow extends Error {
  constructor(readonly userId: string) {
    super(`user ${userId} changed since the decision was made`);
  }
}

/** Whether a membership is as a decision saw it (both absent, or the same roles and invitation). */
export function sameMembership(row: MembershipRow | null | undefined, seen: MembershipRow | null): boolean {
  if (!row || !seen) return !row && !seen;
  return JSON.stringify([...row.roles].sort()) === JSON.stringify([...seen.roles].sort()) && row.invitedEmail === seen.invitedEmail;
}

/** Far in the future: a message that failed too often waits for an operator. */
export const GIVEN_UP = new Date('9999-01-01T00:00:00Z');

export type SummaryRow = Omit<OutboxMessageSummary, 'status'>;

/** An outbox message's status, from when it was sent and when it is next due. */
export function summary(row: SummaryRow): OutboxMessageSummary {
  const failed = row.sentAt === null && row.nextAttemptAt !== null && row.nextAttemptAt.getTime() >= GIVEN_UP.getTime();
  const status: OutboxStatus = row.sentAt !== null ? 'SENT' : failed ? 'FAILED' : 'PENDING';
  return { ...row, status, nextAttemptAt: status === 'PENDING' ? row.nextAttemptAt : null };
}
