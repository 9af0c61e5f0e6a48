// Erasure and export of one user's data: everything the gateway holds about them.
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../domain/keys.js';
import type { EraseResult, ErasureDecision, UserStamp } from '../types.js';
import { sameOrganizations, unchangedSince } from '../states.js';
import { exportDocument } from '../export.js';
import { type IdHasher, pseudonymOf } from '../pseudonyms.js';
import { recordEvents } from './events.js';
import { type Db, recordAudit, userColumns } from './shared.js';
import * as t from './tables.js';

export { pseudonymOf };

export function eraseUser(db: Db, hash: IdHasher, id: string, base: UserStamp, decision: ErasureDecision): EraseResult {
  return db.transaction((tx): EraseResult => {
    const user = tx.select({ ...userColumns, emailLower: t.users.emailLower }).from(t.users).where(eq(t.users.id, id)).get();
    if (!user) return { ok: false, notFound: true };
    const organizations = tx
      .select({ o: t.memberships.organizationId })
      .from(t.memberships)
      .where(eq(t.memberships.userId, id))
      .orderBy(t.memberships.organizationId)
      .all()
      .map((r) => r.o);
    if (!unchangedSince(user, base) || !sameOrganizations(organizations, decision.organizations)) {
      const { emailLower: _lower, ...current } = user;
      return { ok: false, stale: true, current, organizations };
    }
    const { audit } = decision;
    const now = new Date();
    const pseudonym = pseudonymOf(hash, id);
    // The user's earlier change events keep their order but lose the id (as the audit log does);
    // only the deletion notices below name it, for consumers to erase their copies, and they go
    // with EVENT_RETENTION_DAYS.
    tx.update(t.changeEvents).set({ subject: pseudonym }).where(eq(t.changeEvents.subject, id)).run();
    tx.update(t.changeEvents)
      .set({ data: sql`json_set(${t.changeEvents.data}, '$.actor', ${pseudonym})` })
      .where(sql`json_extract(${t.changeEvents.data}, '$.actor') = ${id}`)
      .run();
    if (decision.events.length > 0) recordEvents(tx, decision.events, now);
    // An address is not an identity (the same email can belong to users of other connections):
    // what is linked to this user goes, and what was sent to the address only when no one else has it.
    tx.delete(t.outbox).where(eq(t.outbox.userId, id)).run();
    tx.delete(t.invitations).where(eq(t.invitations.acceptedBy, id)).run();
    const addressShared =
      user.emailLower !== null &&
      tx
        .select({ id: t.users.id })
        .from(t.users)
        .where(and(eq(t.users.emailLower, user.emailLower), sql`${t.users.id} <> ${id}`))
        .limit(1)
        .get() !== undefined;
    if (user.emailLower && !addressShared) {
      // Compared in the domain's form (normalizeEmail), not by SQL lower(): it composes nothing
      // (an NFD address is the NFC one to the domain) and PostgreSQL's folds non-ASCII letters,
      // so both stores would find other rows than the domain compares as the same address.
      const sent = tx.select({ id: t.outbox.id, to: t.outbox.toAddress }).from(t.outbox).where(isNull(t.outbox.userId)).all();
      const sentIds = sent.filter((r) => normalizeEmail(r.to) === user.emailLower).map((r) => r.id);
      if (sentIds.length > 0) tx.delete(t.outbox).where(inArray(t.outbox.id, sentIds)).run();
      // Pending invitations belong to their organization: only an address the user had verified
      // (and no one else holds) lets their erasure cancel one; anyone may type an address.
      if (user.emailVerified) {
        const pending = tx.select({ id: t.invitations.id, email: t.invitations.email }).from(t.invitations).where(isNull(t.invitations.acceptedAt)).all();
        const pendingIds = pending.filter((r) => normalizeEmail(r.email) === user.emailLower).map((r) => r.id);
        if (pendingIds.length > 0) tx.delete(t.invitations).where(inArray(t.invitations.id, pendingIds)).run();
      }
    }
    tx.update(t.invitations).set({ inviterId: pseudonym }).where(eq(t.invitations.inviterId, id)).run();
    // Identities, memberships and tickets go with the user (ON DELETE CASCADE).
    tx.delete(t.users).where(eq(t.users.id, id)).run();
    // What the user did to their own account goes; what others did to it stays, as evidence, with
    // the pseudonym as target (an erasure never removes the trace of a takeover); what the user
    // did to others stays with the pseudonym as actor.
    tx.delete(t.auditEvents).where(and(eq(t.auditEvents.targetUserId, id), eq(t.auditEvents.actorId, id))).run();
    tx.update(t.auditEvents).set({ targetUserId: pseudonym }).where(eq(t.auditEvents.targetUserId, id)).run();
    tx.update(t.auditEvents).set({ actorId: pseudonym }).where(eq(t.auditEvents.actorId, id)).run();
    // A webhook the user created stays (it is the tenant's), with the pseudonym as its creator.
    tx.update(t.webhooks).set({ createdBy: pseudonym }).where(eq(t.webhooks.createdBy, id)).run();
    // The latest deletion of the id: a token issued before it stays refused, even once the id is reused.
    tx.insert(t.deletedUsers).values({ idHash: hash(id), deletedAt: now }).onConflictDoUpdate({ target: t.deletedUsers.idHash, set: { deletedAt: now } }).run();
    recordAudit(tx, { ...audit, actorId: audit.actorId === id ? pseudonym : audit.actorId, targetUserId: pseudonym, fields: [] }, now);
    return { ok: true };
  });
}

export function exportUser(db: Db, id: string): Record<string, unknown> | null {
  const user = db.select(userColumns).from(t.users).where(eq(t.users.id, id)).get();
  if (!user) return null;
  const hasPassword = db.select({ h: t.users.passwordHash }).from(t.users).where(eq(t.users.id, id)).get()?.h != null;
  const identities = db.select().from(t.identities).where(eq(t.identities.userId, id)).all();
  const memberships = db
    .select({ m: t.memberships, name: t.organizations.name, displayName: t.organizations.displayName })
    .from(t.memberships)
    .innerJoin(t.organizations, eq(t.organizations.id, t.memberships.organizationId))
    .where(eq(t.memberships.userId, id))
    .all();
  const tickets = db
    .select({ id: t.tickets.id, kind: t.tickets.kind, createdAt: t.tickets.createdAt, expiresAt: t.tickets.expiresAt, usedAt: t.tickets.usedAt })
    .from(t.tickets)
    .where(eq(t.tickets.userId, id))
    .all();
  const invitations = db
    .select({ id: t.invitations.id, organizationId: t.invitations.organizationId, email: t.invitations.email, roles: t.invitations.roles, createdAt: t.invitations.createdAt, expiresAt: t.invitations.expiresAt, acceptedAt: t.invitations.acceptedAt })
    .from(t.invitations)
    .where(eq(t.invitations.acceptedBy, id))
    .all();
  // Messages to the user, without their bodies: a body may hold a live ticket, and an export
  // must not be a way to read one (nor a read:users token a way to reset a password).
  const messages = db
    .select({ id: t.outbox.id, toAddress: t.outbox.toAddress, subject: t.outbox.subject, createdAt: t.outbox.createdAt, sentAt: t.outbox.sentAt })
    .from(t.outbox)
    .where(eq(t.outbox.userId, id))
    .all();
  const audit = db
    .select()
    .from(t.auditEvents)
    .where(or(eq(t.auditEvents.targetUserId, id), eq(t.auditEvents.actorId, id)))
    .all();
  return exportDocument({ user, hasPassword, identities, memberships, invitations, tickets, messages, audit });
}
