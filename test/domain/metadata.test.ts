import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkMetadata,
  METADATA_MAX_BYTES,
  mergeMetadata,
  RESERVED_APP_METADATA_KEYS,
} from '../../src/domain/metadata.js';
import type { Metadata } from '../../src/domain/types.js';

const codes = (errors: { code: string }[]) => errors.map((e) => e.code);

/** An object whose JSON is exactly `bytes` UTF-8 bytes: {"k":"<filler>"}. */
function ofJsonBytes(bytes: number, filler: 'ascii' | 'multibyte'): Metadata {
  const overhead = JSON.stringify({ k: '' }).length; // {"k":""} = 8 bytes
  let room = bytes - overhead;
  let value = '';
  if (filler === 'multibyte') {
    // '€' is 3 bytes, '😀' 4, 'é' 2: mix them, then top up with ASCII.
    const unit = '€😀é';
    const unitBytes = 9;
    value = unit.repeat(Math.floor(room / unitBytes));
    room -= Math.floor(room / unitBytes) * unitBytes;
  }
  value += 'a'.repeat(room);
  const obj = { k: value };
  expect(new TextEncoder().encode(JSON.stringify(obj)).length).toBe(bytes);
  return obj;
}

describe('mergeMetadata', () => {
  it('replaces each top-level key given and keeps the others', () => {
    expect(mergeMetadata({ a: 1, b: 'two', c: true }, { b: 'deux', d: [1, 2] })).toEqual({
      a: 1,
      b: 'deux',
      c: true,
      d: [1, 2],
    });
  });

  it('removes a key set to null', () => {
    expect(mergeMetadata({ a: 1, b: 2 }, { a: null })).toEqual({ b: 2 });
    expect(mergeMetadata({ a: 1 }, { missing: null })).toEqual({ a: 1 });
  });

  it('replaces nested objects whole (one level deep only)', () => {
    const current = { prefs: { theme: 'dark', lang: 'en' }, list: [1, 2, 3] };
    expect(mergeMetadata(current, { prefs: { theme: 'light' }, list: [4] })).toEqual({
      prefs: { theme: 'light' },
      list: [4],
    });
    // a nested null is a value, not a removal
    expect(mergeMetadata(current, { prefs: { theme: null } })).toEqual({
      prefs: { theme: null },
      list: [1, 2, 3],
    });
  });

  it('clears to {} when the patch is null', () => {
    expect(mergeMetadata({ a: 1, b: { c: 2 } }, null)).toEqual({});
    expect(mergeMetadata(null, null)).toEqual({});
  });

  it('treats a missing current object as empty', () => {
    expect(mergeMetadata(null, { a: 1, b: null })).toEqual({ a: 1 });
    expect(mergeMetadata(null, {})).toEqual({});
  });

  it('an empty patch changes nothing', () => {
    expect(mergeMetadata({ a: 1 }, {})).toEqual({ a: 1 });
  });

  it('ignores keys whose value is undefined (JSON cannot carry them)', () => {
    expect(mergeMetadata({ a: 1 }, { a: undefined, b: 2 })).toEqual({ a: 1, b: 2 });
  });

  it('keeps falsy non-null values', () => {
    expect(mergeMetadata({ a: 1, b: 2, c: 3, d: 4 }, { a: 0, b: '', c: false, d: [] })).toEqual({
      a: 0,
      b: '',
      c: false,
      d: [],
    });
  });

  it('does not mutate its inputs, and the result shares nothing with them', () => {
    const current = { keep: { deep: [1, { x: 1 }] }, drop: 1, over: 'old' };
    const patch = { drop: null, over: { n: [1] }, add: 'new' };
    const currentCopy = structuredClone(current);
    const patchCopy = structuredClone(patch);
    const result = mergeMetadata(current, patch);
    expect(current).toEqual(currentCopy);
    expect(patch).toEqual(patchCopy);
    expect(result).not.toBe(current);
    expect(result['keep']).not.toBe(current.keep);
    expect(result['over']).not.toBe(patch.over);
    (result['keep'] as { deep: unknown[] }).deep.push('mutated');
    (result['over'] as { n: number[] }).n.push(2);
    expect(current).toEqual(currentCopy);
    expect(patch).toEqual(patchCopy);
    expect(mergeMetadata(current, null)).not.toBe(current);
  });

  it('handles a __proto__ key as plain data', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Metadata;
    const result = mergeMetadata({}, patch);
    expect(Object.keys(result)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.parse(JSON.stringify(result))).toEqual(patch);
  });

  const json = fc.jsonValue({ maxDepth: 2 });
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'x.y', '$z');
  const currentArb = fc.dictionary(key, json, { maxKeys: 6 });
  const patchArb = fc.dictionary(key, fc.oneof(json, fc.constant(null)), { maxKeys: 6 });

  it('property: each result key comes from the patch (non-null) or from current (absent from patch)', () => {
    fc.assert(
      fc.property(currentArb, patchArb, (current, patch) => {
        const result = mergeMetadata(current, patch);
        for (const k of Object.keys(result)) {
          if (Object.hasOwn(patch, k)) {
            expect(patch[k]).not.toBeNull();
            expect(result[k]).toEqual(patch[k]);
          } else {
            expect(Object.hasOwn(current, k)).toBe(true);
            expect(result[k]).toEqual(current[k]);
          }
        }
        // and nothing is lost: every non-null patch key and every untouched current key is there
        for (const [k, v] of Object.entries(patch)) expect(Object.hasOwn(result, k)).toBe(v !== null);
        for (const k of Object.keys(current)) {
          if (!Object.hasOwn(patch, k)) expect(Object.hasOwn(result, k)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: inputs are never mutated', () => {
    fc.assert(
      fc.property(currentArb, patchArb, (current, patch) => {
        const c = structuredClone(current);
        const p = structuredClone(patch);
        mergeMetadata(current, patch);
        expect(current).toEqual(c);
        expect(patch).toEqual(p);
      }),
    );
  });
});

describe('checkMetadata: keys', () => {
  it('accepts ordinary keys at every depth', () => {
    expect(
      checkMetadata('user_metadata', {
        a: 1,
        'with space': { 'nested-key': [{ under_score: 'x.y$z' }], n: null },
        '': 'empty key is allowed',
      }),
    ).toEqual([]);
  });

  it('values may contain "." and "$"; only keys are checked', () => {
    expect(checkMetadata('user_metadata', { a: 'x.y', b: ['$c', { d: '$.e' }] })).toEqual([]);
  });

  it.each([
    [{ 'a.b': 1 }, ['userMetadata', 'a.b']],
    [{ $a: 1 }, ['userMetadata', '$a']],
    [{ ok: { 'x.y': 1 } }, ['userMetadata', 'ok', 'x.y']],
    [{ ok: { deeper: { still: { a$: 1 } } } }, ['userMetadata', 'ok', 'deeper', 'still', 'a$']],
    [{ list: [{ fine: 1 }, { 'bad.key': 2 }] }, ['userMetadata', 'list', '1', 'bad.key']],
    [{ list: [[{ $x: 1 }]] }, ['userMetadata', 'list', '0', '0', '$x']],
  ])('refuses %j with field path %j', (value, field) => {
    const errors = checkMetadata('user_metadata', value as Metadata);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('INVALID_METADATA_KEY');
    expect(errors[0]!.field).toEqual(field);
    expect(errors[0]!.message).toMatch(/"\." or "\$"/);
  });

  it('reports every bad key, in document order, for app_metadata too', () => {
    const errors = checkMetadata('app_metadata', { 'a.b': { c$: 1 }, ok: [{ 'd.e': 1 }] });
    expect(codes(errors)).toEqual(['INVALID_METADATA_KEY', 'INVALID_METADATA_KEY', 'INVALID_METADATA_KEY']);
    expect(errors.map((e) => e.field)).toEqual([
      ['appMetadata', 'a.b'],
      ['appMetadata', 'a.b', 'c$'],
      ['appMetadata', 'ok', '0', 'd.e'],
    ]);
  });

  it('survives very deep nesting', () => {
    let deep: unknown = { 'bad.key': 1 };
    for (let i = 0; i < 20_000; i++) deep = i % 2 ? { n: deep } : [deep];
    const errors = checkMetadata('user_metadata', { root: deep });
    expect(codes(errors)).toContain('INVALID_METADATA_KEY');
  });
});

describe('checkMetadata: reserved names', () => {
  it('exports the reserved list', () => {
    expect(RESERVED_APP_METADATA_KEYS).toHaveLength(27);
    for (const k of ['blocked', 'clientID', 'email', 'globalClientID', 'identities', 'user_id', 'picture']) {
      expect(RESERVED_APP_METADATA_KEYS).toContain(k);
    }
  });

  it.each([...RESERVED_APP_METADATA_KEYS])('app_metadata may not use %s at the top level', (key) => {
    const errors = checkMetadata('app_metadata', { [key]: 'x' });
    expect(errors).toEqual([
      { field: ['appMetadata', key], code: 'RESERVED_METADATA_KEY', message: expect.stringContaining(key) },
    ]);
  });

  it('reserved names are fine in user_metadata and below the top level of app_metadata', () => {
    expect(checkMetadata('user_metadata', { email: 'x', blocked: true, user_id: 1 })).toEqual([]);
    expect(checkMetadata('app_metadata', { nested: { email: 'x', blocked: true } })).toEqual([]);
  });

  it('the comparison is case-insensitive after trimming (domain.md)', () => {
    expect(checkMetadata('app_metadata', { Email: 1, ' BLOCKED ': 2, clientId: 3 }).map((e) => e.code)).toEqual([
      'RESERVED_METADATA_KEY',
      'RESERVED_METADATA_KEY',
      'RESERVED_METADATA_KEY',
    ]);
    expect(checkMetadata('app_metadata', { emails: 1, blockedAt: 2 })).toEqual([]);
  });

  it('__proto__, constructor and prototype are refused at any depth, in both objects', () => {
    const parsed = JSON.parse('{"a": [{"__proto__": {"x": 1}}], "constructor": 1, "b": {"prototype": 2}}') as Record<string, unknown>;
    for (const which of ['user_metadata', 'app_metadata'] as const) {
      expect(checkMetadata(which, parsed).map((e) => e.field?.slice(1).join('/')).sort()).toEqual(['a/0/__proto__', 'b/prototype', 'constructor']);
    }
  });
});

describe('checkMetadata: size', () => {
  it(`accepts exactly ${METADATA_MAX_BYTES} bytes and refuses one more (ASCII)`, () => {
    expect(METADATA_MAX_BYTES).toBe(16384);
    expect(checkMetadata('user_metadata', ofJsonBytes(16384, 'ascii'))).toEqual([]);
    const errors = checkMetadata('user_metadata', ofJsonBytes(16385, 'ascii'));
    expect(errors).toEqual([
      { field: ['userMetadata'], code: 'METADATA_TOO_LARGE', message: expect.stringContaining('16384') },
    ]);
  });

  it('counts UTF-8 bytes, not characters (multi-byte)', () => {
    const exact = ofJsonBytes(16384, 'multibyte');
    expect(JSON.stringify(exact).length).toBeLessThan(16384);
    expect(checkMetadata('app_metadata', exact)).toEqual([]);
    expect(codes(checkMetadata('app_metadata', ofJsonBytes(16385, 'multibyte')))).toEqual([
      'METADATA_TOO_LARGE',
    ]);
  });

  it('a value whose characters are few but whose bytes are many is too large', () => {
    // 5,000 characters of 4 bytes each = 20,000 bytes.
    expect(codes(checkMetadata('user_metadata', { s: '😀'.repeat(5000) }))).toEqual(['METADATA_TOO_LARGE']);
  });

  it('is judged on the merged result', () => {
    const current = ofJsonBytes(16000, 'ascii');
    const merged = mergeMetadata({ ...current, extra: 'x'.repeat(1000) }, { extra: null });
    expect(checkMetadata('user_metadata', merged)).toEqual([]);
    const grown = mergeMetadata(current, { more: 'y'.repeat(1000) });
    expect(codes(checkMetadata('user_metadata', grown))).toEqual(['METADATA_TOO_LARGE']);
  });

  it('reports key, reserved-name and size problems together', () => {
    const value = { 'a.b': 1, email: 'x', big: 'z'.repeat(17000) };
    expect(codes(checkMetadata('app_metadata', value))).toEqual([
      'INVALID_METADATA_KEY',
      'RESERVED_METADATA_KEY',
      'METADATA_TOO_LARGE',
    ]);
  });
});

describe('checkMetadata: values that are not JSON objects', () => {
  it('refuses a non-object', () => {
    for (const v of [[1, 2], 'str', 3, null]) {
      expect(codes(checkMetadata('user_metadata', v as unknown as Metadata))).toEqual([
        'INVALID_METADATA_VALUE',
      ]);
    }
  });

  it('refuses a cycle without throwing or looping', () => {
    const cyclic: Metadata = { a: {} };
    (cyclic['a'] as Metadata)['self'] = cyclic;
    expect(codes(checkMetadata('user_metadata', cyclic))).toEqual(['INVALID_METADATA_VALUE']);
  });
});
