// The example page's own decisions about refusals (examples/profile-page/src/session.ts), without a
// browser: how long RATE_LIMITED waits, what an expired token says, what a conflict changed.
import { describe, expect, it } from 'vitest';
import type { GraphQLResult } from '../../examples/profile-page/src/api.js';
import type { Profile } from '../../examples/profile-page/src/profile.js';
import { changedFields, rateLimitWait, shown, signedOutReason, tokenExpiry } from '../../examples/profile-page/src/session.js';

const result = (over: Partial<GraphQLResult<unknown>>): GraphQLResult<unknown> => ({
  data: null,
  errors: [],
  status: 200,
  retryAfterSeconds: null,
  requestId: 'r-1',
  ...over,
});

const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('rateLimitWait', () => {
  it('waits as long as Retry-After says, else as the error says, else a second; never for an ordinary answer', () => {
    const limited = { errors: [{ message: 'Too many requests', extensions: { code: 'RATE_LIMITED', retryAfter: 7 } }] };
    expect(rateLimitWait(result({ ...limited, status: 429, retryAfterSeconds: 12 }))).toBe(12);
    expect(rateLimitWait(result({ ...limited, status: 429 }))).toBe(7);
    expect(rateLimitWait(result({ status: 429 }))).toBe(1);
    expect(rateLimitWait(result({ status: 429, retryAfterSeconds: 0 }))).toBe(1);
    expect(rateLimitWait(result({ errors: [{ message: 'x', extensions: { code: 'FORBIDDEN' } }] }))).toBeNull();
    expect(rateLimitWait(result({ status: 400 }))).toBeNull();
  });
});

describe('signedOutReason', () => {
  const refused = result({ errors: [{ message: 'The token is not valid: "exp" claim timestamp check failed.', extensions: { code: 'UNAUTHENTICATED' } }] });

  it('says the sign-in expired when the token did, else repeats the gateway', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const expired = jwt({ sub: 'u', exp: now.getTime() / 1000 - 5 });
    expect(tokenExpiry(expired)?.getTime()).toBe(now.getTime() - 5000);
    expect(signedOutReason(expired, refused, now)).toMatch(/^Signed out: your sign-in expired at .+\. Sign in again/);
    const live = jwt({ sub: 'u', exp: now.getTime() / 1000 + 600 });
    const blocked = result({ errors: [{ message: 'The user is blocked.', extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(signedOutReason(live, blocked, now)).toBe('Signed out: The user is blocked.');
    expect(signedOutReason('not-a-token', blocked, now)).toBe('Signed out: The user is blocked.');
    expect(tokenExpiry('a.!!!.c')).toBeNull();
  });
});

describe('changedFields', () => {
  it('lists the form fields whose stored value differs, with both values', () => {
    const base = { name: 'Alice', nickname: 'al', userMetadata: { theme: 'dark' }, connection: { attributes: [] } } as unknown as Profile;
    const next = { ...base, name: 'Alice B.', userMetadata: { theme: 'light' } } as unknown as Profile;
    expect(changedFields(base, next).map(({ key, before, after }) => [key, before, after])).toEqual([
      ['name', 'Alice', 'Alice B.'],
      ['userMetadata', JSON.stringify({ theme: 'dark' }, null, 2), JSON.stringify({ theme: 'light' }, null, 2)],
    ]);
    expect(changedFields(base, base)).toEqual([]);
    expect(shown('')).toBe('(empty)');
    expect(shown('x'.repeat(80))).toHaveLength(60);
  });
});
