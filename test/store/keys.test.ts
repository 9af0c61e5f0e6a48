// The store's comparison keys for emails and usernames (uniqueness within a connection).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizeUsername } from '../../src/store/keys.js';

describe('comparison keys', () => {
  it('normalizeEmail lower-cases and trims', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM \n')).toBe('jane.doe@example.com');
    expect(normalizeEmail('jane@example.com')).toBe('jane@example.com');
  });

  it('normalizeUsername lower-cases', () => {
    expect(normalizeUsername('Jane.DOE')).toBe('jane.doe');
    expect(normalizeUsername('already')).toBe('already');
  });

  it('property: normalization is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(normalizeEmail(normalizeEmail(s))).toBe(normalizeEmail(s));
        expect(normalizeUsername(normalizeUsername(s))).toBe(normalizeUsername(s));
      }),
    );
  });
});
