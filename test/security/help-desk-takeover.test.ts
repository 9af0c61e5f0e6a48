// Rows 1 and 15 of the review (issue #13), the account takeover through the help desk:
// - a shared member (also in another organization) keeps their email and block out of one help
//   desk's reach (MEMBER_OF_ANOTHER_ORGANIZATION, shown in fieldPolicies and enforced);
// - a password reset requested by the help desk or the user goes only to a verified address
//   (EMAIL_NOT_VERIFIED), so setting an address one controls does not yield a reset ticket;
// - an email change by anyone but a tenant administrator notifies the old address (no ticket in it);
// - a block records who set it: the help desk cannot lift a tenant administrator's block
//   (BLOCKED_BY_TENANT_ADMIN), and still lifts its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, delivered, readAsAdmin, refused, type Tenant, UPDATE, update } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

const RESET = 'mutation($user: ID!) { createPasswordResetTicket(input: { user: $user }) { ticket userErrors { code message } } }';
const POLICIES = 'query($id: ID!) { user(id: $id) { fieldPolicies { field editable reason message } } }';

async function policies(token: string, id: string) {
  const res = await gw.gql<{ user: { fieldPolicies: { field: string; editable: boolean; reason: string | null; message: string | null }[] } }>(POLICIES, { id }, token);
  expect(res.errors).toBeUndefined();
  return Object.fromEntries((res.data?.user.fieldPolicies ?? []).map((p) => [p.field, p]));
}

describe('a member shared with another organization', () => {
  it('the help desk may not change their email (the takeover’s first step), nor block them', async () => {
    const bob = await tenant.user('bob', { orgs: [tenant.acme, tenant.globex] });
    const seen = await policies(tenant.desk, bob);
    for (const field of ['EMAIL', 'BLOCKED']) {
      expect(seen[field]).toMatchObject({ editable: false, reason: 'MEMBER_OF_ANOTHER_ORGANIZATION' });
      expect(seen[field]?.message).toMatch(/removeOrganizationMember/);
    }
    expect(seen.NAME).toMatchObject({ editable: true });
    const email = await gw.gql(UPDATE, { id: bob, input: { email: 'attacker@evil.example' } }, tenant.desk);
    expect(errorCode(email)).toBe('FIELD_NOT_EDITABLE');
    expect(refused(email)).toEqual([{ field: 'EMAIL', reason: 'MEMBER_OF_ANOTHER_ORGANIZATION' }]);
    const block = await gw.gql(UPDATE, { id: bob, input: { blocked: true } }, tenant.desk);
    expect(refused(block)).toEqual([{ field: 'BLOCKED', reason: 'MEMBER_OF_ANOTHER_ORGANIZATION' }]);
    expect(await readAsAdmin(gw, tenant.admin, bob, 'email blocked')).toEqual({ email: 'bob@sec.example', blocked: false });
    // The member themself is not shared with anyone: they change their own email.
    await update(gw, await gw.token(bob), bob, { email: 'bob@new.example' });
  });

  it('a help desk administering both organizations is not "another organization"', async () => {
    const admin2 = await tenant.user('desk2', { orgs: [] });
    for (const org of [tenant.acme, tenant.globex]) {
      await gw.gql('mutation($o: ID!, $u: ID!) { addOrganizationMember(input: { organization: $o, user: $u, roles: [ADMIN] }) { userErrors { code } } }', { o: org, u: admin2 }, tenant.admin);
    }
    const cleo = await tenant.user('cleo', { orgs: [tenant.acme, tenant.globex] });
    const seen = await policies(await gw.token(admin2), cleo);
    expect(seen.EMAIL).toMatchObject({ editable: true });
    expect(seen.BLOCKED).toMatchObject({ editable: true });
  });
});

