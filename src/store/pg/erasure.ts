// Erasure and export of one user's data: everything the gateway holds about them (the
// counterpart of ../sqlite/erasure.ts, statement for statement).
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../domain/keys.js';
import type { EraseResult, ErasureDecision, UserStamp } from '../types.js';
import { sameOrganizations, unchangedSince } from '../states.js';
import { exportDocument } from '../export.js';
import { type IdHasher, pseudonymOf } from '../pseudonyms.js';
import { lockEvents, recordEvents } from './events.js';
import { type Db, recordAudit, retrying, userColumns } from './shared.js';
import * as t from './tables.js';

export async function eraseUser(db: Db, hash: IdHasher, id: string, base: UserStamp, decision: ErasureDecision): Promise<EraseResult> {
  // Retried whole on a deadlock (an invitation's acceptance locks it, then the user).
  return retrying(() => db.transaction(async (tx): Promise<EraseResult> => {
    const [user] = await tx.select({ ...userColumns, emailLower: t.users.emailLower }).from(t.users).where(eq(t.users.id, id)).for('update');
    if (!user) return { ok: false, notFound: true };
    // Locked, so none is added or removed before the memberships go with the user (ON DELETE
    // CASCADE): the deletion notices name exactly the organizations left.
    const organizations = (
      await tx.select({ o: t.memberships.organizationId }).from(t.memberships).where(eq(t.memberships.userId, id)).orderBy(t.memberships.organizationId).for('update')
    ).map((r) => r.o);
    if (!unchangedSince(user, base) || !sameOrganizations(organizations, decision.organizations)) {
      const { emailLower: _lower, ...current } = user;
      return { ok: false, stale: true, current, organizations };
    }
    const { audit } = decision;
    const now = new Date();
    const pseudonym = pseudonymOf(hash, id);
    // An address is not an identity (the same email can belong to users of other connections):
    // what is linked to this user goes, and what was sent to the address only when no one else has it.
    await tx.delete(t.outbox).where(eq(t.outbox.userId, id));
    await tx.delete(t.invitations).where(eq(t.invitations.acceptedBy, id));
    const addressShared =
      user.emailLower !== null &&
      (
        await tx
          .select({ id: t.users.id })
          .from(t.users)
          .where(and(eq(t.users.emailLower, user.emailLower), sql`${t.users.id} <> ${id}`))
          .limit(1)
      ).length > 0;
    if (user.emailLower && !addressShared) {
      // Compared in the domain's form (normalizeEmail), not by SQL lower(): PostgreSQL's folds
      // non-ASCII letters (É = é) and composes nothing (NFD ≠ NFC), so it would miss or take rows
      // that the domain, and SQLite's erasure, compare otherwise.
      const sent = await tx.select({ id: t.outbox.id, to: t.outbox.toAddress }).from(t.outbox).where(isNull(t.outbox.userId));
      const sentIds = sent.filter((r) => normalizeEmail(r.to) === user.emailLower).map((r) => r.id);
      if (sentIds.length > 0) await tx.delete(t.outbox).where(inArray(t.outbox.id, sentIds));
      // Pending invitations belong to their organization: only an address the user had verified
      // (and no one else holds) lets their erasure cancel one; anyone may type an address.
      if (user.emailVerified) {
        const pending = await tx.select({ id: t.invitations.id, email: t.invitations.email }).from(t.invitations).where(isNull(t.invitations.acceptedAt));
        const pendingIds = pending.filter((r) => normalizeEmail(r.email) === user.emailLower).map((r) => r.id);
        if (pendingIds.length > 0) await tx.delete(t.invitations).where(inArray(t.invitations.id, pendingIds));
      }
    }
    await tx.update(t.invitations).set({ inviterId: pseudonym }).where(eq(t.invitations.inviterId, id));
    // Identities, memberships and tickets go with the user (ON DELETE CASCADE).
    await tx.delete(t.users).where(eq(t.users.id, id));
    // What the user did to their own account goes; what others did to it stays, as evidence, with
    // the pseudonym as target (an erasure never removes the trace of a takeover); what the user
    // did to others stays with the pseudonym as actor.
    await tx.delete(t.auditEvents).where(and(eq(t.auditEvents.targetUserId, id), eq(t.auditEvents.actorId, id)));
    await tx.update(t.auditEvents).set({ targetUserId: pseudonym }).where(eq(t.auditEvents.targetUserId, id));
    await tx.update(t.auditEvents).set({ actorId: pseudonym }).where(eq(t.auditEvents.actorId, id));
    // A webhook the user created stays (it is the tenant's), with the pseudonym as its creator.
    await tx.update(t.webhooks).set({ createdBy: pseudonym }).where(eq(t.webhooks.createdBy, id));
    // The latest deletion of the id: a token issued before it stays refused, even once the id is reused.
    await tx.insert(t.deletedUsers).values({ idHash: hash(id), deletedAt: now }).onConflictDoUpdate({ target: t.deletedUsers.idHash, set: { deletedAt: now } });
    await recordAudit(tx, { ...audit, actorId: audit.actorId === id ? pseudonym : audit.actorId, targetUserId: pseudonym, fields: [] }, now);
    // Last, under the events lock (the last lock a transaction takes, ./events.ts), so no event
    // naming the id can be committed between the rewrite and this commit. The user's earlier change
    // events keep their order but lose the id (as the audit log does); only the deletion notices
    // recorded after the rewrite name it, for consumers to erase their copies, and they go with
    // EVENT_RETENTION_DAYS.
    await lockEvents(tx);
    await tx.update(t.changeEvents).set({ subject: pseudonym }).where(eq(t.changeEvents.subject, id));
    await tx
      .update(t.changeEvents)
      .set({ data: sql`jsonb_set(${t.changeEvents.data}, '{actor}', to_jsonb(${pseudonym}::text))` })
      .where(sql`${t.changeEvents.data}->>'actor' = ${id}`);
    if (decision.events.length > 0) await recordEvents(tx, decision.events, now);
    return { ok: true };
  }));
}

