// A write is a value: decided against a row, applied by the store only while the row is still that
// row (compare-and-set on version and logins count), decided again on the row the store returns
// when a concurrent write got there first. On the real gateway's store (SQLite, and PostgreSQL in
// the postgres project).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUser } from '../../src/app/writes.js';
import type { UserRow } from '../../src/store/types.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hashTicket } from '../../src/app/tickets.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

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

  it('an invitation accepted as decided: stale when a membership appeared or the user changed since, merged when decided again', async () => {
    const admin = await adminToken(gw);
    const organization = await createOrganization(gw, admin, { name: 'acceptors' });
    const id = await newUser('invitee@example.com');
    const invited = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($o: ID!) { createInvitation(input: { organization: $o, email: "invitee@example.com", roles: [ADMIN] }) { invitation { ticket } } }',
      { o: organization },
      admin,
    );
    const ticket = invited.data?.createInvitation.invitation.ticket as string;
    const invitation = await gw.runtime.store.invitations.byHash(hashTicket(ticket));
    if (!invitation) throw new Error('no invitation');
    const seen = await row(id);
    const decided = {
      before: null,
      membership: { organizationId: organization, userId: id, roles: invitation.roles, invitedEmail: invitation.email, joinedAt: new Date() },
      changes: { emailVerified: true },
    };
    // Someone adds the user to the organization after the decision was made: it no longer holds.
    await addMember(gw, admin, organization, id, ['MEMBER']);
    expect(await gw.runtime.store.invitations.accept(invitation.id, { ...seen, id }, decided, new Date(), audit)).toEqual({ ok: false, stale: true });
    // So does a change of the user since their row was read.
    await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'changed' } }, audit, keys);
    const [member] = (await gw.runtime.store.organizations.membershipsByUserIds([id]))[0] ?? [];
    expect(await gw.runtime.store.invitations.accept(invitation.id, { ...seen, id }, { ...decided, before: member ?? null }, new Date(), audit)).toEqual({ ok: false, stale: true });
    // Through the API it is decided on what is there now: the invitation's role joins the member's.
    const accepted = await gw.gql<{ acceptInvitation: { membership: { roles: string[] } | null; userErrors: unknown[] } }>(
      'mutation($t: String!) { acceptInvitation(input: { ticket: $t }) { membership { roles } userErrors { code } } }',
      { t: ticket },
      await gw.token(id),
    );
    expect(accepted.data?.acceptInvitation.userErrors).toEqual([]);
    expect([...(accepted.data?.acceptInvitation.membership?.roles ?? [])].sort()).toEqual(['ADMIN', 'MEMBER']);
  });
});
