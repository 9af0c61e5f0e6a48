// The events of a write, decided from what the store wrote: table-driven, no database.
import { describe, expect, it } from 'vitest';
import { connectionEvents, membershipEvents, type UserState, userEvents } from '../../src/domain/events.js';

const by = { actor: 'admin', organization: null };
const state = (over: Partial<UserState> = {}): UserState => ({ version: 2, blocked: false, userMetadata: {}, appMetadata: {}, ...over });

describe('userEvents', () => {
  it.each([
    ['bookkeeping only', ['last_login', 'logins_count', 'last_ip', 'profile_synced_at', 'password_rehash'], state(), state(), []],
    ['nothing', [], state(), state(), []],
    ['a name and a login', ['name', 'last_login'], state(), state({ version: 3 }), [['user.updated', ['NAME']]]],
    ['a block', ['blocked'], state(), state({ version: 3, blocked: true }), [['user.blocked', ['BLOCKED']]]],
    ['an unblock', ['blocked'], state({ blocked: true }), state({ version: 3 }), [['user.unblocked', ['BLOCKED']]]],
    ['a block and a name', ['name', 'blocked'], state(), state({ blocked: true }), [['user.updated', ['NAME']], ['user.blocked', ['BLOCKED']]]],
    ['a password', ['password'], state(), state(), [['user.updated', ['PASSWORD']]]],
  ] as const)('%s', (_name, changed, before, after, expected) => {
    const events = userEvents({ userId: 'u1', before, after, changed: [...changed] }, by);
    expect(events.map((e) => [e.type, e.data.fields])).toEqual(expected);
    for (const e of events) expect(e).toMatchObject({ subject: 'u1', data: { actor: 'admin', version: after.version } });
  });

  it('names the changed metadata keys, never their values', () => {
    const [e] = userEvents(
      { userId: 'u1', before: state({ userMetadata: { a: 1, b: 2 } }), after: state({ userMetadata: { a: 1, b: 3, c: 'secret' } }), changed: ['user_metadata'] },
      by,
    );
    expect(e?.data).toEqual({ version: 2, fields: ['USER_METADATA'], attributes: ['userMetadata.b', 'userMetadata.c'], actor: 'admin' });
    expect(JSON.stringify(e)).not.toContain('secret');
  });

  it('does not name a declared key the tenant may not view (events are read tenant-wide)', () => {
    const settings = {
      undeclared: 'ALLOW' as const,
      attributes: [
        { key: 'diary', in: 'user_metadata' as const, schema: {}, edit: ['SELF' as const], view: ['SELF' as const], lifecycle: 'MUTABLE' as const },
        { key: 'plan', in: 'user_metadata' as const, schema: {}, edit: ['TENANT_ADMIN' as const], view: ['TENANT_ADMIN' as const], lifecycle: 'MUTABLE' as const },
      ],
    };
    const [e] = userEvents(
      { userId: 'u1', before: state(), after: state({ userMetadata: { diary: 'x', plan: 'pro', free: 1 } }), changed: ['user_metadata'] },
      by,
      settings,
    );
    expect(e?.data.attributes).toEqual(['userMetadata.free', 'userMetadata.plan']);
  });

  it('creation, erasure (memberships first), and the help desk organization', () => {
    expect(userEvents({ userId: 'u1', before: null, after: state({ version: 1 }), changed: ['email', 'password'] }, by)).toEqual([
      { type: 'user.created', subject: 'u1', data: { version: 1, fields: ['EMAIL', 'PASSWORD'], actor: 'admin' } },
    ]);
    expect(userEvents({ userId: 'u1', before: state(), after: null, changed: ['deleted'], organizationsLeft: ['org_a'] }, { actor: 'hd', organization: 'org_a' })).toEqual([
      { type: 'membership.deleted', subject: 'u1', data: { fields: ['ROLES'], actor: 'hd', organization: 'org_a' } },
      { type: 'user.deleted', subject: 'u1', data: { fields: [], actor: 'hd', organization: 'org_a' } },
    ]);
  });
});

describe('membershipEvents and connectionEvents', () => {
  const m = (roles: string[]) => ({ organizationId: 'org_a', userId: 'u1', roles });
  it.each([
    ['added', null, m(['MEMBER']), ['membership.created']],
    ['the same roles, in another order', m(['MEMBER', 'ADMIN']), m(['ADMIN', 'MEMBER']), []],
    ['roles changed', m(['MEMBER']), m(['ADMIN']), ['membership.updated']],
    ['removed', m(['MEMBER']), null, ['membership.deleted']],
  ] as const)('membership %s', (_name, before, after, expected) => {
    expect(membershipEvents({ before, after }, by).map((e) => e.type)).toEqual(expected);
  });

  it('a connection names what changed, or nothing', () => {
    const c = { id: 'con_1', name: 'db', strategy: 'auth0', options: { a: 1, b: { x: 1 } } };
    expect(connectionEvents(c, { ...c, options: { a: 1, b: { x: 1 } } }, by)).toEqual([]);
    expect(connectionEvents(c, { ...c, name: 'db2', options: { b: { x: 2 } } }, by)).toEqual([
      { type: 'connection.updated', subject: 'con_1', data: { fields: ['NAME', 'options.a', 'options.b'], actor: 'admin' } },
    ]);
  });
});