export async function exportUser(db: Db, id: string): Promise<Record<string, unknown> | null> {
  const [user] = await db.select(userColumns).from(t.users).where(eq(t.users.id, id));
  if (!user) return null;
  const hasPassword = (await db.select({ h: t.users.passwordHash }).from(t.users).where(eq(t.users.id, id)))[0]?.h != null;
  const identities = await db.select().from(t.identities).where(eq(t.identities.userId, id));
  const memberships = await db
    .select({ m: t.memberships, name: t.organizations.name, displayName: t.organizations.displayName })
    .from(t.memberships)
    .innerJoin(t.organizations, eq(t.organizations.id, t.memberships.organizationId))
    .where(eq(t.memberships.userId, id))
    .orderBy(t.memberships.organizationId);
  const tickets = await db
    .select({ id: t.tickets.id, kind: t.tickets.kind, createdAt: t.tickets.createdAt, expiresAt: t.tickets.expiresAt, usedAt: t.tickets.usedAt })
    .from(t.tickets)
    .where(eq(t.tickets.userId, id))
    .orderBy(t.tickets.createdAt, t.tickets.id);
  const invitations = await db
    .select({ id: t.invitations.id, organizationId: t.invitations.organizationId, email: t.invitations.email, roles: t.invitations.roles, createdAt: t.invitations.createdAt, expiresAt: t.invitations.expiresAt, acceptedAt: t.invitations.acceptedAt })
    .from(t.invitations)
    .where(eq(t.invitations.acceptedBy, id))
    .orderBy(t.invitations.createdAt, t.invitations.id);
  // Messages to the user, without their bodies: a body may hold a live ticket, and an export
  // must not be a way to read one (nor a read:users token a way to reset a password).
  const messages = await db
    .select({ id: t.outbox.id, toAddress: t.outbox.toAddress, subject: t.outbox.subject, createdAt: t.outbox.createdAt, sentAt: t.outbox.sentAt })
    .from(t.outbox)
    .where(eq(t.outbox.userId, id))
    .orderBy(t.outbox.id);
  const audit = await db
    .select()
    .from(t.auditEvents)
    .where(or(eq(t.auditEvents.targetUserId, id), eq(t.auditEvents.actorId, id)))
    .orderBy(t.auditEvents.id);
  return exportDocument({ user, hasPassword, identities, memberships, invitations, tickets, messages, audit });
}
