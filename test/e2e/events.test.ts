// Change events as data, through the real server: every write path records exactly its events in
// its own transaction (names, version, actor and organization, never values); a write that changes
// nothing, or is refused or rolled back, records none; the events query pages them in commit order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let reader: string;
let cursor: string | null = null;

interface Ev {
  id: string;
  specversion: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: { version?: number; fields: string[]; attributes?: string[]; actor: string; organization?: string };
}

const EVENTS = `query($after: String, $first: Int, $types: [String!]) {
  events(after: $after, first: $first, types: $types) {
    totalCount
    edges { cursor node { id specversion source type subject time datacontenttype data cloudEvent } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type EventsAnswer = {
  events: {
    totalCount: number;
    edges: { cursor: string; node: Ev & { cloudEvent: Record<string, unknown>; datacontenttype: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

/** The events recorded since the last call (the test's own consumer, keeping its cursor). */
async function newEvents(): Promise<Ev[]> {
  const out: Ev[] = [];
  for (;;) {
    const res = await gw.gql<EventsAnswer>(EVENTS, { after: cursor, first: 50 }, reader);
    expect(res.errors).toBeUndefined();
    const page = res.data?.events;
    if (!page) throw new Error('no events page');
    for (const e of page.edges) out.push(e.node);
    if (page.pageInfo.endCursor) cursor = page.pageInfo.endCursor;
    if (!page.pageInfo.hasNextPage) return out;
  }
}

const brief = (events: Ev[]) => events.map((e) => ({ type: e.type, subject: e.subject, fields: e.data.fields }));

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id version } userErrors { code } } }`;
const update = (id: string, input: Record<string, unknown>, token = admin) => gw.gql<{ updateUser: { user: { version: number } | null; userErrors: { code: string }[] } }>(UPDATE, { id, input }, token);

beforeAll(async () => {
  gw = await startTestGateway({ env: { WEBHOOK_ALLOW_PRIVATE: '1' } });
  admin = await adminToken(gw);
  reader = await gw.token('event-reader', 'read:events');
  await createConnection(gw, admin, { name: 'ev', kind: 'DATABASE' });
  await createConnection(gw, admin, { name: 'ev-google', kind: 'SOCIAL', strategy: 'google-oauth2' });
  await newEvents();
});

afterAll(async () => {
  await gw?.close();
});

