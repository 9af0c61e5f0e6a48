// The document exportUserData answers, the same for every dialect: each store reads the rows of one
// user (never a message body, nor a password hash) and hands them here to be laid out.
import type { Metadata } from '../domain/types.js';
import type { UserRow } from './types.js';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** What a store read of one user, for the export. */
export interface ExportRows {
  user: UserRow;
  hasPassword: boolean;
  identities: { connectionId: string; provider: string; upstreamUserId: string; isSocial: boolean; profileData: Metadata | null }[];
  memberships: { m: { organizationId: string; roles: string[]; invitedEmail: string | null; joinedAt: Date }; name: string; displayName: string | null }[];
  invitations: { id: string; organizationId: string; email: string; roles: string[]; createdAt: Date; expiresAt: Date; acceptedAt: Date | null }[];
  tickets: { id: string; kind: string; createdAt: Date; expiresAt: Date; usedAt: Date | null }[];
  messages: { id: number; toAddress: string; subject: string; createdAt: Date; sentAt: Date | null }[];
  audit: { id: number; at: Date; actorId: string; operation: string; targetUserId: string | null; organizationId: string | null; fields: string[] }[];
}

export function exportDocument(rows: ExportRows): Record<string, unknown> {
  const { user, hasPassword, identities, memberships, invitations, tickets, messages, audit } = rows;
  return {
    exported_at: new Date().toISOString(),
    user: {
      user_id: user.id,
      connection_id: user.connectionId,
      email: user.email,
      email_verified: user.emailVerified,
      username: user.username,
      phone_number: user.phoneNumber,
      phone_verified: user.phoneVerified,
      name: user.name,
      nickname: user.nickname,
      given_name: user.givenName,
      family_name: user.familyName,
      picture: user.picture,
      user_metadata: user.userMetadata,
      app_metadata: user.appMetadata,
      blocked: user.blocked,
      migrated: user.migrated,
      version: user.version,
      has_password: hasPassword,
      created_at: iso(user.createdAt),
      updated_at: iso(user.updatedAt),
      last_login: iso(user.lastLogin),
      last_ip: user.lastIp,
      logins_count: user.loginsCount,
      profile_synced_at: iso(user.profileSyncedAt),
    },
    identities: identities.map((i) => ({ connection_id: i.connectionId, provider: i.provider, user_id: i.upstreamUserId, isSocial: i.isSocial, profileData: i.profileData })),
    organizations: memberships.map((r) => ({
      organization_id: r.m.organizationId,
      name: r.name,
      display_name: r.displayName,
      roles: r.m.roles,
      invited_email: r.m.invitedEmail,
      joined_at: iso(r.m.joinedAt),
    })),
    invitations: invitations.map((i) => ({
      id: i.id,
      organization_id: i.organizationId,
      email: i.email,
      roles: i.roles,
      created_at: iso(i.createdAt),
      expires_at: iso(i.expiresAt),
      accepted_at: iso(i.acceptedAt),
    })),
    tickets: tickets.map((k) => ({ id: k.id, kind: k.kind, created_at: iso(k.createdAt), expires_at: iso(k.expiresAt), used_at: iso(k.usedAt) })),
    messages: messages.map((m) => ({ id: m.id, to: m.toAddress, subject: m.subject, created_at: iso(m.createdAt), sent_at: iso(m.sentAt) })),
    audit_events: audit.map((e) => ({ id: e.id, at: iso(e.at), actor_id: e.actorId, operation: e.operation, target_user_id: e.targetUserId, organization_id: e.organizationId, fields: e.fields })),
  };
}
