// What a write changes, the same for every dialect: the domain names of the columns whose value
// really changes (a decision's changes and a login's bookkeeping alike).
import type { ConnectionRow, LoginBookkeeping, NewUser, UserChanges, UserRow, UserWrite } from './types.js';

/** The domain names of the columns whose value really changes (the password always counts). */
export function changedFields(current: UserRow, changes: UserChanges & LoginBookkeeping): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(changes) as [keyof (UserChanges & LoginBookkeeping), unknown][]) {
    if (value === undefined || key === 'blockedByOrganizationId') continue;
    if (key === 'passwordHash' || key === 'passwordSetInCustomDatabase') {
      out.push('password');
      continue;
    }
    if (key === 'passwordRehash') {
      out.push('password_rehash');
      continue;
    }
    const before = current[key as keyof UserRow];
    const same =
      before instanceof Date || value instanceof Date
        ? (before as Date | null)?.getTime() === (value as Date | null)?.getTime()
        : typeof value === 'object' && value !== null
          ? canonical(before) === canonical(value)
          : before === value;
    if (!same) out.push(COLUMN_TO_FIELD[key] ?? key);
  }
  return out;
}

/**
 * The row a decision leaves, from the row it was decided on: what the store writes while that row
 * is unchanged (compare-and-set), so the app can say what the write does (its change events)
 * before it is applied. The changes and the bookkeeping applied, the version bumped when the
 * profile changed (bookkeeping alone leaves it), `updatedAt` the write's time; nothing changed: the
 * row as it was.
 */
export function rowAfter(current: UserRow, decision: { changes: UserChanges; bookkeeping?: LoginBookkeeping }, now: Date): UserRow {
  const bookkeeping = decision.bookkeeping ?? {};
  if (changedFields(current, { ...decision.changes, ...bookkeeping }).length === 0) return current;
  const profileChanged = changedFields(current, decision.changes).length > 0;
  const { passwordHash: _hash, passwordSetInCustomDatabase: _external, ...columns } = decision.changes;
  const { passwordRehash: _rehash, ...logged } = bookkeeping;
  // A key given as undefined is not written (as the store's update leaves it out).
  const written = Object.fromEntries(Object.entries({ ...columns, ...logged }).filter(([, v]) => v !== undefined));
  return { ...current, ...written, updatedAt: now, version: profileChanged ? current.version + 1 : current.version };
}

const COLUMN_TO_FIELD: Partial<Record<keyof (UserChanges & LoginBookkeeping), string>> = {
  emailVerified: 'email_verified',
  phoneNumber: 'phone_number',
  phoneVerified: 'phone_verified',
  givenName: 'given_name',
  familyName: 'family_name',
  userMetadata: 'user_metadata',
  appMetadata: 'app_metadata',
  lastLogin: 'last_login',
  lastIp: 'last_ip',
  loginsCount: 'logins_count',
  profileSyncedAt: 'profile_synced_at',
};

/** The profile columns a new user can be created with. */
const CREATED_COLUMNS = [
  'email', 'emailVerified', 'username', 'phoneNumber', 'phoneVerified', 'passwordHash', 'name', 'nickname',
  'givenName', 'familyName', 'picture', 'userMetadata', 'appMetadata', 'blocked',
] as const satisfies readonly (keyof NewUser & keyof UserChanges)[];

/** The store's names of the fields a new user was created with (what user.created lists), as changedFields names them. */
export function createdFields(user: NewUser): string[] {
  return CREATED_COLUMNS.filter((k) => {
    const v = user[k];
    return v !== undefined && v !== null && v !== false && !(typeof v === 'object' && Object.keys(v).length === 0);
  }).map((k) => (k === 'passwordHash' ? 'password' : (COLUMN_TO_FIELD[k] ?? k)));
}

/** The write of a user the app inserts (an import record, createUser, a first login): what its user.created event is made from, before the insert. */
export function insertedUserWrite(user: NewUser): UserWrite {
  const after = { version: 1, blocked: user.blocked ?? false, userMetadata: user.userMetadata ?? {}, appMetadata: user.appMetadata ?? {} };
  return { userId: user.id, before: null, after, changed: createdFields(user) };
}

/**
 * Whether a connection is still the row a change was decided on (its compare-and-set): the same
 * name, strategy, options (whatever their key order) and updatedAt.
 */
export function sameConnection(current: ConnectionRow, base: ConnectionRow): boolean {
  return (
    current.updatedAt.getTime() === base.updatedAt.getTime() &&
    current.name === base.name &&
    current.strategy === base.strategy &&
    canonical(current.options) === canonical(base.options)
  );
}

/** Whether a membership still has the roles a change of them was decided on (its compare-and-set). */
export function sameRoles(current: readonly string[], base: readonly string[]): boolean {
  return current.length === base.length && current.every((role, i) => role === base[i]);
}

/** JSON with object keys sorted: two objects that differ only in key order are the same value (PostgreSQL's jsonb reorders keys). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