describe('change events', () => {
  it('createUser, then updateUser: created and updated, with field names, version and actor, never values', async () => {
    const id = await createUser(gw, admin, { connection: 'ev', email: 'ann@ev.example', password: 'first-password-1', name: 'Ann Secretname' });
    let events = await newEvents();
    expect(brief(events)).toEqual([{ type: 'user.created', subject: id, fields: ['EMAIL', 'PASSWORD', 'NAME'] }]);
    const created = events[0] as Ev;
    expect(created).toMatchObject({ specversion: '1.0', source: '/profile-gateway', data: { version: 1, actor: 'admin@tenant' } });
    expect(JSON.stringify(events)).not.toContain('Secretname');
    expect(JSON.stringify(events)).not.toContain('ann@ev.example');

    await update(id, { name: 'Ann Other', userMetadata: { plan: 'gold', tier: 2 } });
    events = await newEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'user.updated',
      subject: id,
      data: { version: 2, fields: ['NAME', 'USER_METADATA'], attributes: ['userMetadata.plan', 'userMetadata.tier'], actor: 'admin@tenant' },
    });
    expect(JSON.stringify(events)).not.toContain('gold');
    expect(events[0]?.data).not.toHaveProperty('organization');
  });

  it('an update that changes nothing, a refused one and a version conflict emit nothing', async () => {
    const id = await createUser(gw, admin, { connection: 'ev', email: 'bea@ev.example', password: 'first-password-1', name: 'Bea' });
    await createUser(gw, admin, { connection: 'ev', email: 'taken@ev.example', password: 'first-password-1' });
    await newEvents();
    expect((await update(id, { name: 'Bea' })).data?.updateUser.user?.version).toBe(1);
    expect((await update(id, { email: 'taken@ev.example' })).data?.updateUser.userErrors.map((e) => e.code)).toEqual(['EMAIL_TAKEN']);
    expect((await update(id, { name: 'Bee', expectedVersion: 7 })).data?.updateUser.userErrors.map((e) => e.code)).toEqual(['VERSION_CONFLICT']);
    expect(await newEvents()).toEqual([]);
  });

  it('block and unblock are their own types; a password change names PASSWORD only', async () => {
    const id = await createUser(gw, admin, { connection: 'ev', email: 'cy@ev.example', password: 'first-password-1' });
    await newEvents();
    await update(id, { blocked: true, name: 'Cy' });
    expect(brief(await newEvents())).toEqual([
      { type: 'user.updated', subject: id, fields: ['NAME'] },
      { type: 'user.blocked', subject: id, fields: ['BLOCKED'] },
    ]);
    await update(id, { blocked: false });
    expect(brief(await newEvents())).toEqual([{ type: 'user.unblocked', subject: id, fields: ['BLOCKED'] }]);
    await update(id, { password: 'second-password-2' });
    const events = await newEvents();
    expect(brief(events)).toEqual([{ type: 'user.updated', subject: id, fields: ['PASSWORD'] }]);
    expect(JSON.stringify(events)).not.toContain('second-password');
  });

  it('updateUsers: each item that changed something, and only those', async () => {
    const a = await createUser(gw, admin, { connection: 'ev', email: 'da@ev.example', password: 'first-password-1' });
    const b = await createUser(gw, admin, { connection: 'ev', email: 'db@ev.example', password: 'first-password-1', name: 'Same' });
    await newEvents();
    const res = await gw.gql<{ updateUsers: { results: { userErrors: { code: string }[] }[] } }>(
      'mutation($input: UpdateUsersInput!) { updateUsers(input: $input) { results { id userErrors { code } } } }',
      { input: { items: [{ id: a, input: { nickname: 'dee' } }, { id: b, input: { name: 'Same' } }, { id: 'auth0|nobody', input: { name: 'x' } }] } },
      admin,
    );
    expect(res.data?.updateUsers.results).toHaveLength(3);
    expect(brief(await newEvents())).toEqual([{ type: 'user.updated', subject: a, fields: ['NICKNAME'] }]);
  });

  it('logins: a first login creates, a bookkeeping-only login emits nothing, a changed profile updates', async () => {
    const login = await gw.token('login-server', 'login:users');
    const LOGIN = 'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } userErrors { code } } }';
    const first = await gw.gql<{ recordLogin: { user: { id: string } } }>(LOGIN, { input: { connection: 'ev-google', profile: { user_id: '77', name: 'Gus', email: 'gus@g.example', email_verified: true } } }, login);
    const id = first.data?.recordLogin.user.id as string;
    expect(brief(await newEvents())).toEqual([{ type: 'user.created', subject: id, fields: ['EMAIL', 'EMAIL_VERIFIED', 'NAME'] }]);
    await gw.gql(LOGIN, { input: { connection: 'ev-google', profile: { user_id: '77', name: 'Gus', email: 'gus@g.example', email_verified: true }, ip: '203.0.113.9' } }, login);
    expect(await newEvents()).toEqual([]);
    await gw.gql(LOGIN, { input: { connection: 'ev-google', profile: { user_id: '77', name: 'Gustav', email: 'gus@g.example', email_verified: true } } }, login);
    const events = await newEvents();
    expect(brief(events)).toEqual([{ type: 'user.updated', subject: id, fields: ['NAME'] }]);
    expect(events[0]?.data.actor).toBe('login-server');

    // An own-store login is bookkeeping only.
    await createUser(gw, admin, { connection: 'ev', email: 'own@ev.example', password: 'first-password-1' });
    await newEvents();
    const auth = await gw.gql<{ authenticate: { user: { id: string } | null } }>(
      'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id } userErrors { code } } }',
      { input: { connection: 'ev', identifier: 'own@ev.example', password: 'first-password-1' } },
      login,
    );
    expect(auth.data?.authenticate.user?.id).toBeTruthy();
    expect(await newEvents()).toEqual([]);
  });

  it('imports: inserted users are created, an upsert that changes is updated, a dry run and a no-op emit nothing', async () => {
    const IMPORT = 'mutation($input: ImportUsersInput!) { importUsers(input: $input) { inserted updated unchanged failed errors { code message } } }';
    const dry = await gw.gql<{ importUsers: { inserted: number } }>(IMPORT, { input: { connection: 'ev', users: [{ email: 'dry@ev.example' }], dryRun: true } }, admin);
    expect(dry.data?.importUsers.inserted).toBe(1);
    expect(await newEvents()).toEqual([]);
    await gw.gql(IMPORT, { input: { connection: 'ev', users: [{ email: 'imp1@ev.example', name: 'Imp' }, { email: 'imp2@ev.example' }] } }, admin);
    const created = await newEvents();
    expect(created.map((e) => [e.type, e.data.fields])).toEqual([
      ['user.created', ['EMAIL', 'NAME']],
      ['user.created', ['EMAIL']],
    ]);
    const again = await gw.gql<{ importUsers: { unchanged: number; updated: number } }>(
      IMPORT,
      { input: { connection: 'ev', users: [{ email: 'imp1@ev.example', name: 'Imp' }, { email: 'imp2@ev.example', nickname: 'two' }], upsert: true } },
      admin,
    );
    expect(again.data?.importUsers).toMatchObject({ unchanged: 1, updated: 1 });
    expect(brief(await newEvents())).toEqual([{ type: 'user.updated', subject: created[1]?.subject, fields: ['NICKNAME'] }]);
  });

  it('tickets: a password reset and an email verification update the user, the ticket holder as actor', async () => {
    const id = await createUser(gw, admin, { connection: 'ev', email: 'tix@ev.example', password: 'first-password-1' });
    await newEvents();
    const t1 = await gw.gql<{ createPasswordResetTicket: { ticket: string } }>(
      'mutation($input: CreatePasswordResetTicketInput!) { createPasswordResetTicket(input: $input) { ticket userErrors { code } } }',
      { input: { user: id } },
      admin,
    );
    expect(await newEvents()).toEqual([]);
    await gw.gql('mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { user { id } userErrors { code } } }', {
      input: { ticket: t1.data?.createPasswordResetTicket.ticket, password: 'reset-password-9' },
    });
    let events = await newEvents();
    expect(brief(events)).toEqual([{ type: 'user.updated', subject: id, fields: ['PASSWORD'] }]);
    expect(events[0]?.data.actor).toBe(id);
    const t2 = await gw.gql<{ createEmailVerificationTicket: { ticket: string } }>(
      'mutation($input: CreateEmailVerificationTicketInput!) { createEmailVerificationTicket(input: $input) { ticket userErrors { code } } }',
      { input: { user: id } },
      admin,
    );
    await gw.gql('mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { user { id } userErrors { code } } }', {
      input: { ticket: t2.data?.createEmailVerificationTicket.ticket },
    });
    events = await newEvents();
    expect(brief(events)).toEqual([{ type: 'user.updated', subject: id, fields: ['EMAIL_VERIFIED'] }]);
  });

  it('memberships: added, roles changed (not when the same), removed; invitations; a help desk names its organization', async () => {
    const org = await createOrganization(gw, admin, { name: 'ev-org', connections: ['ev'] });
    const helper = await createUser(gw, admin, { connection: 'ev', email: 'help@ev.example', password: 'first-password-1' });
    const member = await createUser(gw, admin, { connection: 'ev', email: 'mem@ev.example', password: 'first-password-1' });
    await newEvents();
    await addMember(gw, admin, org, helper, ['ADMIN']);
    await addMember(gw, admin, org, member);
    expect(await newEvents()).toMatchObject([
      { type: 'membership.created', subject: helper, data: { fields: ['ROLES'], organization: org, actor: 'admin@tenant' } },
      { type: 'membership.created', subject: member, data: { organization: org } },
    ]);
    const ROLES = 'mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { roles } userErrors { code } } }';
    await gw.gql(ROLES, { input: { organization: org, user: member, roles: ['MEMBER'] } }, admin);
    expect(await newEvents()).toEqual([]);
    await gw.gql(ROLES, { input: { organization: org, user: member, roles: ['MEMBER', 'ADMIN'] } }, admin);
    expect(brief(await newEvents())).toEqual([{ type: 'membership.updated', subject: member, fields: ['ROLES'] }]);
    await gw.gql(ROLES, { input: { organization: org, user: member, roles: ['MEMBER'] } }, admin);
    await newEvents();

    // The help desk acts through its organization.
    const helpDesk = await gw.token(helper);
    expect((await update(member, { nickname: 'mm' }, helpDesk)).data?.updateUser.userErrors).toEqual([]);
    expect(await newEvents()).toMatchObject([{ type: 'user.updated', subject: member, data: { fields: ['NICKNAME'], actor: helper, organization: org } }]);

    await gw.gql('mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { removedUserId userErrors { code } } }', { input: { organization: org, user: member } }, admin);
    expect(brief(await newEvents())).toEqual([{ type: 'membership.deleted', subject: member, fields: ['ROLES'] }]);

    // An invitation accepted: the membership, and the address now verified.
    const inv = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id ticket } userErrors { code } } }',
      { input: { organization: org, email: 'mem@ev.example' } },
      admin,
    );
    expect(await newEvents()).toEqual([]);
    const accepted = await gw.gql<{ acceptInvitation: { userErrors: unknown[] } }>(
      'mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { membership { roles } userErrors { code } } }',
      { input: { ticket: inv.data?.createInvitation.invitation.ticket } },
      await gw.token(member),
    );
    expect(accepted.data?.acceptInvitation.userErrors).toEqual([]);
    expect(await newEvents()).toMatchObject([
      { type: 'membership.created', subject: member, data: { organization: org, actor: member } },
      { type: 'user.updated', subject: member, data: { fields: ['EMAIL_VERIFIED'], actor: member } },
    ]);
  });

  it('erasure: each membership, then the user, deleted', async () => {
    const org = await createOrganization(gw, admin, { name: 'ev-org2', connections: ['ev'] });
    const id = await createUser(gw, admin, { connection: 'ev', email: 'gone@ev.example', password: 'first-password-1' });
    await addMember(gw, admin, org, id);
    await newEvents();
    const res = await gw.gql<{ deleteUser: { deletedUserId: string } }>('mutation($id: ID!) { deleteUser(id: $id) { deletedUserId userErrors { code } } }', { id }, admin);
    expect(res.data?.deleteUser.deletedUserId).toBe(id);
    expect(await newEvents()).toMatchObject([
      { type: 'membership.deleted', subject: id, data: { organization: org } },
      { type: 'user.deleted', subject: id, data: { fields: [], actor: 'admin@tenant' } },
    ]);
  });

  it('connection updates name the options that changed; an update that changes nothing emits nothing', async () => {
    const UPD = 'mutation($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { connection { id } userErrors { code } } }';
    await gw.gql(UPD, { id: 'ev-google', input: { options: { display_name: 'Google' } } }, admin);
    const events = await newEvents();
    expect(events).toMatchObject([{ type: 'connection.updated', data: { fields: ['options.display_name'], actor: 'admin@tenant' } }]);
    await gw.gql(UPD, { id: 'ev-google', input: { options: { display_name: 'Google' } } }, admin);
    expect(await newEvents()).toEqual([]);
  });

  it('the events query: commit order, types, opaque cursors (or an event id), and its scope', async () => {
    const all = await gw.gql<EventsAnswer>(EVENTS, { first: 1000 }, reader);
    const seqs = all.data?.events.edges.map((e) => e.node.time) ?? [];
    expect(seqs).toEqual([...seqs].sort());
    const edges = all.data?.events.edges ?? [];
    expect(all.data?.events.totalCount).toBe(edges.length);
    const node = edges[0]?.node;
    expect(node?.cloudEvent).toEqual({
      specversion: '1.0', id: node?.id, source: '/profile-gateway', type: node?.type, subject: node?.subject, time: node?.time, datacontenttype: 'application/json', data: node?.data,
    });
    const blocked = await gw.gql<EventsAnswer>(EVENTS, { types: ['user.blocked'] }, reader);
    expect(blocked.data?.events.edges.map((e) => e.node.type)).toEqual(['user.blocked']);
    // After the third event, by cursor or by the event's id, the same page.
    const byCursor = await gw.gql<EventsAnswer>(EVENTS, { after: edges[2]?.cursor, first: 2 }, reader);
    const byId = await gw.gql<EventsAnswer>(EVENTS, { after: edges[2]?.node.id, first: 2 }, reader);
    expect(byCursor.data?.events.edges.map((e) => e.node.id)).toEqual([edges[3]?.node.id, edges[4]?.node.id]);
    expect(byId.data?.events.edges.map((e) => e.node.id)).toEqual([edges[3]?.node.id, edges[4]?.node.id]);
    expect(errorCode(await gw.gql(EVENTS, { types: ['user.renamed'] }, reader))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql(EVENTS, { after: 'garbage!' }, reader))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql(EVENTS, {}, admin))).toBe('FORBIDDEN');
  });
});
