// UserErrorCode lists every code a userErrors entry can carry: a code used in src/ but missing
// from the enum (or listed but never used) fails here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildBareSchema } from '../../src/graphql/schema.js';
import { GUARD_CODES } from '../../src/guard/errors.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Codes as the source writes them: `code: 'X'`, `userError('X', …)`, `fail('X', …)`, `err(field, 'X', …)`, `new ItemFailure('X', …)`, `reportError(i, 'X', …)`, ticket problems. */
function codesInSource(): Set<string> {
  const codes = new Set<string>();
  const patterns = [/code: '([A-Z][A-Z_]+)'/g, /userError\(\s*'([A-Z][A-Z_]+)'/g, /fail\('([A-Z][A-Z_]+)'/g, /ItemFailure\('([A-Z][A-Z_]+)'/g, /reportError\(\w+, '([A-Z][A-Z_]+)'/g, /'(TICKET_[A-Z_]+)'/g, /err\(\s*'\w+',\s*'([A-Z][A-Z_]+)'/g];
  for (const file of sources('src')) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) codes.add(m[1] as string);
  }
  return codes;
}

describe('UserErrorCode', () => {
  it('lists every code the gateway returns in userErrors, and only those', () => {
    const type = buildBareSchema().getType('UserErrorCode');
    if (!isEnumType(type)) throw new Error('UserErrorCode is not an enum');
    const listed = new Set(type.getValues().map((v) => v.name));
    // Top-level error codes (extensions.code) are not userErrors codes.
    const topLevel = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'BAD_REQUEST', 'INTERNAL_SERVER_ERROR', ...Object.keys(GUARD_CODES)]);
    const used = [...codesInSource()].filter((c) => !topLevel.has(c));
    // Password-reset refusals reuse the policy's reasons as codes.
    used.push('NOT_SUPPORTED_BY_CONNECTION', 'MANAGED_IN_CUSTOM_DATABASE');
    expect([...new Set(used)].filter((c) => !listed.has(c)).sort()).toEqual([]);
    expect([...listed].filter((c) => !used.includes(c)).sort()).toEqual([]);
  });
});
