// Row 7 of the review (issue #13): email addresses are compared after NFC normalization and
// case-insensitively on ASCII letters only, so an invitation to "\u212Aate@corp.example" (a Kelvin
// sign, which JavaScript lower-cases to "k") is not accepted by kate@corp.example, and does not
// mark her address verified; a plain ASCII case difference still matches.
// (User emails are ASCII here, as the EmailAddress scalar wants; NFC is covered in test/domain/validation.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createUser } from '../helpers/tenant.js';
import { buildTenant, readAsAdmin, type Tenant } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

const INVITE = `mutation($org: ID!, $email: String!) {
  createInvitation(input: { organization: $org, email: $email }) { invitation { ticket } userErrors { code } }
}`;
const ACCEPT = 'mutation($ticket: String!) { acceptInvitation(input: { ticket: $ticket }) { membership { roles } userErrors { code } } }';

async function invite(email: string): Promise<string> {
  const res = await gw.gql<{ createInvitation: { invitation: { ticket: string } } }>(INVITE, { org: tenant.acme, email }, tenant.admin);
  expect(res.errors).toBeUndefined();
  return res.data?.createInvitation.invitation.ticket as string;
}

async function kate(email: string): Promise<string> {
  return createUser(gw, tenant.admin, { connection: tenant.connection, email, password: 'kate-password-1' });
}

describe('email comparison', () => {
  it('an invitation to a Kelvin-sign address is not accepted by the ASCII k address', async () => {
    const id = await kate('kate@corp.example');
    const ticket = await invite('\u212Aate@corp.example');
    const res = await gw.gql<{ acceptInvitation: { membership: unknown; userErrors: { code: string }[] } }>(ACCEPT, { ticket }, await gw.token(id));
    expect(res.data?.acceptInvitation).toEqual({ membership: null, userErrors: [{ code: 'EMAIL_MISMATCH' }] });
    const user = await readAsAdmin<{ emailVerified: boolean; organizations: unknown[] }>(gw, tenant.admin, id, 'emailVerified organizations { roles }');
    expect(user).toEqual({ emailVerified: false, organizations: [] });
  });

  it('an ASCII case difference still matches', async () => {
    const id = await kate('Kim@Corp.Example');
    const res = await gw.gql<{ acceptInvitation: { userErrors: unknown[] } }>(ACCEPT, { ticket: await invite('kim@corp.example') }, await gw.token(id));
    expect(res.data?.acceptInvitation.userErrors).toEqual([]);
  });
});
