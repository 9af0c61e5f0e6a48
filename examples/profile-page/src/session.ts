// What the page decides on its own about answers it did not expect: how long to wait when rate
// limited, whether a refused token had expired, what changed when a save lost a race. No DOM here.
import type { GraphQLError, GraphQLResult } from './api.js';
import { FIELDS, type FormKey, initialValue, type Profile } from './profile.js';

/** How many times one operation is retried after RATE_LIMITED before the page gives up. */
export const MAX_RATE_LIMIT_RETRIES = 3;

const code = (errors: readonly GraphQLError[], wanted: string) => errors.some((e) => e.extensions?.code === wanted);

export const isUnauthenticated = (result: GraphQLResult<unknown>) => code(result.errors, 'UNAUTHENTICATED');

/** Seconds to wait before trying again, when the gateway rate limited the request; else null. */
export function rateLimitWait(result: GraphQLResult<unknown>): number | null {
  if (result.status !== 429 && !code(result.errors, 'RATE_LIMITED')) return null;
  const fromBody = result.errors.find((e) => e.extensions?.code === 'RATE_LIMITED')?.extensions?.retryAfter;
  const seconds = result.retryAfterSeconds ?? (typeof fromBody === 'number' ? fromBody : null) ?? 1;
  return Math.max(1, Math.ceil(seconds));
}

/** The token's `exp` claim, read without verifying (the gateway verifies; the page only explains). */
export function tokenExpiry(token: string): Date | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

/** Why the page signs out after UNAUTHENTICATED: an expired token in plain words, else the gateway's. */
export function signedOutReason(token: string, result: GraphQLResult<unknown>, now = new Date()): string {
  const expiry = tokenExpiry(token);
  if (expiry && expiry <= now) {
    return `Signed out: your sign-in expired at ${expiry.toLocaleTimeString()}. Sign in again with a new token.`;
  }
  const message = result.errors.find((e) => e.extensions?.code === 'UNAUTHENTICATED')?.message;
  return `Signed out: ${message ?? 'the token was refused.'}`;
}

export interface FieldChange {
  key: FormKey;
  label: string;
  before: string;
  after: string;
}

/** The form's fields whose stored value differs between two versions of the profile. */
export function changedFields(before: Profile, after: Profile): FieldChange[] {
  return FIELDS.flatMap((spec) => {
    const was = initialValue(before, spec.key);
    const now = initialValue(after, spec.key);
    return was === now ? [] : [{ key: spec.key, label: spec.label, before: was, after: now }];
  });
}

/** A value as a short quoted string for a sentence ("(empty)" for nothing). */
export function shown(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  if (flat === '' || flat === '{}') return '(empty)';
  return `“${flat.length > 60 ? `${flat.slice(0, 57)}…` : flat}”`;
}
