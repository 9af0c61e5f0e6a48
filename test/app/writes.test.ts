// A write is a value: decided against a row, applied by the store only while the row is still that
// row (compare-and-set on version and logins count), decided again on the row the store returns
// when a concurrent write got there first. On the real gateway's store (SQLite, and PostgreSQL in
// the postgres project).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUser } from '../../src/app/writes.js';
import type { UserRow } from '../../src/store/types.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

describe('writeUser: decide, compare-and-set, decide again', () => {
  let gw: TestGateway;
  let connection: string;
  const audit = { actorId: 'test', operation: 'test' };
  const keys = { uniqueKeys: true };

  beforeAll(async () => {
    gw = await startTestGateway();
    connection = await createConnection(gw, await adminToken(gw), { name: 'own-store', kind: 'DATABASE' });
  }, 60_000);
  afterAll(() => gw?.close());

  const row = async (id: string) => (await gw.runtime.store.users.byIds([id]))[0] as UserRow;
  const newUser = async (email: string) => createUser(gw, await adminToken(gw), { connection, email, password: 'correct-horse-battery' });

  it('the store refuses a decision made on a row that moved on, and answers with the row as it is', async () => {
    const id = await newUser('stale@example.com');
    const seen = await row(id);
    const first = await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'first' } }, audit, keys);
    expect(first).toMatchObject({ ok: true, changed: ['nickname'] });
    const second = await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'second' } }, audit, keys);
    expect(second).toMatchObject({ ok: false, stale: true, current: { nickname: 'first', version: seen.version + 1 } });
    expect((await row(id)).nickname).toBe('first');
  });

  it('a login that leaves the version alone still makes an older decision stale (the logins count moved)', async () => {
    const id = await newUser('bookkeeping@example.com');
    const seen = await row(id);
    const login = await gw.runtime.store.users.apply(id, seen, { changes: {}, bookkeeping: { loginsCount: seen.loginsCount + 1, lastLogin: new Date() } }, audit, keys);
    expect(login).toMatchObject({ ok: true, user: { version: seen.version, loginsCount: seen.loginsCount + 1 } });
    const late = await gw.runtime.store.users.apply(id, seen, { changes: {}, bookkeeping: { loginsCount: seen.loginsCount + 1 } }, audit, keys);
    expect(late).toMatchObject({ ok: false, stale: true });
  });

  it('after a lost race the write is decided again on the new row: a merge keeps the concurrent key', async () => {
    const id = await newUser('merge@example.com');
    const seen = await row(id);
    // Another writer commits between this request's read and its write.
    await gw.runtime.store.users.apply(id, seen, { changes: { userMetadata: { theirs: 1 } } }, audit, keys);
    const decidedOn: number[] = [];
    const result = await writeUser(
      gw.runtime.store,
      id,
      seen,
      (current) => {
        decidedOn.push(current.version);
        return { changes: { userMetadata: { ...current.userMetadata, mine: 2 } } };
      },
      audit,
      keys,
    );
    expect(decidedOn).toEqual([seen.version, seen.version + 1]);
    expect(result).toMatchObject({ ok: true, user: { userMetadata: { theirs: 1, mine: 2 }, version: seen.version + 2 } });
  });

  it('with an expectedVersion a lost race is a VERSION_CONFLICT, not a second decision', async () => {
    const id = await newUser('expected@example.com');
    const seen = await row(id);
    await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'theirs' } }, audit, keys);
    let decisions = 0;
    const result = await writeUser(
      gw.runtime.store,
      id,
      seen,
      () => {
        decisions += 1;
        return { changes: { nickname: 'mine' } };
      },
      audit,
      { ...keys, expectedVersion: seen.version },
    );
    expect(decisions).toBe(1);
    expect(result).toEqual({ ok: false, versionConflict: { expected: seen.version, actual: seen.version + 1 } });
    expect((await row(id)).nickname).toBe('theirs');
  });

  it("an expectedVersion newer than the caller's row is judged on the row as it is, not refused", async () => {
    const id = await newUser('newer@example.com');
    const seen = await row(id);
    await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'theirs' } }, audit, keys);
    // The client read version 2 elsewhere; this request's row is still version 1.
    const result = await writeUser(gw.runtime.store, id, seen, () => ({ changes: { nickname: 'mine' } }), audit, { ...keys, expectedVersion: seen.version + 1 });
    expect(result).toMatchObject({ ok: true, user: { nickname: 'mine', version: seen.version + 2 } });
  });

  it('concurrent writes to one user through the app lose nothing (one at a time in a process)', async () => {
    const id = await newUser('many@example.com');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writeUser(gw.runtime.store, id, null, (current) => ({ changes: { userMetadata: { ...current.userMetadata, [`k${i}`]: i } } }), audit, keys),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const after = await row(id);
    expect(Object.keys(after.userMetadata).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`).sort());
    expect(after.version).toBe(1 + 50);
  });
});
