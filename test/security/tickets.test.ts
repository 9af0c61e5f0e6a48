// Rows 4 and 6 of the review (issue #13):
// - a password reset ticket is bound to the email at issue: two tickets issued before an email
//   change are both refused after it (EMAIL_MISMATCH); a password change voids the user's other
//   outstanding reset tickets;
// - a redemption re-checks, inside the write transaction, what it was checked against: an email
//   change that lands while verifyEmail (or acceptInvitation) waits on a slow legacy script does
//   not end verified (or accepted) for the new address.
// And, from the review of the PostgreSQL store: giving a claimed ticket back (its effect failed)
// releases that claim only, never a later redemption's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hashTicket } from '../../src/app/tickets.js';
import { createConnection } from '../helpers/tenant.js';
import { buildTenant, readAsAdmin, type Tenant, update } from './setup.js';

// A legacy database whose changeEmail is slow when it marks an address verified: the window in
// which a concurrent email change lands.
const SLOW = `
const state = (globalThis.__slowVerify ??= { delayMs: 0 });
export async function login(identifier, password) {
  if (password !== 'legacy-pass-123') return null;
  return { user_id: identifier.split('@')[0], email: identifier, email_verified: false };
}
export async function getUser() { return null; }
export async function changeEmail(_identifier, _email, verified) {
  if (verified && state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
  return true;
}
`;
const slow = () => (globalThis as unknown as { __slowVerify: { delayMs: number } }).__slowVerify;

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  const scripts = mkdtempSync(join(tmpdir(), 'security-scripts-'));
  writeFileSync(join(scripts, 'slow-verify.mjs'), SLOW);
  (globalThis as unknown as { __slowVerify: { delayMs: number } }).__slowVerify = { delayMs: 0 };
  gw = await startTestGateway({ env: { CUSTOM_DB_SCRIPTS_DIR: scripts } });
  tenant = await buildTenant(gw);
  await createConnection(gw, tenant.admin, { name: 'slow-legacy', kind: 'DATABASE', customDatabase: true, customScripts: 'slow-verify' });
});
afterAll(async () => {
  await gw?.close();
});

const RESET_TICKET = 'mutation($u: ID!) { createPasswordResetTicket(input: { user: $u }) { ticket userErrors { code } } }';
const RESET = 'mutation($t: String!, $p: String!) { resetPassword(input: { ticket: $t, password: $p }) { user { id } userErrors { code } } }';
const VERIFY_TICKET = 'mutation($u: ID!) { createEmailVerificationTicket(input: { user: $u }) { ticket } }';
const VERIFY = 'mutation($t: String!) { verifyEmail(input: { ticket: $t }) { user { id } userErrors { code } } }';

async function resetTicket(user: string): Promise<string> {
  const res = await gw.gql<{ createPasswordResetTicket: { ticket: string } }>(RESET_TICKET, { u: user }, tenant.admin);
  return res.data?.createPasswordResetTicket.ticket as string;
}
async function reset(ticket: string, password: string): Promise<string[]> {
  const res = await gw.gql<{ resetPassword: { userErrors: { code: string }[] } }>(RESET, { t: ticket, p: password });
  expect(res.errors).toBeUndefined();
  return res.data?.resetPassword.userErrors.map((e) => e.code) ?? [];
}

describe('password reset tickets', () => {
  it('issued before an email change, neither works after it', async () => {
    const id = await tenant.user('rhea');
    const [one, two] = [await resetTicket(id), await resetTicket(id)];
    await update(gw, tenant.admin, id, { email: 'rhea@elsewhere.example' });
    expect(await reset(one, 'taken-over-pass-1')).toEqual(['EMAIL_MISMATCH']);
    expect(await reset(two, 'taken-over-pass-2')).toEqual(['EMAIL_MISMATCH']);
  });

  it('a password change voids the other outstanding tickets', async () => {
    const id = await tenant.user('saul');
    const [one, two, three] = [await resetTicket(id), await resetTicket(id), await resetTicket(id)];
    expect(await reset(one, 'new-password-one')).toEqual([]);
    expect(await reset(two, 'new-password-two')).toEqual(['TICKET_USED']);
    // A tenant administrator's password write voids them too.
    const four = await resetTicket(id);
    await update(gw, tenant.admin, id, { password: 'admin-set-pass-1' });
    expect(await reset(four, 'new-password-four')).toEqual(['TICKET_USED']);
    expect(await reset(three, 'new-password-three')).toEqual(['TICKET_USED']);
  });
});

async function legacyUser(email: string): Promise<string> {
  const login = await gw.token('login-server', 'login:users');
  const res = await gw.gql<{ authenticate: { user: { id: string } } }>(
    'mutation($i: AuthenticateInput!) { authenticate(input: $i) { user { id } userErrors { code } } }',
    { i: { connection: 'slow-legacy', identifier: email, password: 'legacy-pass-123' } },
    login,
  );
  return res.data?.authenticate.user.id as string;
}

