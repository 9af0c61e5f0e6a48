// The parents that GraphQL types resolve from, where they are not a store row (see codegen.ts).
import type { FieldDecision, ProfileField } from '../domain/types.js';
import type { AuditEventRow, ChangeEventType, EventPage as StoredEventPage, InvitationRow, MembershipRow, UserRow } from '../store/types.js';
import type { ListedPage } from './pagination.js';

export type FieldPolicyParent = FieldDecision & { field: Uppercase<ProfileField> };
export type UserPage = ListedPage<UserRow>;
export type MembershipPage = ListedPage<MembershipRow>;
export type InvitationParent = InvitationRow & { ticket: string | null };
export type AuditPage = ListedPage<AuditEventRow>;
export type EventPage = StoredEventPage & { types: ChangeEventType[] };
