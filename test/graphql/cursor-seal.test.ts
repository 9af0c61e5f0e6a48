// The cursor seal itself (src/graphql/pagination.ts), with no server: what a cursor's bytes give
// away (nothing, not even its id's length) and that no two different (list, caller, position)
// triples can share a nonce, which under AES-GCM would leak both plaintexts and allow forgeries.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openCursor, sealCursor } from '../../src/graphql/pagination.js';

const root = randomBytes(32);
const nonceOf = (cursor: string) => Buffer.from(cursor, 'base64url').subarray(0, 12).toString('hex');

describe('sealed cursors', () => {
  it('open to their position, for their list and caller only', () => {
    const c = sealCursor(root, 'audit', 'caller-1', 'auth0|abc');
    expect(openCursor(root, 'audit', 'caller-1', c)).toBe('auth0|abc');
    expect(openCursor(root, 'audit', 'caller-2', c)).toBeNull();
    expect(openCursor(root, 'members:org_1', 'caller-1', c)).toBeNull();
    expect(openCursor(randomBytes(32), 'audit', 'caller-1', c)).toBeNull();
  });

  it('have one length whatever the length of the id inside (up to 254 bytes)', () => {
    const lengths = new Set(['a', 'auth0|0123456789abcdef01234567', 'x'.repeat(200), 'y'.repeat(254)].map((id) => sealCursor(root, 'audit', 's', id).length));
    expect(lengths.size).toBe(1);
  });

  it('never share a nonce between triples that differ only in where a NUL splits them', () => {
    const a = sealCursor(root, 'audit', 'a\u0000b', 'c');
    const b = sealCursor(root, 'audit', 'a', 'b\u0000c');
    expect(nonceOf(a)).not.toBe(nonceOf(b));
    expect(openCursor(root, 'audit', 'a', a)).toBeNull();
    expect(openCursor(root, 'audit', 'a\u0000b', b)).toBeNull();
  });

  it('property: distinct (caller, position) pairs get distinct nonces, and each opens only as itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), fc.string({ minLength: 1, maxLength: 6 }), (s1, p1, s2, p2) => {
        fc.pre(s1 !== s2 || p1 !== p2);
        const c1 = sealCursor(root, 'audit', s1, p1);
        const c2 = sealCursor(root, 'audit', s2, p2);
        expect(nonceOf(c1)).not.toBe(nonceOf(c2));
        expect(openCursor(root, 'audit', s1, c1)).toBe(p1);
        // The same caller's other cursor opens as its own position; another caller's never opens.
        expect(openCursor(root, 'audit', s1, c2)).toBe(s1 === s2 ? p2 : null);
      }),
      { numRuns: 300 },
    );
  });
});