describe('redemptions re-check inside the write', () => {
  it('verifyEmail racing an email change does not verify the new address', async () => {
    const id = await legacyUser('tess@legacy.example');
    const ticket = (await gw.gql<{ createEmailVerificationTicket: { ticket: string } }>(VERIFY_TICKET, { u: id }, tenant.admin)).data
      ?.createEmailVerificationTicket.ticket as string;
    slow().delayMs = 600;
    try {
      const verifying = gw.gql<{ verifyEmail: { userErrors: { code: string }[] } }>(VERIFY, { t: ticket });
      await new Promise((r) => setTimeout(r, 150));
      await update(gw, tenant.admin, id, { email: 'tess@attacker.example' });
      const res = await verifying;
      expect(res.data?.verifyEmail.userErrors.map((e) => e.code)).toEqual(['EMAIL_MISMATCH']);
    } finally {
      slow().delayMs = 0;
    }
    expect(await readAsAdmin(gw, tenant.admin, id, 'email emailVerified')).toEqual({ email: 'tess@attacker.example', emailVerified: false });
  });

  it('acceptInvitation racing an email change does not accept it', async () => {
    const id = await legacyUser('uri@legacy.example');
    const invited = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($o: ID!) { createInvitation(input: { organization: $o, email: "uri@legacy.example" }) { invitation { ticket } } }',
      { o: tenant.acme },
      tenant.admin,
    );
    slow().delayMs = 600;
    try {
      const accepting = gw.gql<{ acceptInvitation: { membership: unknown; userErrors: { code: string }[] } }>(
        'mutation($t: String!) { acceptInvitation(input: { ticket: $t }) { membership { roles } userErrors { code } } }',
        { t: invited.data?.createInvitation.invitation.ticket },
        await gw.token(id),
      );
      await new Promise((r) => setTimeout(r, 150));
      await update(gw, tenant.admin, id, { email: 'uri@attacker.example' });
      const res = await accepting;
      expect(res.data?.acceptInvitation).toEqual({ membership: null, userErrors: [{ code: 'EMAIL_MISMATCH' }] });
    } finally {
      slow().delayMs = 0;
    }
    expect(await readAsAdmin(gw, tenant.admin, id, 'emailVerified organizations { roles }')).toEqual({ emailVerified: false, organizations: [] });
  });
});

describe('giving a claimed ticket back', () => {
  // A redemption claims the ticket, and gives it back when its effect fails (a legacy script
  // refusing, say). The give-back names its own claim: a late or repeated one cannot make a ticket
  // that another redemption has used since usable again.
  it('gives back only the claim it made: a stale release leaves a ticket redeemed since then used', async () => {
    const id = await tenant.user('thea');
    const ticket = await resetTicket(id);
    const store = gw.runtime.store;
    const version = async () => ((await store.users.byIds([id]))[0] as { version: number }).version;
    const first = await store.tickets.claim('password_reset', hashTicket(ticket), new Date());
    if (!first.ok) throw new Error(`claim refused: ${first.problem}`);
    // That redemption's effect failed: it gives the ticket back, and the ticket works again.
    await store.tickets.release(first.ticket.id, first.ticket.usedAt, await version());
    await new Promise((r) => setTimeout(r, 5));
    expect(await reset(ticket, 'second-holder-pass-1')).toEqual([]);
    // The first redemption's give-back again (late, repeated; even naming the user as it is now): the ticket stays used.
    await store.tickets.release(first.ticket.id, first.ticket.usedAt, await version());
    expect(await reset(ticket, 'third-holder-pass-1')).toEqual(['TICKET_USED']);
  });

  it('does not give back a reset ticket after the password changed meanwhile (the change voided it)', async () => {
    const id = await tenant.user('theo');
    const ticket = await resetTicket(id);
    const store = gw.runtime.store;
    const before = ((await store.users.byIds([id]))[0] as { version: number }).version;
    // A stolen ticket is claimed; while its effect runs (and fails), the password is changed.
    const claimed = await store.tickets.claim('password_reset', hashTicket(ticket), new Date());
    if (!claimed.ok) throw new Error(`claim refused: ${claimed.problem}`);
    const changed = await gw.gql<{ updateUser: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { updateUser(id: $id, input: { password: "the-users-new-pass-1" }) { userErrors { code } } }',
      { id },
      tenant.admin,
    );
    expect(changed.data?.updateUser.userErrors).toEqual([]);
    await store.tickets.release(claimed.ticket.id, claimed.ticket.usedAt, before);
    expect(await reset(ticket, 'attacker-pass-1')).toEqual(['TICKET_USED']);
  });
});
