// A write is a value: decided against a row, applied by the store only while the row is still that
// row (compare-and-set on version and logins count), decided again on the row the store returns
// when a concurrent write got there first. On the real gateway's store (SQLite, and PostgreSQL in
// the postgres project).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/app/bulk.js';
import { updateConnection } from '../../src/app/connections.js';
import { deleteUser, eraseUser } from '../../src/app/erasure.js';
import { createTokenVerifier } from '../../src/auth/tokens.js';
import { DEFAULT_TICKET_SETTINGS } from '../../src/config.js';
import { buildContext } from '../../src/graphql/context.js';
import { updateOrganizationMember } from '../../src/app/organizations.js';
import { systemContext } from '../../src/app/system.js';
import { writeUser } from '../../src/app/writes.js';
import { ScriptRegistry } from '../../src/connectors/custom-db.js';
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

  it("a decision's change events are values: recorded as given when the decision changes something, never when it changes nothing or is stale", async () => {
    const id = await newUser('events@example.com');
    const seen = await row(id);
    const events = gw.runtime.store.events;
    const event = (tag: string) => ({ type: 'user.updated' as const, subject: id, data: { version: seen.version + 1, fields: ['NICKNAME'], actor: tag } });
    const from = await events.lastSeq();
    expect(await gw.runtime.store.users.apply(id, seen, { changes: { nickname: seen.nickname }, events: [event('nothing')] }, audit, keys)).toMatchObject({ ok: true, changed: [] });
    expect(await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'given' }, events: [event('given')] }, audit, keys)).toMatchObject({ ok: true });
    expect(await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'late' }, events: [event('stale')] }, audit, keys)).toMatchObject({ ok: false, stale: true });
    const recorded = await events.since(from, 10);
    expect(recorded.map(({ type, subject, data }) => ({ type, subject, data }))).toEqual([event('given')]);
  });

  it("writeUser makes a write's events from the row it decided on and the row the decision leaves", async () => {
    const id = await newUser('made@example.com');
    const seen = await row(id);
    const from = await gw.runtime.store.events.lastSeq();
    const made: unknown[] = [];
    const result = await writeUser(gw.runtime.store, id, seen, () => ({ changes: { nickname: 'made', userMetadata: { plan: 'gold' } } }), audit, {
      ...keys,
      events: {
        of: (write) => {
          made.push(write);
          return [{ type: 'user.updated', subject: id, data: { version: write.after?.version, fields: write.changed, actor: 'test' } }];
        },
        notify: () => undefined,
      },
    });
    expect(result).toMatchObject({ ok: true, user: { version: seen.version + 1 } });
    expect(made).toMatchObject([{ userId: id, before: { version: seen.version }, after: { version: seen.version + 1, userMetadata: { plan: 'gold' } }, changed: ['nickname', 'user_metadata'] }]);
    const recorded = await gw.runtime.store.events.since(from, 10);
    expect(recorded.map((e) => e.data)).toEqual([{ version: seen.version + 1, fields: ['nickname', 'user_metadata'], actor: 'test' }]);
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

describe('an import record: decided against the users read, applied while they are unchanged, decided again otherwise', () => {
  let gw: TestGateway;
  let connection: string;
  const audit = { actorId: 'test', operation: 'importUsers' };
  const keys = { uniqueKeys: true };

  beforeAll(async () => {
    gw = await startTestGateway();
    connection = await createConnection(gw, await adminToken(gw), { name: 'importing', kind: 'DATABASE' });
  }, 60_000);
  afterAll(() => gw?.close());

  const row = async (id: string) => (await gw.runtime.store.users.byIds([id]))[0] as UserRow;
  const newUser = async (email: string) => createUser(gw, await adminToken(gw), { connection, email, password: 'correct-horse-battery' });
  const record = (id: string, email: string) => ({
    id,
    connectionId: connection,
    email,
    identity: { provider: 'auth0', upstreamUserId: id.replace(/^auth0\|/, ''), isSocial: false, profileData: null },
  });

  it('the store applies a decision only while the record matches the same users, each unchanged; stale otherwise, and nothing is written', async () => {
    const id = await newUser('imported@example.com');
    const user = record('auth0|someone-else', 'IMPORTED@example.com');
    const [found] = await gw.runtime.store.users.importMatches([user]);
    expect(found?.map((m) => m.user.id)).toEqual([id]);
    const seen = found?.map((m) => m.user) ?? [];
    // A concurrent write between the read and the apply.
    await gw.runtime.store.users.apply(id, await row(id), { changes: { nickname: 'theirs' } }, audit, keys);
    const decided = { user, seen, decision: { kind: 'update' as const, changes: { name: 'Mine' } } };
    expect(await gw.runtime.store.users.importBatch([decided], audit, { dryRun: false })).toEqual([{ outcome: 'stale' }]);
    expect(await row(id)).toMatchObject({ nickname: 'theirs', name: null });
    // A record decided as new while a user with its email appeared meanwhile: stale too.
    const late = record('auth0|late-one', 'late@example.com');
    const [none] = await gw.runtime.store.users.importMatches([late]);
    expect(none).toEqual([]);
    await newUser('late@example.com');
    expect(await gw.runtime.store.users.importBatch([{ user: late, seen: [], decision: { kind: 'insert' } }], audit, { dryRun: false })).toEqual([{ outcome: 'stale' }]);
    // Decided on the row as it is, it is applied.
    const again = (await gw.runtime.store.users.importMatches([user]))[0]?.map((m) => m.user) ?? [];
    expect(await gw.runtime.store.users.importBatch([{ ...decided, seen: again }], audit, { dryRun: false })).toEqual([{ outcome: 'updated', userId: id }]);
    expect(await row(id)).toMatchObject({ nickname: 'theirs', name: 'Mine' });
  });

  it('within a batch a record is judged against the users as the earlier records left them', async () => {
    // Record 1 moves the user to a new address; record 2, decided as an update of that user by its old address, is stale.
    const id = await newUser('moving@example.com');
    const first = record(id, 'moved@example.com');
    const second = record('auth0|newcomer', 'moving@example.com');
    const found = await gw.runtime.store.users.importMatches([first, second]);
    const seen = (at: number) => found[at]?.map((m) => m.user) ?? [];
    expect(seen(1).map((u) => u.id)).toEqual([id]);
    const results = await gw.runtime.store.users.importBatch(
      [
        { user: first, seen: seen(0), decision: { kind: 'update', changes: { email: 'moved@example.com' } } },
        { user: second, seen: seen(1), decision: { kind: 'update', changes: { name: 'Not them' } } },
      ],
      audit,
      { dryRun: false },
    );
    expect(results).toEqual([{ outcome: 'updated', userId: id }, { outcome: 'stale' }]);
    expect(await row(id)).toMatchObject({ email: 'moved@example.com', name: null });
  });

  it('importUsers decides a record again when its user changed between the read and the apply: the concurrent change is kept', async () => {
    const id = await newUser('raced@example.com');
    const store = gw.runtime.store;
    let reads = 0;
    let raced = false;
    // The store as the import sees it: the first time a batch is applied, another writer gets there first.
    const users = new Proxy(store.users, {
      get(target, key, receiver) {
        if (key === 'importMatches') {
          return async (...args: Parameters<typeof target.importMatches>) => {
            reads += 1;
            return target.importMatches(...args);
          };
        }
        if (key === 'importBatch') {
          return async (...args: Parameters<typeof target.importBatch>) => {
            if (!raced) {
              raced = true;
              const current = await row(id);
              await target.apply(id, current, { changes: { userMetadata: { ...current.userMetadata, theirs: 1 } } }, audit, keys);
            }
            return target.importBatch(...args);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const ctx = systemContext(new Proxy(store, { get: (target, key, receiver) => (key === 'users' ? users : (Reflect.get(target, key, receiver) as unknown)) }), new ScriptRegistry('.', 1000));
    const summary = await importUsers(ctx, [{ email: 'raced@example.com', user_metadata: { mine: 2 } }, { email: 'fresh@example.com' }], { connection: 'importing', upsert: true });
    expect(summary).toMatchObject({ inserted: 1, updated: 1, failed: 0 });
    // Read twice: the batch, then the stale record alone.
    expect(reads).toBe(2);
    expect((await row(id)).userMetadata).toEqual({ theirs: 1, mine: 2 });
  });
});

describe('an erasure: decided against the user and their organizations as read, decided again when either changed', () => {
  let gw: TestGateway;
  let connection: string;
  const audit = { actorId: 'test', operation: 'deleteUser' };
  const keys = { uniqueKeys: true };

  beforeAll(async () => {
    gw = await startTestGateway();
    connection = await createConnection(gw, await adminToken(gw), { name: 'erasing', kind: 'DATABASE' });
  }, 60_000);
  afterAll(() => gw?.close());

  const row = async (id: string) => (await gw.runtime.store.users.byIds([id]))[0] ?? null;
  const newUser = async (email: string) => createUser(gw, await adminToken(gw), { connection, email, password: 'correct-horse-battery' });

  it('the store erases only while the user and their memberships are as decided on; stale, with both as they are, otherwise', async () => {
    const admin = await adminToken(gw);
    const id = await newUser('erased@example.com');
    const seen = (await row(id)) as UserRow;
    const decision = { organizations: [], audit, events: [] };
    await gw.runtime.store.users.apply(id, seen, { changes: { nickname: 'changed' } }, audit, keys);
    const stale = await gw.runtime.store.users.erase(id, seen, decision);
    expect(stale).toMatchObject({ ok: false, stale: true, current: { nickname: 'changed' }, organizations: [] });
    const current = (await row(id)) as UserRow;
    const organization = await createOrganization(gw, admin, { name: 'joined-meanwhile' });
    await addMember(gw, admin, organization, id, ['MEMBER']);
    expect(await gw.runtime.store.users.erase(id, current, decision)).toMatchObject({ ok: false, stale: true, organizations: [organization] });
    expect(await row(id)).not.toBeNull();
    expect(await gw.runtime.store.users.erase(id, current, { ...decision, organizations: [organization] })).toEqual({ ok: true });
    expect(await row(id)).toBeNull();
    expect(await gw.runtime.store.users.erase(id, current, decision)).toEqual({ ok: false, notFound: true });
  });

  it('through the app an erasure that lost a race is decided again: its notices name the organization joined meanwhile', async () => {
    const admin = await adminToken(gw);
    const id = await newUser('erased-later@example.com');
    const organization = await createOrganization(gw, admin, { name: 'joined-in-the-race' });
    const store = gw.runtime.store;
    let raced = false;
    const users = new Proxy(store.users, {
      get(target, key, receiver) {
        if (key === 'erase') {
          return async (...args: Parameters<typeof target.erase>) => {
            if (!raced) {
              raced = true;
              await addMember(gw, admin, organization, id, ['MEMBER']);
            }
            return target.erase(...args);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const ctx = systemContext(new Proxy(store, { get: (target, key, receiver) => (key === 'users' ? users : (Reflect.get(target, key, receiver) as unknown)) }), new ScriptRegistry('.', 1000));
    const from = await store.events.lastSeq();
    expect(await eraseUser(ctx, id, () => ({ audit, by: { actor: 'test' } }))).toBe('erased');
    const notices = (await store.events.since(from, 10)).filter((e) => e.subject === id);
    expect(notices.map((e) => [e.type, e.data.organization ?? null])).toEqual([
      ['membership.deleted', organization],
      ['user.deleted', null],
    ]);
    expect(await row(id)).toBeNull();
  });

  it("a help desk's erasure decided again keeps its rule: a member who joined another organization in the race is not theirs to delete", async () => {
    const admin = await adminToken(gw);
    const ours = await createOrganization(gw, admin, { name: 'help-desk-org' });
    const theirs = await createOrganization(gw, admin, { name: 'joined-in-the-deletion-race' });
    const helpDesk = await newUser('help-desk@example.com');
    const member = await newUser('shared-later@example.com');
    await addMember(gw, admin, ours, helpDesk, ['ADMIN']);
    await addMember(gw, admin, ours, member, ['MEMBER']);
    const store = gw.runtime.store;
    let raced = false;
    const users = new Proxy(store.users, {
      get(target, key, receiver) {
        if (key === 'erase') {
          return async (...args: Parameters<typeof target.erase>) => {
            if (!raced) {
              raced = true;
              await addMember(gw, admin, theirs, member, ['MEMBER']);
            }
            return target.erase(...args);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const racedStore = new Proxy(store, { get: (target, key, receiver) => (key === 'users' ? users : (Reflect.get(target, key, receiver) as unknown)) });
    const ctx = await buildContext(
      {
        store: racedStore,
        verifier: createTokenVerifier({ jwtSecret: gw.secret, jwksUrl: null, issuer: 'https://issuer.test/', audience: 'profile-gateway' }),
        scripts: new ScriptRegistry('.', 1000),
        tickets: DEFAULT_TICKET_SETTINGS,
      },
      `Bearer ${await gw.token(helpDesk)}`,
    );
    await expect(deleteUser(ctx, member)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('another organization') });
    expect(raced).toBe(true);
    expect(await row(member)).not.toBeNull();
  });
});

describe("every write's events are values: a new row's from the row inserted, a member's roles and a connection's update decided on the row read", () => {
  let gw: TestGateway;
  let connection: string;
  const audit = { actorId: 'test', operation: 'test' };

  beforeAll(async () => {
    gw = await startTestGateway();
    connection = await createConnection(gw, await adminToken(gw), { name: 'values', kind: 'DATABASE' });
  }, 60_000);
  afterAll(() => gw?.close());

  const store = () => gw.runtime.store;
  const recorded = async (from: number) => (await store().events.since(from, 50)).map(({ type, subject, data }) => ({ type, subject, data }));
  const membership = async (organization: string, user: string) =>
    (await store().organizations.membershipsByUserIds([user]))[0]?.find((m) => m.organizationId === organization) ?? null;
  /** The store with one of its parts' methods running `race` once, just before the first call. */
  const racing = <P extends 'organizations' | 'connections'>(part: P, method: string, race: () => Promise<void>) => {
    let raced = false;
    let calls = 0;
    const wrapped = new Proxy(store()[part], {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== method || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          calls++;
          if (!raced) {
            raced = true;
            await race();
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const s = store();
    const ctx = systemContext(new Proxy(s, { get: (target, key, receiver) => (key === part ? wrapped : (Reflect.get(target, key, receiver) as unknown)) }), new ScriptRegistry('.', 1000));
    return { ctx, calls: () => calls };
  };

  it("a new user's events are recorded as given when it is inserted, never when a key is taken", async () => {
    const event = (tag: string) => ({ type: 'user.created' as const, subject: `auth0|${tag}`, data: { version: 1, fields: ['EMAIL'], actor: tag } });
    const user = (tag: string) => ({ id: `auth0|${tag}`, connectionId: connection, email: 'same@example.com', identity: { provider: 'auth0', upstreamUserId: tag, isSocial: false, profileData: null } });
    const from = await store().events.lastSeq();
    expect(await store().users.create(user('first'), audit, { uniqueKeys: true, events: [event('first')] })).toMatchObject({ ok: true });
    expect(await store().users.create(user('second'), audit, { uniqueKeys: true, events: [event('second')] })).toMatchObject({ ok: false, taken: ['email'] });
    expect(await recorded(from)).toEqual([event('first')]);
  });

  it("a membership's events: recorded as given when it is added, never when the user already is a member", async () => {
    const admin = await adminToken(gw);
    const id = await createUser(gw, admin, { connection, email: 'joining@example.com', password: 'correct-horse-battery' });
    const organization = await createOrganization(gw, admin, { name: 'adding' });
    const row = { organizationId: organization, userId: id, roles: ['MEMBER' as const], invitedEmail: null };
    const event = (tag: string) => ({ type: 'membership.created' as const, subject: id, data: { fields: ['ROLES'], actor: tag, organization } });
    const from = await store().events.lastSeq();
    expect(await store().organizations.addMember(row, audit, [event('first')])).toMatchObject({ ok: true });
    expect(await store().organizations.addMember(row, audit, [event('again')])).toEqual({ ok: false, alreadyMember: true });
    expect(await recorded(from)).toEqual([event('first')]);
  });

  it("the store sets a member's roles only while they are the roles decided on; stale, with the membership as it is, otherwise, and no event", async () => {
    const admin = await adminToken(gw);
    const id = await createUser(gw, admin, { connection, email: 'roles@example.com', password: 'correct-horse-battery' });
    const organization = await createOrganization(gw, admin, { name: 'roles-cas' });
    await addMember(gw, admin, organization, id, ['MEMBER']);
    const seen = (await membership(organization, id))!;
    const event = (tag: string) => ({ type: 'membership.updated' as const, subject: id, data: { fields: ['ROLES'], actor: tag, organization } });
    const from = await store().events.lastSeq();
    expect(await store().organizations.updateMemberRoles(seen, ['ADMIN'], audit, [event('first')])).toMatchObject({ ok: true, membership: { roles: ['ADMIN'] } });
    expect(await store().organizations.updateMemberRoles(seen, ['MEMBER', 'ADMIN'], audit, [event('stale')])).toMatchObject({ ok: false, stale: true, current: { roles: ['ADMIN'] } });
    expect((await membership(organization, id))?.roles).toEqual(['ADMIN']);
    expect(await store().organizations.updateMemberRoles({ ...seen, userId: 'auth0|nobody' }, ['ADMIN'], audit, [event('none')])).toEqual({ ok: false, notMember: true });
    expect(await recorded(from)).toEqual([event('first')]);
  });

  it("a member's roles that changed meanwhile are decided again: a write to the roles the member now has says nothing changed", async () => {
    const admin = await adminToken(gw);
    const id = await createUser(gw, admin, { connection, email: 'roles-race@example.com', password: 'correct-horse-battery' });
    const organization = await createOrganization(gw, admin, { name: 'roles-race' });
    await addMember(gw, admin, organization, id, ['MEMBER']);
    const { ctx, calls } = racing('organizations', 'updateMemberRoles', async () => {
      const current = (await membership(organization, id))!;
      expect(await store().organizations.updateMemberRoles(current, ['ADMIN'], { actorId: 'other', operation: 'test' })).toMatchObject({ ok: true });
    });
    await ctx.loaders.membershipsByUser.load(id);
    const from = await store().events.lastSeq();
    const result = await updateOrganizationMember(ctx, { organization, user: id, roles: ['ADMIN'] });
    expect(result).toMatchObject({ membership: { roles: ['ADMIN'] }, userErrors: [] });
    expect(calls()).toBe(2);
    // Decided on ['MEMBER'] it would have announced a change; decided again on ['ADMIN'], none.
    expect(await recorded(from)).toEqual([]);
  });

  it('the store updates a connection only while it is the row decided on; stale, with the row as it is, otherwise, and no event', async () => {
    const id = await createConnection(gw, await adminToken(gw), { name: 'connection-cas', kind: 'DATABASE' });
    const [seen] = await store().connections.byIds([id]);
    const event = (tag: string) => ({ type: 'connection.updated' as const, subject: id, data: { fields: [`options.${tag}`], actor: tag } });
    const from = await store().events.lastSeq();
    const first = await store().connections.update(id, seen!, { options: { ...seen!.options, first: true } }, audit, [event('first')]);
    expect(first).toMatchObject({ ok: true, connection: { options: { first: true } } });
    const late = await store().connections.update(id, seen!, { options: { ...seen!.options, late: true } }, audit, [event('late')]);
    expect(late).toMatchObject({ ok: false, stale: true, current: { options: { first: true } } });
    expect((await store().connections.byIds([id]))[0]?.options).not.toHaveProperty('late');
    expect(await store().connections.update('con_missing', seen!, { name: 'x' }, audit, [event('missing')])).toEqual({ ok: false, notFound: true });
    expect(await recorded(from)).toEqual([event('first')]);
  });

  it("a connection update that lost a race is decided again: the merge keeps the concurrent option, and its event names only its own", async () => {
    const id = await createConnection(gw, await adminToken(gw), { name: 'connection-race', kind: 'DATABASE' });
    const { ctx, calls } = racing('connections', 'update', async () => {
      const [current] = await store().connections.byIds([id]);
      expect(await store().connections.update(id, current!, { options: { ...current!.options, concurrent: 1 } }, { actorId: 'other', operation: 'test' })).toMatchObject({ ok: true });
    });
    const from = await store().events.lastSeq();
    const result = await updateConnection(ctx, id, { options: { mine: 2 } });
    expect(result.userErrors).toEqual([]);
    expect(result.connection?.options).toMatchObject({ concurrent: 1, mine: 2 });
    expect(calls()).toBe(2);
    expect(await recorded(from)).toEqual([{ type: 'connection.updated', subject: id, data: { fields: ['options.mine'], actor: 'system' } }]);
  });
});
