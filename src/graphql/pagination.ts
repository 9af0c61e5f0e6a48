// Relay cursor pagination: keyset on the row's id, behind an opaque cursor.
//
// A cursor is sealed (AES-256-GCM with the store's cursorKey): it reveals nothing, not even the id
// of its row (a caller who may not read a member must not learn its id from a cursor), and a
// changed, forged or truncated cursor fails its tag and is BAD_USER_INPUT, never another position.
// It is bound to its list (users in one order, one organization's members, the audit log) and to
// the caller's `sub` (associated data), so a cursor is valid only where and for whom it was issued.
// The nonce is derived from the position, list and caller (as in SIV), so one position has one
// cursor: `endCursor` equals the last edge's cursor.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { badUserInput } from '../app/errors.js';
import type { AppContext } from '../app/context.js';
import type { Page } from '../store/types.js';

export const MAX_PAGE_SIZE = 100;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MALFORMED = 'The cursor is malformed, or belongs to another list or caller: pass an endCursor or edge cursor from an earlier page of the same list.';

/** The list a page belongs to (its cursors are valid for that list only). */
export type CursorList = `users:${string}` | `members:${string}` | 'audit';

interface Keys {
  seal: Buffer;
  nonce: Buffer;
}
const keysByRoot = new WeakMap<Buffer, Keys>();

function keysOf(root: Buffer): Keys {
  let keys = keysByRoot.get(root);
  if (!keys) {
    keys = {
      seal: createHmac('sha256', root).update('seal').digest(),
      nonce: createHmac('sha256', root).update('nonce').digest(),
    };
    keysByRoot.set(root, keys);
  }
  return keys;
}

const associatedData = (list: CursorList, sub: string) => Buffer.from(`${list}\u0000${sub}`, 'utf8');

/** The cursor of `position` in `list` for the caller `sub`, sealed with `root` (the store's cursorKey). */
export function sealCursor(root: Buffer, list: CursorList, sub: string, position: string): string {
  const keys = keysOf(root);
  const aad = associatedData(list, sub);
  const plain = Buffer.from(position, 'utf8');
  const nonce = createHmac('sha256', keys.nonce).update(aad).update('\u0000').update(plain).digest().subarray(0, NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The position a cursor stands for, or null when it was not sealed here for this list and caller. */
export function openCursor(root: Buffer, list: CursorList, sub: string, cursor: string): string | null {
  const bytes = /^[A-Za-z0-9_-]{1,4096}$/.test(cursor) ? Buffer.from(cursor, 'base64url') : Buffer.alloc(0);
  // Canonical base64url only: one cursor, one spelling.
  if (bytes.length <= NONCE_BYTES + TAG_BYTES || bytes.toString('base64url') !== cursor) return null;
  const keys = keysOf(root);
  const decipher = createDecipheriv('aes-256-gcm', keys.seal, bytes.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(list, sub));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return plain.length > 0 ? plain : null;
  } catch {
    return null;
  }
}

export function encodeCursor(ctx: AppContext, list: CursorList, position: string): string {
  return sealCursor(ctx.store.cursorKey, list, ctx.caller?.sub ?? '', position);
}

/** The position a cursor stands for (null: the first page); BAD_USER_INPUT for anything not issued here. */
export function decodeCursor(ctx: AppContext, list: CursorList, cursor: string | null | undefined): string | null {
  if (cursor == null) return null;
  const position = openCursor(ctx.store.cursorKey, list, ctx.caller?.sub ?? '', cursor);
  if (position === null) throw badUserInput(MALFORMED, 'after');
  return position;
}

/** The list of `users(orderBy)`: a cursor of one order is not a position in another. */
export const usersList = (orderBy: { field: string; direction?: string | null } | null | undefined): CursorList =>
  `users:${orderBy ? `${orderBy.field}:${orderBy.direction === 'DESC' ? 'DESC' : 'ASC'}` : 'ID'}`;

export function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be from 1 to ${MAX_PAGE_SIZE}.`, 'first');
  }
  return n;
}

/** A store page as the resolvers pass it on: with the list its cursors belong to. */
export type ListedPage<T> = Page<T> & { list: CursorList };

const connections = new WeakMap<object, unknown>();

/** edges and pageInfo of a page (computed once per page: both resolvers ask). */
export function toConnection<T>(ctx: AppContext, page: ListedPage<T>, key: (row: T) => string) {
  const known = connections.get(page) as ReturnType<typeof build<T>> | undefined;
  if (known) return known;
  const built = build(ctx, page, key);
  connections.set(page, built);
  return built;
}

function build<T>(ctx: AppContext, page: ListedPage<T>, key: (row: T) => string) {
  const edges = page.rows.map((node) => ({ cursor: encodeCursor(ctx, page.list, key(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}
