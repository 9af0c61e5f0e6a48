// The help desk of organization A can do each thing domain.md lists to A's members, and none of
// them to a user only in organization B, through every query and mutation path. Invitations bind
// the email. Tokens narrowed by org_id keep to that organization.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let desk: string;
let deskId: string;
let orgA: string;
let orgB: string;
const ids: Record<string, string> = {};

async function user(name: string, orgs: string[]): Promise<string> {
  const id = await createUser(gw, admin, {
    connection: 'hd-db',
    email: `${name}@hd.example`,
    password: 'first-password-1',
    emailVerified: true,
    name,
    appMetadata: { plan: 'gold' },
  });
  for (const org of orgs) await addMember(gw, admin, org, id);
  ids[name] = id;
  return id;
}

const gql = <T = Record<string, unknown>>(q: string, v: Record<string, unknown>, token = desk) => gw.gql<T>(q, v, token);

const UPDATE = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { user { id name blocked } userErrors { code } } }';
const RESET = 'mutation($user: ID!) { createPasswordResetTicket(input: { user: $user }) { ticket expiresAt userErrors { code } } }';
const REMOVE = 'mutation($org: ID!, $user: ID!) { removeOrganizationMember(input: { organization: $org, user: $user }) { removedUserId userErrors { code } } }';
const ROLES = 'mutation($org: ID!, $user: ID!, $roles: [OrgRole!]!) { updateOrganizationMember(input: { organization: $org, user: $user, roles: $roles }) { membership { roles } userErrors { code } } }';
const INVITE = 'mutation($org: ID!, $email: String!) { createInvitation(input: { organization: $org, email: $email, roles: [MEMBER] }) { invitation { id email roles expiresAt ticket organization { name } } userErrors { code message } } }';
const DELETE = 'mutation($id: ID!) { deleteUser(id: $id) { deletedUserId userErrors { code } } }';

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  await createConnection(gw, admin, { name: 'hd-db', kind: 'DATABASE' });
  orgA = await createOrganization(gw, admin, { name: 'alpha', displayName: 'Alpha Inc' });
  orgB = await createOrganization(gw, admin, { name: 'beta' });
  deskId = await user('desk', []);
  await addMember(gw, admin, orgA, deskId, ['ADMIN']);
  desk = await gw.token(deskId);
  await user('amy', [orgA]);
  await user('ben', [orgA]);
  await user('cid', [orgA]);
  await user('dora', [orgA]);
  await user('both', [orgA, orgB]);
  await user('outsider', [orgB]);
});
afterAll(async () => {
  await gw?.close();
});