describe('password reset tickets go only to a verified address', () => {
  it('after the help desk sets a new address, no reset is mailed to it; the old address is told', async () => {
    const amy = await tenant.user('amy', { orgs: [tenant.acme] });
    await update(gw, tenant.desk, amy, { email: 'attacker@evil.example' });
    const res = await gw.gql<{ createPasswordResetTicket: { ticket: null; userErrors: { code: string; message: string }[] } }>(RESET, { user: amy }, tenant.desk);
    expect(res.data?.createPasswordResetTicket.userErrors.map((e) => e.code)).toEqual(['EMAIL_NOT_VERIFIED']);
    expect(res.data?.createPasswordResetTicket.userErrors[0]?.message).toMatch(/verify it first/);
    const mail = await delivered(gw);
    expect(mail.filter((m) => m.to === 'attacker@evil.example' && /password/i.test(m.subject))).toEqual([]);
    const notice = mail.filter((m) => m.to === 'amy@sec.example');
    expect(notice).toHaveLength(1);
    expect(notice[0]?.body).toMatch(/help desk/);
    expect(notice[0]?.body).not.toMatch(/ticket/i);
    // The user's own request for an unverified address is refused too.
    const self = await gw.gql<{ createPasswordResetTicket: { userErrors: { code: string }[] } }>(RESET, { user: amy }, await gw.token(amy));
    expect(self.data?.createPasswordResetTicket.userErrors.map((e) => e.code)).toEqual(['EMAIL_NOT_VERIFIED']);
  });

  it('a verified address still gets its ticket; a tenant administrator still gets one in the response', async () => {
    const ben = await tenant.user('ben', { orgs: [tenant.acme] });
    const desk = await gw.gql<{ createPasswordResetTicket: { ticket: null; userErrors: unknown[] } }>(RESET, { user: ben }, tenant.desk);
    expect(desk.data?.createPasswordResetTicket).toEqual({ ticket: null, userErrors: [] });
    const unverified = await tenant.user('una', { orgs: [tenant.acme], emailVerified: false });
    const admin = await gw.gql<{ createPasswordResetTicket: { ticket: string; userErrors: unknown[] } }>(RESET, { user: unverified }, tenant.admin);
    expect(admin.data?.createPasswordResetTicket.userErrors).toEqual([]);
    expect(admin.data?.createPasswordResetTicket.ticket).toBeTruthy();
  });

  it('a tenant administrator’s email change sends no notice to the old address', async () => {
    const dan = await tenant.user('dan', { orgs: [tenant.acme] });
    await update(gw, tenant.admin, dan, { email: 'dan@new.example' });
    expect((await delivered(gw)).filter((m) => m.to === 'dan@sec.example')).toEqual([]);
  });
});

describe('a block records who set it', () => {
  it('the help desk cannot lift a tenant administrator’s block', async () => {
    const eve = await tenant.user('eve', { orgs: [tenant.acme] });
    await update(gw, tenant.admin, eve, { blocked: true });
    const seen = await policies(tenant.desk, eve);
    expect(seen.BLOCKED).toMatchObject({ editable: false, reason: 'BLOCKED_BY_TENANT_ADMIN' });
    const lift = await gw.gql(UPDATE, { id: eve, input: { blocked: false } }, tenant.desk);
    expect(refused(lift)).toEqual([{ field: 'BLOCKED', reason: 'BLOCKED_BY_TENANT_ADMIN' }]);
    expect(await readAsAdmin(gw, tenant.admin, eve, 'blocked')).toEqual({ blocked: true });
  });

  it('the help desk lifts a block it set; once lifted, a later tenant-admin block is again out of its reach', async () => {
    const fay = await tenant.user('fay', { orgs: [tenant.acme] });
    await update(gw, tenant.desk, fay, { blocked: true });
    expect((await policies(tenant.desk, fay)).BLOCKED).toMatchObject({ editable: true });
    await update(gw, tenant.desk, fay, { blocked: false });
    await update(gw, tenant.admin, fay, { blocked: true });
    expect((await policies(tenant.desk, fay)).BLOCKED).toMatchObject({ editable: false, reason: 'BLOCKED_BY_TENANT_ADMIN' });
  });
});
