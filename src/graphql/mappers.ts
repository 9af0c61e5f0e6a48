// The parents that GraphQL types resolve from, where they are not a store row (see codegen.ts).
import type { FieldDecision, ProfileField } from '../domain/types.js';
import type { AuditEventRow, ChangeEventType, EventPage as StoredEventPage, InvitationRow, MembershipRow, Page, UserRow } from '../store/types.js';

export type FieldPolicyParent = FieldDecision & { field: Uppercase<ProfileField> };
export type UserPage = Page<UserRow>;
export type MembershipPage = Page<MembershipRow>;
export type InvitationParent = InvitationRow & { ticket: string | null };
export type AuditPage = Page<AuditEventRow>;
export type EventPage = StoredEventPage & { types: ChangeEventType[] };
