// The parents that GraphQL types resolve from, where they are not a store row (see codegen.ts).
import type { FieldDecision, ProfileField } from '../domain/types.js';
import type { MembershipRow, Page, UserRow } from '../store/types.js';

export type FieldPolicyParent = FieldDecision & { field: Uppercase<ProfileField> };
export type UserPage = Page<UserRow>;
export type MembershipPage = Page<MembershipRow>;
