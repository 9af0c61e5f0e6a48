// Searching users by declared attributes, timestamps and an order (the counterpart of
// ../sqlite/search.ts). A key reaches here only after the domain checked it against a declaration,
// so it is written into the SQL as a literal: an expression index serves a query only when the
// query's expression is the index's, text for text.
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, lt, or, type SQL, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../domain/keys.js';
import type { AttributeCondition, UserOrder, UserRow } from '../types.js';
import * as t from './tables.js';

const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const COLUMNS = { user_metadata: 'user_metadata', app_metadata: 'app_metadata' } as const;

function checked(key: string): string {
  if (!SAFE_KEY.test(key)) throw new Error(`attribute key ${JSON.stringify(key)} is not searchable`);
  return key;
}

/** The attribute as jsonb (compared with jsonb: numbers as numbers, strings as strings). */
const jsonSql = (object: AttributeCondition['object'], key: string) => `(${COLUMNS[object]} -> '${checked(key)}')`;
/** The attribute as text (for a prefix). */
const textSql = (object: AttributeCondition['object'], key: string) => `(${COLUMNS[object]} ->> '${checked(key)}')`;

/**
 * The indexes of one attribute: per connection, one for comparisons and one for prefixes. Each is
 * built CONCURRENTLY (outside a transaction), so writes to users go on while it builds.
 */
export function attributeIndexes(object: AttributeCondition['object'], key: string): { name: string; create: string }[] {
  const name = `users_attr_${createHash('sha256').update(`${object}.${key}`).digest('hex').slice(0, 16)}`;
  return [
    { name, create: `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON users (connection_id, ${jsonSql(object, key)})` },
    { name: `${name}_t`, create: `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name}_t ON users (connection_id, ${textSql(object, key)} text_pattern_ops)` },
  ];
}

const asJson = (value: string | number | boolean) => sql`${JSON.stringify(value)}::jsonb`;

export function attributeConditions(conditions: readonly AttributeCondition[]): SQL[] {
  const out: SQL[] = [];
  for (const c of conditions) {
    const expr = sql.raw(jsonSql(c.object, c.key));
    if (c.equals !== undefined) out.push(sql`${expr} = ${asJson(c.equals)}`);
    if (c.prefix !== undefined) {
      const text = sql.raw(textSql(c.object, c.key));
      out.push(sql`jsonb_typeof(${expr}) = 'string' AND ${text} LIKE ${`${c.prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`}`);
    }
    // Bounds compare like with like: a number with numbers, a string with strings.
    for (const [op, bound] of [['>=', c.gte], ['<=', c.lte]] as const) {
      if (bound === undefined) continue;
      out.push(sql`jsonb_typeof(${expr}) = ${typeof bound === 'number' ? 'number' : 'string'} AND ${expr} ${sql.raw(op)} ${asJson(bound)}`);
    }
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
  if (value === null) return and(sql`${column} IS NULL`, idBeyond);
  return or(sql`${column} IS NULL`, beyond(column, value as never), and(eq(column, value as never), idBeyond));
}