describe("the help desk and its organization's members", () => {
  it('reads and updates a member, blocks and unblocks them', async () => {
    const read = await gql<{ user: { name: string; appMetadata: unknown } }>('query($id: ID!) { user(id: $id) { name appMetadata } }', { id: ids.amy });
    expect(read.data?.user).toEqual({ name: 'amy', appMetadata: null });
    const upd = await gql<{ updateUser: { user: { name: string } } }>(UPDATE, { id: ids.amy, input: { name: 'Amy A.' } });
    expect(upd.data?.updateUser.user.name).toBe('Amy A.');
    for (const blocked of [true, false]) {
      const res = await gql<{ updateUser: { user: { blocked: boolean } } }>(UPDATE, { id: ids.amy, input: { blocked } });
      expect(res.data?.updateUser.user.blocked).toBe(blocked);
    }
    // Tenant-admin-only fields stay refused.
    expect(errorCode(await gql(UPDATE, { id: ids.amy, input: { appMetadata: { plan: 'x' } } }))).toBe('FIELD_NOT_EDITABLE');
  });

  it("creates a password reset ticket that goes to the member's address, never into the response", async () => {
    const res = await gql<{ createPasswordResetTicket: { ticket: string | null; expiresAt: string; userErrors: unknown[] } }>(RESET, { user: ids.amy });
    expect(res.data?.createPasswordResetTicket).toMatchObject({ ticket: null, userErrors: [] });
    expect(res.data?.createPasswordResetTicket.expiresAt).toBeTruthy();
    await gw.runtime.outbox.drain();
    const sent = readFileSync(join(gw.dir, 'outbox.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { to: string; subject: string; body: string });
    expect(sent.at(-1)).toMatchObject({ to: 'amy@hd.example', subject: 'Reset your password' });
    expect(sent.at(-1)?.body).toMatch(/reset ticket: [\w-]{40,}/);
  });

  it('changes roles, removes members, and invites people to its organization', async () => {
    const roles = await gql<{ updateOrganizationMember: { membership: { roles: string[] } } }>(ROLES, { org: orgA, user: ids.ben, roles: ['MEMBER', 'ADMIN'] });
    expect(roles.data?.updateOrganizationMember.membership.roles).toEqual(['MEMBER', 'ADMIN']);
    const removed = await gql<{ removeOrganizationMember: { removedUserId: string } }>(REMOVE, { org: orgA, user: ids.cid });
    expect(removed.data?.removeOrganizationMember.removedUserId).toBe(ids.cid);
    // No longer a member: out of the help desk's sight.
    expect((await gql('query($id: ID!) { user(id: $id) { id } }', { id: ids.cid })).data).toEqual({ user: null });
    const invite = await gql<{ createInvitation: { invitation: { email: string; ticket: string | null; organization: { name: string } } } }>(INVITE, { org: orgA, email: 'new.hire@hd.example' });
    expect(invite.data?.createInvitation.invitation).toMatchObject({ email: 'new.hire@hd.example', ticket: null, organization: { name: 'alpha' } });
    await gw.runtime.outbox.drain();
    expect(readFileSync(join(gw.dir, 'outbox.log'), 'utf8')).toMatch(/"to":"new\.hire@hd\.example","subject":"You are invited to join Alpha Inc"/);
  });

  it("deletes a member's account only when the member belongs to no other organization", async () => {
    const refused = await gql(DELETE, { id: ids.both });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toMatch(/removeOrganizationMember/);
    expect((await gw.gql<{ user: { id: string } }>('query($id: ID!) { user(id: $id) { id } }', { id: ids.both }, admin)).data?.user?.id).toBe(ids.both);
    const res = await gql<{ deleteUser: { deletedUserId: string } }>(DELETE, { id: ids.dora });
    expect(res.data?.deleteUser.deletedUserId).toBe(ids.dora);
    expect((await gw.gql('query($id: ID!) { user(id: $id) { id } }', { id: ids.dora }, admin)).data).toEqual({ user: null });
  });

  it('does none of it to a user only in another organization, by any path', async () => {
    const id = ids.outsider as string;
    const reads = await gql(
      `query($id: ID!, $org: ID!) {
        user(id: $id) { id } node(id: $id) { id }
        users(first: 100) { edges { node { id } } }
        organization(id: $org) { id }
        orgNode: node(id: $org) { id }
      }`,
      { id, org: orgB },
    );
    expect(reads.errors).toBeUndefined();
    expect(reads.data).toMatchObject({ user: null, node: null, organization: null, orgNode: null });
    expect(JSON.stringify(reads.data)).not.toContain(id);
    // A member in both organizations: their other memberships stay hidden in nested fields.
    const nested = await gql<{ user: { organizations: { organization: { name: string } }[] } }>(
      'query($id: ID!) { user(id: $id) { organizations { organization { name } } } }',
      { id: ids.both },
    );
    expect(nested.data?.user.organizations).toEqual([{ organization: { name: 'alpha' } }]);

    expect(errorCode(await gql(UPDATE, { id, input: { name: 'x' } }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(UPDATE, { id, input: { blocked: true } }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(RESET, { user: id }))).toBe('NOT_FOUND');
    expect(errorCode(await gql('mutation($user: ID!) { createEmailVerificationTicket(input: { user: $user }) { ticket } }', { user: id }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(DELETE, { id }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(REMOVE, { org: orgB, user: id }))).toBe('FORBIDDEN');
    expect(errorCode(await gql(ROLES, { org: orgB, user: id, roles: ['ADMIN'] }))).toBe('FORBIDDEN');
    expect(errorCode(await gql(INVITE, { org: orgB, email: 'spy@hd.example' }))).toBe('FORBIDDEN');
    expect(errorCode(await gql('query($org: ID!) { auditEvents(filter: { organization: $org }) { totalCount } }', { org: orgB }))).toBe('FORBIDDEN');
    expect(
      errorCode(await gql('mutation($org: ID!, $user: ID!) { addOrganizationMember(input: { organization: $org, user: $user }) { membership { roles } } }', { org: orgA, user: id })),
    ).toBe('FORBIDDEN');
    expect((await gw.gql<{ user: { blocked: boolean; name: string } }>('query($id: ID!) { user(id: $id) { blocked name } }', { id }, admin)).data?.user).toEqual({ blocked: false, name: 'outsider' });
  });

  it("reads its organization's audit events and no others", async () => {
    const res = await gql<{ auditEvents: { totalCount: number; edges: { node: { organizationId: string; operation: string } }[] } }>(
      '{ auditEvents(first: 100) { totalCount edges { node { organizationId operation } } } }',
      {},
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.auditEvents.totalCount).toBeGreaterThan(3);
    for (const e of res.data?.auditEvents.edges ?? []) expect(e.node.organizationId).toBe(orgA);
  });

  it('with an org_id claim for another organization, the help desk has no powers at all', async () => {
    const narrowed = await gw.token(deskId, '', { orgId: orgB });
    expect((await gw.gql('query($id: ID!) { user(id: $id) { id } }', { id: ids.amy }, narrowed)).data).toEqual({ user: null });
    expect(errorCode(await gw.gql(UPDATE, { id: ids.amy, input: { name: 'no' } }, narrowed))).toBe('NOT_FOUND');
    expect(errorCode(await gw.gql(REMOVE, { org: orgA, user: ids.amy }, narrowed))).toBe('FORBIDDEN');
  });
});

describe('organizations', () => {
  it('a tenant administrator renames an organization and replaces its enabled connections; the help desk cannot', async () => {
    await createConnection(gw, admin, { name: 'hd-google', kind: 'SOCIAL', strategy: 'google-oauth2' });
    const UPDATE_ORG = 'mutation($id: ID!, $input: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $input) { organization { name displayName connections { name } } userErrors { field code } } }';
    const res = await gw.gql<{ updateOrganization: { organization: unknown; userErrors: unknown[] } }>(
      UPDATE_ORG,
      { id: orgB, input: { displayName: 'Beta GmbH', connections: ['hd-db', 'hd-google'] } },
      admin,
    );
    expect(res.data?.updateOrganization).toEqual({
      organization: { name: 'beta', displayName: 'Beta GmbH', connections: [{ name: 'hd-db' }, { name: 'hd-google' }] },
      userErrors: [],
    });
    const taken = await gw.gql<{ updateOrganization: { userErrors: unknown[] } }>(UPDATE_ORG, { id: orgB, input: { name: 'alpha' } }, admin);
    expect(taken.data?.updateOrganization.userErrors).toEqual([{ field: ['name'], code: 'NAME_TAKEN' }]);
    expect(errorCode(await gw.gql(UPDATE_ORG, { id: orgA, input: { displayName: 'Mine now' } }, desk))).toBe('FORBIDDEN');
  });
});

describe('invitations', () => {
  const ACCEPT = 'mutation($ticket: String!) { acceptInvitation(input: { ticket: $ticket }) { membership { roles invitedEmail organization { name } } userErrors { code } } }';

  async function invite(email: string, token = admin, org = orgA): Promise<string> {
    const res = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(INVITE, { org, email }, token);
    expect(res.errors).toBeUndefined();
    return res.data?.createInvitation.invitation.ticket as string;
  }

  it('a tenant administrator gets the ticket; the invited user accepts it once; the email is then bound', async () => {
    const id = await user('invitee', []);
    await gw.gql(UPDATE, { id, input: { emailVerified: false } }, admin);
    const ticket = await invite('INVITEE@hd.example');
    expect(ticket).toMatch(/^[\w-]{40,}$/);
    const self = await gw.token(id);
    const accepted = await gw.gql<{ acceptInvitation: { membership: unknown; userErrors: unknown[] } }>(ACCEPT, { ticket }, self);
    expect(accepted.data?.acceptInvitation).toEqual({
      membership: { roles: ['MEMBER'], invitedEmail: 'INVITEE@hd.example', organization: { name: 'alpha' } },
      userErrors: [],
    });
    expect((await gw.gql<{ me: { emailVerified: boolean } }>('{ me { emailVerified } }', {}, self)).data?.me.emailVerified).toBe(true);
    const again = await gw.gql<{ acceptInvitation: { userErrors: { code: string }[] } }>(ACCEPT, { ticket }, self);
    expect(again.data?.acceptInvitation.userErrors).toEqual([{ code: 'TICKET_USED' }]);

    // The invited address must stay: not the user, not the help desk; a tenant administrator can.
    for (const token of [self, desk]) {
      const res = await gw.gql(UPDATE, { id, input: { email: 'elsewhere@hd.example' } }, token);
      expect(errorCode(res)).toBe('FIELD_NOT_EDITABLE');
      expect(res.errors?.[0]?.extensions?.fields).toEqual([{ field: 'EMAIL', reason: 'INVITATION_BOUND_EMAIL' }]);
    }
    const policies = await gw.gql<{ me: { fieldPolicies: { field: string; reason: string | null }[] } }>('{ me { fieldPolicies { field reason } } }', {}, self);
    expect(policies.data?.me.fieldPolicies.find((p) => p.field === 'EMAIL')?.reason).toBe('INVITATION_BOUND_EMAIL');
    const byAdmin = await gw.gql<{ updateUser: { userErrors: unknown[] } }>(UPDATE, { id, input: { email: 'moved@hd.example' } }, admin);
    expect(byAdmin.data?.updateUser.userErrors).toEqual([]);
  });

  it('refuses a ticket for another address, an unknown ticket, and an expired one', async () => {
    const other = await gw.token(await user('wrongperson', []));
    const ticket = await invite('someone.else@hd.example');
    expect((await gw.gql<{ acceptInvitation: { userErrors: { code: string }[] } }>(ACCEPT, { ticket }, other)).data?.acceptInvitation.userErrors).toEqual([
      { code: 'EMAIL_MISMATCH' },
    ]);
    expect((await gw.gql<{ acceptInvitation: { userErrors: { code: string }[] } }>(ACCEPT, { ticket: 'made-up' }, other)).data?.acceptInvitation.userErrors).toEqual([
      { code: 'TICKET_INVALID' },
    ]);
    const late = await user('late', []);
    const lateTicket = await invite('late@hd.example');
    // Time passes: the invitation's expiry is moved into the past in the database.
    await gw.database.query("UPDATE invitations SET expires_at = ? WHERE email = 'late@hd.example'", [new Date(Date.now() - 1000)]);
    const res = await gw.gql<{ acceptInvitation: { userErrors: { code: string }[] } }>(ACCEPT, { ticket: lateTicket }, await gw.token(late));
    expect(res.data?.acceptInvitation.userErrors).toEqual([{ code: 'TICKET_EXPIRED' }]);
  });

  it('ttlSeconds is bounded', async () => {
    const res = await gw.gql<{ createInvitation: { userErrors: { code: string }[] } }>(
      'mutation($org: ID!) { createInvitation(input: { organization: $org, email: "x@hd.example", ttlSeconds: 5 }) { invitation { id } userErrors { code } } }',
      { org: orgA },
      admin,
    );
    expect(res.data?.createInvitation.userErrors).toEqual([{ code: 'INVALID_TTL' }]);
  });
});
