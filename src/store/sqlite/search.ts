// Searching users by declared attributes, timestamps and an order: the SQL, and the expression
// indexes that serve it. A key reaches here only after the domain checked it against a declaration
// (letters, digits, `_` and `-`), so it can be written into the SQL as a literal: the index's
// expression and the query's must be the same text for SQLite to use the index.
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, lt, or, type SQL, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../domain/keys.js';
import type { AttributeCondition, UserOrder, UserRow } from '../types.js';
import * as t from './tables.js';

const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const COLUMNS = { user_metadata: 'user_metadata', app_metadata: 'app_metadata' } as const;

function attributeSql(object: AttributeCondition['object'], key: string): string {
  if (!SAFE_KEY.test(key)) throw new Error(`attribute key ${JSON.stringify(key)} is not searchable`);
  return `json_extract(${COLUMNS[object]}, '$."${key}"')`;
}

export function attributeExpression(object: AttributeCondition['object'], key: string): SQL {
  return sql.raw(attributeSql(object, key));
}

/** The index statement for one attribute: per connection, so a search within one connection uses it. */
export function attributeIndexStatement(object: AttributeCondition['object'], key: string): string {
  const name = `users_attr_${createHash('sha256').update(`${object}.${key}`).digest('hex').slice(0, 16)}`;
  return `CREATE INDEX IF NOT EXISTS ${name} ON users(connection_id, ${attributeSql(object, key)})`;
}

export function attributeConditions(conditions: readonly AttributeCondition[]): SQL[] {
  const out: SQL[] = [];
  for (const c of conditions) {
    const expr = attributeExpression(c.object, c.key);
    if (c.equals !== undefined) out.push(sql`${expr} = ${c.equals}`);
    // A prefix as a range, which an index serves (LIKE would not, case-insensitive as it is).
    if (c.prefix !== undefined) out.push(sql`${expr} >= ${c.prefix} AND ${expr} < ${`${c.prefix}\u{10FFFF}`}`);
    if (c.gte !== undefined) out.push(sql`${expr} >= ${c.gte}`);
    if (c.lte !== undefined) out.push(sql`${expr} <= ${c.lte}`);
  }
  return out;
}

const ORDER_COLUMNS = {
  created_at: t.users.createdAt,
  last_login: t.users.lastLogin,
  email: t.users.emailLower,
  name: t.users.name,
} as const;

/** ORDER BY the field then id (ties broken by id, so pages are stable). */
export function orderClause(order: UserOrder | undefined): SQL[] {
  if (!order) return [asc(t.users.id)];
  const column = ORDER_COLUMNS[order.field];
  const dir = order.direction === 'desc' ? desc : asc;
  // NULLs last in both directions: users who never logged in come after those who did.
  return [sql`${column} IS NULL`, dir(column), dir(t.users.id)];
}

/** The keyset condition for the page after `last` (the previous page's last row). */
export function afterCondition(order: UserOrder | undefined, last: UserRow): SQL | undefined {
  if (!order) return gt(t.users.id, last.id);
  const column = ORDER_COLUMNS[order.field];
  const value = { created_at: last.createdAt, last_login: last.lastLogin, email: last.email === null ? null : normalizeEmail(last.email), name: last.name }[order.field];
  const beyond = order.direction === 'desc' ? lt : gt;
  const idBeyond = beyond(t.users.id, last.id);
  if (value === null) {
    // Among the NULLs (which come last), by id.
    return and(sql`${column} IS NULL`, idBeyond);
  }
  return or(sql`${column} IS NULL`, beyond(column, value as never), and(eq(column, value as never), idBeyond));
}

