// Relay cursor pagination: keyset on the row's id, behind an opaque cursor.
//
// A cursor is sealed (AES-256-GCM with the store's cursorKey): it reveals nothing, not even the id
// of its row (a caller who may not read a member must not learn its id from a cursor), and a
// changed, forged or truncated cursor fails its tag and is BAD_USER_INPUT, never another position.
// It is bound to its list (users in one order, one organization's members, the audit log) and to
// the caller's `sub` (associated data), so a cursor is valid only where and for whom it was issued.
// The nonce is derived from the position, list and caller (as in SIV, and checked again on opening),
// so one position has one cursor: `endCursor` equals the last edge's cursor. Positions are padded,
// so a cursor's length says nothing of its id's.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
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

/** Each part length-prefixed, so no two different (list, sub) pairs or positions frame to the same bytes. */
function framed(...parts: Buffer[]): Buffer {
  let size = 0;
  for (const part of parts) size += 4 + part.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) {
    // Little-endian, as the Uint32Array prefix these cursors were first sealed with on x86 and ARM.
    out.writeUInt32LE(part.length, at);
    part.copy(out, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/** A page's cursors share their list and caller: the associated data is framed once for them. */
const framedAssociatedData = new LRUCache<string, Buffer>({ max: 1000 });

function associatedData(list: CursorList, sub: string): Buffer {
  const key = `${list}\u0000${sub}`;
  let aad = framedAssociatedData.get(key);
  if (!aad) {
    aad = framed(Buffer.from(list, 'utf8'), Buffer.from(sub, 'utf8'));
    framedAssociatedData.set(key, aad);
  }
  return aad;
}

/**
 * Positions are padded to a multiple of PAD_BYTES (after a 2-byte length), so a cursor's length
 * does not tell the length of the id inside it.
 */
const PAD_BYTES = 256;
const MAX_POSITION_BYTES = 0xffff;

function padded(position: string): Buffer | null {
  const bytes = Buffer.from(position, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_POSITION_BYTES) return null;
  const size = Math.ceil((bytes.length + 2) / PAD_BYTES) * PAD_BYTES;
  const out = Buffer.alloc(size);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function unpadded(plain: Buffer): string | null {
  if (plain.length < 2 || plain.length % PAD_BYTES !== 0) return null;
  const length = plain.readUInt16BE(0);
  if (length === 0 || length + 2 > plain.length || plain.subarray(length + 2).some((b) => b !== 0)) return null;
  return plain.subarray(2, length + 2).toString('utf8');
}

/** SIV-style: the nonce is a MAC of everything sealed, under its own key, so one position has one cursor. */
const nonceOf = (keys: Keys, aad: Buffer, plain: Buffer) =>
  createHmac('sha256', keys.nonce).update(framed(aad, plain)).digest().subarray(0, NONCE_BYTES);

/** The cursor of `position` in `list` for the caller `sub`, sealed with `root` (the store's cursorKey). */
export function sealCursor(root: Buffer, list: CursorList, sub: string, position: string): string {
  const keys = keysOf(root);
  const aad = associatedData(list, sub);
  const plain = padded(position);
  if (!plain) throw new Error('a cursor position is 1 to 65,535 bytes');
  const nonce = nonceOf(keys, aad, plain);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  // final() before getAuthTag(): the array's elements are evaluated in order.
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString('base64url');
}

/** The position a cursor stands for, or null when it was not sealed here for this list and caller. */
export function openCursor(root: Buffer, list: CursorList, sub: string, cursor: string): string | null {
  const bytes = /^[A-Za-z0-9_-]{1,4096}$/.test(cursor) ? Buffer.from(cursor, 'base64url') : Buffer.alloc(0);
  // Canonical base64url only: one cursor, one spelling.
  if (bytes.length <= NONCE_BYTES + TAG_BYTES || bytes.toString('base64url') !== cursor) return null;
  const keys = keysOf(root);
  const aad = associatedData(list, sub);
  const nonce = bytes.subarray(0, NONCE_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keys.seal, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    // As SIV does: the nonce must be the one this plaintext seals under, or the cursor was not ours.
    if (!timingSafeEqual(nonce, nonceOf(keys, aad, plain))) return null;
    return unpadded(plain);
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
