// A logged error never carries the values of the statement that failed: drizzle names them after
// "params:", and PostgreSQL's data exceptions quote the input. Real errors from a real driver.
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { describe, expect, it } from 'vitest';
import { serializeError } from '../../src/observability/logger.js';

describe('serializeError', () => {
  it("keeps a failed query's statement and cause, not its parameters", () => {
    const db = drizzle(new Database(':memory:'));
    let failure: unknown;
    try {
      db.run(sql`INSERT INTO missing_table (name, metadata) VALUES (${'jean.dupont'}, ${'{"diagnosis":"diabetes"}'})`);
    } catch (err) {
      failure = err;
    }
    const logged = JSON.stringify(serializeError(failure));
    expect(logged).toContain('INSERT INTO missing_table');
    expect(logged).toContain('no such table');
    expect(logged).not.toMatch(/jean\.dupont|diabetes/);
  });

  it('words a data exception by its SQLSTATE, not by the value it quotes', () => {
    const err = Object.assign(new Error('invalid input syntax for type integer: "Jean Dupont"'), { code: '22P02' });
    expect(serializeError(err)).toEqual({ type: 'Error', message: 'data exception (SQLSTATE 22P02)', code: '22P02' });
  });
});
