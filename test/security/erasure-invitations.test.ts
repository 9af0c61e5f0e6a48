// Row 10 of the review (issue #13): a user cannot cancel someone else's pending invitation by
// setting its (unverified) address on their profile and deleting themself; the invitee can still accept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createUser } from '../helpers/tenant.js';
import { buildTenant, readAsAdmin, type Tenant, update } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

describe('erasure and pending invitations', () => {
  it('an unverified address on the erased profile does not cancel an invitation to it', async () => {
    const invited = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(
      'mutation($o: ID!) { createInvitation(input: { organization: $o, email: "invitee@sec.example" }) { invitation { ticket } } }',
      { o: tenant.acme },
      tenant.admin,
    );
    const ticket = invited.data?.createInvitation.invitation.ticket as string;
    expect(ticket).toBeTruthy();

    const attacker = await tenant.user('canceller');
    const own = await gw.token(attacker);
    await update(gw, own, attacker, { email: 'invitee@sec.example' });
    expect(await readAsAdmin(gw, tenant.admin, attacker, 'email emailVerified')).toEqual({ email: 'invitee@sec.example', emailVerified: false });
    const deleted = await gw.gql<{ deleteMe: { deletedUserId: string } }>('mutation { deleteMe { deletedUserId } }', {}, own);
    expect(deleted.data?.deleteMe.deletedUserId).toBe(attacker);

    const invitee = await createUser(gw, tenant.admin, { connection: tenant.connection, email: 'invitee@sec.example', emailVerified: true, password: 'invitee-pass-1' });
    const accepted = await gw.gql<{ acceptInvitation: { membership: { roles: string[] } | null; userErrors: { code: string }[] } }>(
      'mutation($t: String!) { acceptInvitation(input: { ticket: $t }) { membership { roles } userErrors { code } } }',
      { t: ticket },
      await gw.token(invitee),
    );
    expect(accepted.data?.acceptInvitation.userErrors).toEqual([]);
    expect(accepted.data?.acceptInvitation.membership).not.toBeNull();
  });
});
