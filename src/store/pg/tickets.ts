// Tickets and invitations (the counterparts of ../sqlite/tickets.ts): only a hash of the ticket is
// stored; redeeming one is one transaction that locks the row, re-checks it, applies its effect,
// marks it used and audits, so two instances redeeming one ticket cannot both succeed.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { recordEvents } from './events.js';
import type { InvitationRow, InvitationStore, MembershipRow, NewOutboxMessage, NewTicket, TicketRow, TicketStore } from '../types.js';
import { applyUserChanges, type Db, recordAudit, retrying, userColumns } from './shared.js';
import { problemOf, sameMembership, unchangedSince } from '../states.js';
import * as t from './tables.js';

export async function enqueue(tx: Db, message: NewOutboxMessage, now: Date): Promise<void> {
  await tx
    .insert(t.outbox)
    .values({ userId: message.userId, toAddress: message.to, subject: message.subject, body: message.body, createdAt: now, nextAttemptAt: now });
}

/** A ticket row and its audit entry, inside the caller's transaction (the ticket's message is the caller's). */
export async function insertTicket(tx: Db, ticket: NewTicket, now: Date): Promise<TicketRow> {
  const full: TicketRow = { ...ticket.row, createdAt: now, usedAt: null };
  await tx.insert(t.tickets).values({ ...full, ticketHash: ticket.ticketHash });
  await recordAudit(tx, { ...ticket.audit, targetUserId: ticket.row.userId, fields: [ticket.row.kind] }, now);
  return full;
}

const ticketColumns = {
  id: t.tickets.id,
  kind: t.tickets.kind,
  userId: t.tickets.userId,
  data: t.tickets.data,
  createdAt: t.tickets.createdAt,
  expiresAt: t.tickets.expiresAt,
  usedAt: t.tickets.usedAt,
} as const;

const invitationColumns = {
  id: t.invitations.id,
  organizationId: t.invitations.organizationId,
  email: t.invitations.email,
  roles: t.invitations.roles,
  inviterId: t.invitations.inviterId,
  createdAt: t.invitations.createdAt,
  expiresAt: t.invitations.expiresAt,
  acceptedAt: t.invitations.acceptedAt,
  acceptedBy: t.invitations.acceptedBy,
} as const;

export function pgTickets(db: Db): TicketStore {
  return {
    async create(row, ticketHash, message, audit) {
      const now = new Date();
      return db.transaction(async (tx) => {
        const full = await insertTicket(tx, { row, ticketHash, audit }, now);
        if (message) await enqueue(tx, message, now);
        return full;
      });
    },
    async claim(kind, ticketHash, now) {
      return db.transaction(async (tx) => {
        const [ticket] = await tx
          .select(ticketColumns)
          .from(t.tickets)
          .where(and(eq(t.tickets.ticketHash, ticketHash), eq(t.tickets.kind, kind)))
          .for('update');
        const problem = problemOf(ticket, now);
        if (problem || !ticket) return { ok: false as const, problem: problem ?? 'TICKET_INVALID' };
        await tx.update(t.tickets).set({ usedAt: now }).where(and(eq(t.tickets.id, ticket.id), isNull(t.tickets.usedAt)));
        return { ok: true as const, ticket: { ...ticket, usedAt: now } };
      });
    },
    async release(id, claimedAt, userVersion) {
      // Only the claim this redemption made (a ticket used since by anyone else stays used), and
      // only while the user is unchanged (a password set meanwhile voided the ticket; any change keeps it used).
      const unchanged = sql`(SELECT ${t.users.version} FROM ${t.users} WHERE ${t.users.id} = ${t.tickets.userId}) = ${userVersion}`;
      await db.update(t.tickets).set({ usedAt: null }).where(and(eq(t.tickets.id, id), eq(t.tickets.usedAt, claimedAt), unchanged));
    },
  };
}

export function pgInvitations(db: Db): InvitationStore {
  return {
    async create(row, ticketHash, message, audit) {
      const now = new Date();
      const full: InvitationRow = { ...row, createdAt: now, acceptedAt: null, acceptedBy: null };
      await db.transaction(async (tx) => {
        await tx.insert(t.invitations).values({ ...full, ticketHash });
        if (message) await enqueue(tx, message, now);
        await recordAudit(tx, { ...audit, organizationId: row.organizationId, fields: ['invitation'] }, now);
      });
      return full;
    },
    async byHash(ticketHash) {
      return (await db.select(invitationColumns).from(t.invitations).where(eq(t.invitations.ticketHash, ticketHash)))[0] ?? null;
    },
    async accept(invitationId, base, decision, now, audit) {
      // Retried whole on a deadlock (erasure locks the user, then the invitations).
      return retrying(() => db.transaction(async (tx) => {
        const [invitation] = await tx.select(invitationColumns).from(t.invitations).where(eq(t.invitations.id, invitationId)).for('update');
        const problem = problemOf(invitation, now);
        if (problem || !invitation) return { ok: false as const, problem: problem ?? 'TICKET_INVALID' };
        const [user] = await tx.select(userColumns).from(t.users).where(eq(t.users.id, base.id)).for('update');
        if (!user) return { ok: false as const, problem: 'TICKET_INVALID' as const };
        if (!unchangedSince(user, base)) return { ok: false as const, stale: true as const };
        const where = and(eq(t.memberships.organizationId, invitation.organizationId), eq(t.memberships.userId, base.id));
        const membership = decision.membership;
        // Decided as a new membership: inserted unless an addOrganizationMember committed meanwhile
        // (then decided again on it). Decided on a membership: locked, and still that one.
        let existing: MembershipRow | null = null;
        if (decision.before === null) {
          const inserted = await tx.insert(t.memberships).values(membership).onConflictDoNothing().returning({ userId: t.memberships.userId });
          if (inserted.length === 0) return { ok: false as const, stale: true as const };
        } else {
          existing = (await tx.select().from(t.memberships).where(where).for('update'))[0] ?? null;
          if (!sameMembership(existing, decision.before)) return { ok: false as const, stale: true as const };
          await tx.update(t.memberships).set({ roles: membership.roles, invitedEmail: membership.invitedEmail }).where(where);
        }
        const { changed } = await applyUserChanges(tx, user, decision.changes, now);
        await tx.update(t.invitations).set({ acceptedAt: now, acceptedBy: user.id }).where(eq(t.invitations.id, invitationId));
        await recordAudit(tx, { ...audit, targetUserId: user.id, organizationId: invitation.organizationId, fields: ['membership', ...changed] }, now);
        // Last, in the order SQLite records them: the events lock is a transaction's last lock (./events.ts).
        if (decision.events && decision.events.length > 0) await recordEvents(tx, decision.events, now);
        return { ok: true as const, membership };
      }));
    },
  };
}
