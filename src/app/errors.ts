// Failures that end an operation with a top-level error and a stable code (extensions.code).
// Business failures a caller can fix are not thrown: they are `userErrors` in the payload.
import { fieldNotEditableMessage } from '../domain/messages.js';
import { FIELD_LABELS } from '../domain/policy.js';
import type { MutabilityReason, ProfileField, UserError } from '../domain/types.js';

export type AppErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'FIELD_NOT_EDITABLE';

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const unauthenticated = (message = 'A valid bearer token is required.') =>
  new AppError('UNAUTHENTICATED', message);

export const forbidden = (message = 'You may not run this operation.') => new AppError('FORBIDDEN', message);

/** The same answer for a missing object and one the caller may not see. */
export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `No ${what} with id ${id}.`);

export const badUserInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field ? { field } : {});

export interface RefusedField {
  field: ProfileField;
  /** A declared (or undeclared) attribute of user_metadata / app_metadata, when the refusal is about one key. */
  key?: string;
  reason: MutabilityReason;
  message: string;
}

/** FIELD_NOT_EDITABLE; `extensions.fields` names each field as `User.fieldPolicies` does (ProfileField). */
export class FieldNotEditableError extends AppError {
  constructor(readonly refused: RefusedField[]) {
    // The same sentences as fieldPolicies shows the same caller (messages.ts).
    super('FIELD_NOT_EDITABLE', fieldNotEditableMessage(refused.map((r) => r.message)), {
      fields: refused.map((r) =>
        r.key === undefined ? { field: r.field.toUpperCase(), reason: r.reason } : { field: r.field.toUpperCase(), key: r.key, reason: r.reason },
      ),
    });
  }
}

export const fieldNotEditable = (refused: RefusedField[]) => new FieldNotEditableError(refused);

/**
 * One refused field as a `userErrors` entry (updateUsers items, import records): `field` is the
 * input key; the message is fieldPolicies' sentence for this caller (messages.ts), then the reason
 * (a userError has no field of its own for it).
 */
export function refusedFieldError(r: RefusedField): UserError {
  const field = r.key === undefined ? [FIELD_LABELS[r.field]] : [FIELD_LABELS[r.field], r.key];
  return { field, code: 'FIELD_NOT_EDITABLE', message: `${r.message} (${r.reason})` };
}
