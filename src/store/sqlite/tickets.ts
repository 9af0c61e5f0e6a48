// Tickets and invitations: only a hash of the ticket is stored; redeeming one is a single
// transaction that re-checks it, applies its effect, marks it used and audits.
import { and, eq, sql } from 'drizzle-orm';
import type {
  InvitationRow,
  InvitationStore,
  NewOutboxMessage,
  NewTicket,
  TicketRow,
  TicketStore,
} from '../types.js';
import { applyUserChanges, type Db, recordAudit, userColumns } from './shared.js';
import { problemOf, sameMembership, unchangedSince } from '../states.js';
import * as t from './tables.js';
import { recordEvents } from './events.js';

export function enqueue(tx: Db, message: NewOutboxMessage, now: Date): void {
  tx.insert(t.outbox)
    .values({ userId: message.userId, toAddress: message.to, subject: message.subject, body: message.body, createdAt: now, nextAttemptAt: now })
    .run();
}

/** A ticket row and its audit entry, inside the caller's transaction (the ticket's message is the caller's). */
export function insertTicket(tx: Db, ticket: NewTicket, now: Date): TicketRow {
  const full: TicketRow = { ...ticket.row, createdAt: now, usedAt: null };
  tx.insert(t.tickets).values({ ...full, ticketHash: ticket.ticketHash }).run();
  recordAudit(tx, { ...ticket.audit, targetUserId: ticket.row.userId, fields: [ticket.row.kind] }, now);
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

export function sqliteTickets(db: Db): TicketStore {
  return {
    async create(row, ticketHash, message, audit) {
      const now = new Date();
      return db.transaction((tx) => {
        const full = insertTicket(tx, { row, ticketHash, audit }, now);
        if (message) enqueue(tx, message, now);
        return full;
      });
    },
    async claim(kind, ticketHash, now) {
      return db.transaction((tx) => {
        const ticket = tx
          .select(ticketColumns)
          .from(t.tickets)
          .where(and(eq(t.tickets.ticketHash, ticketHash), eq(t.tickets.kind, kind)))
          .get();
        const problem = problemOf(ticket, now);
        if (problem || !ticket) return { ok: false as const, problem: problem ?? 'TICKET_INVALID' };
        tx.update(t.tickets).set({ usedAt: now }).where(eq(t.tickets.id, ticket.id)).run();
        return { ok: true as const, ticket: { ...ticket, usedAt: now } };
      });
    },
    async release(id, claimedAt, userVersion) {
      // Only the claim this redemption made (a ticket used since by anyone else stays used), and
      // only while the user is unchanged (a password set meanwhile voided the ticket; any change keeps it used).
      const unchanged = sql`(SELECT ${t.users.version} FROM ${t.users} WHERE ${t.users.id} = ${t.tickets.userId}) = ${userVersion}`;
      db.update(t.tickets).set({ usedAt: null }).where(and(eq(t.tickets.id, id), eq(t.tickets.usedAt, claimedAt), unchanged)).run();
    },
  };
}

export function sqliteInvitations(db: Db): InvitationStore {
  return {
    async create(row, ticketHash, message, audit) {
      const now = new Date();
      const full: InvitationRow = { ...row, createdAt: now, acceptedAt: null, acceptedBy: null };
      db.transaction((tx) => {
        tx.insert(t.invitations).values({ ...full, ticketHash }).run();
        if (message) enqueue(tx, message, now);
        recordAudit(tx, { ...audit, organizationId: row.organizationId, fields: ['invitation'] }, now);
      });
      return full;
    },
    async byHash(ticketHash) {
      return db.select(invitationColumns).from(t.invitations).where(eq(t.invitations.ticketHash, ticketHash)).get() ?? null;
    },
    async accept(invitationId, base, decision, now, audit) {
      return db.transaction((tx) => {
        const invitation = tx.select(invitationColumns).from(t.invitations).where(eq(t.invitations.id, invitationId)).get();
        const problem = problemOf(invitation, now);
        if (problem || !invitation) return { ok: false as const, problem: problem ?? 'TICKET_INVALID' };
        const user = tx.select(userColumns).from(t.users).where(eq(t.users.id, base.id)).get();
        if (!user) return { ok: false as const, problem: 'TICKET_INVALID' as const };
        const where = and(eq(t.memberships.organizationId, invitation.organizationId), eq(t.memberships.userId, base.id));
        const existing = tx.select().from(t.memberships).where(where).get();
        // Decided on another user row (an email changed since?) or membership: decided again.
        if (!unchangedSince(user, base) || !sameMembership(existing, decision.before)) return { ok: false as const, stale: true as const };
        const membership = decision.membership;
        if (existing) tx.update(t.memberships).set({ roles: membership.roles, invitedEmail: membership.invitedEmail }).where(where).run();
        else tx.insert(t.memberships).values(membership).run();
        const { changed } = applyUserChanges(tx, user, decision.changes, now);
        if (decision.events && decision.events.length > 0) recordEvents(tx, decision.events, now);
        tx.update(t.invitations).set({ acceptedAt: now, acceptedBy: user.id }).where(eq(t.invitations.id, invitationId)).run();
        recordAudit(
          tx,
          { ...audit, targetUserId: user.id, organizationId: invitation.organizationId, fields: ['membership', ...changed] },
          now,
        );
        return { ok: true as const, membership };
      });
    },
  };
}
