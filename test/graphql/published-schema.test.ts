// schema.graphql (the published schema clients generate from) must be exactly what the server
// builds from schema/*.graphql.
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printPublishedSchema, PUBLISHED_SCHEMA_PATH } from '../../src/cli/schema-print.js';

describe('the published schema (schema.graphql)', () => {
  it('matches schema/*.graphql', () => {
    let committed = '';
    try {
      committed = readFileSync(PUBLISHED_SCHEMA_PATH, 'utf8');
    } catch {
      // Missing: fails below with the same advice.
    }
    expect(committed === printPublishedSchema(), 'schema.graphql is stale: run npm run schema:print').toBe(true);
  });

  it('is a complete schema on its own (a client can generate from it alone)', () => {
    const schema = buildSchema(readFileSync(PUBLISHED_SCHEMA_PATH, 'utf8'));
    expect(schema.getQueryType()?.getFields().me).toBeDefined();
    expect(schema.getMutationType()?.getFields().updateUser).toBeDefined();
    expect(schema.getType('MutabilityReason')).toBeDefined();
  });
});
