// What an operation on a user answers: the user, or the user errors that say why nothing was
// written. The store reports what happened (a taken key, a stale version); the words are made here.
import type { UserError } from '../domain/types.js';
import { conflictErrors, versionConflict } from '../domain/validation.js';
import type { CreateUserResult, ImportProblem, UserRow, UserWriteRefusal } from '../store/types.js';

export type UserResult = { user: UserRow | null; userErrors: UserError[] };

/** Nothing was written, for these reasons. */
export const fail = (...userErrors: UserError[]): UserResult => ({ user: null, userErrors });

export const userError = (code: string, message: string, field: string[] | null = null): UserError => ({
  field,
  code,
  message,
});

/** The user errors of a write to a user that the store refused. */
export function refusalErrors(
  refusal: UserWriteRefusal | Extract<CreateUserResult, { ok: false }>,
  userId: string,
): UserError[] {
  if ('errors' in refusal) return refusal.errors;
  if ('versionConflict' in refusal) return [versionConflict(refusal.versionConflict.expected, refusal.versionConflict.actual)];
  const errors = conflictErrors({ email: refusal.taken.includes('email'), username: refusal.taken.includes('username') });
  if (refusal.taken.includes('id')) {
    errors.push(
      userError(
        'USER_ID_TAKEN',
        `A user with id ${userId} already exists in another connection; a custom database's user_id must be unique across the connections that reach it.`,
      ),
    );
  }
  return errors;
}

/** The code and message of an import record the store did not apply. */
export function importProblemError(problem: ImportProblem): { code: string; message: string } {
  switch (problem.kind) {
    case 'exists':
      return { code: 'CONFLICT', message: `A user with this user_id, email or username exists (${problem.userId}); use upsert to update it.` };
    case 'ambiguous':
      return { code: 'CONFLICT', message: 'The record matches several existing users (by user_id, email or username).' };
    case 'taken': {
      const first = conflictErrors({ email: problem.keys.includes('email'), username: problem.keys.includes('username') })[0];
      return { code: 'CONFLICT', message: first?.message ?? 'The record clashes with an existing user.' };
    }
    case 'idTakenElsewhere':
      return { code: 'CONFLICT', message: `The id ${problem.userId} is taken by a user of another connection.` };
    case 'refused':
      return {
        code: problem.error?.code ?? 'INVALID_RECORD',
        message: problem.error?.message ?? 'The record cannot be applied.',
      };
  }
}
