// Relay cursor pagination: keyset on the row's id (the cursor is an opaque encoding of it).
import { badUserInput } from '../app/errors.js';
import type { Page } from '../store/types.js';

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(id: string): string {
  return Buffer.from(`c:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor == null) return null;
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!text.startsWith('c:') || text.length < 3) {
    throw badUserInput(
      'The cursor is malformed: pass an endCursor or edge cursor from an earlier page.',
      'after',
    );
  }
  return text.slice(2);
}

export function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be from 1 to ${MAX_PAGE_SIZE}.`, 'first');
  }
  return n;
}

export function toConnection<T>(page: Page<T>, key: (row: T) => string) {
  const edges = page.rows.map((node) => ({ cursor: encodeCursor(key(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}
