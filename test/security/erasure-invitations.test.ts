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

describe('erasure compares addresses as the domain does (normalizeEmail), on both stores', () => {
  it('cancels the invitations and messages to the erased address in any ASCII case or Unicode composition, and none to another address', async () => {
    const invite = async (email: string) => {
      const res = await gw.gql<{ createInvitation: { invitation: { ticket: string } | null; userErrors: unknown[] } }>(
        'mutation($o: ID!, $e: String!) { createInvitation(input: { organization: $o, email: $e }) { invitation { ticket } userErrors { code } } }',
        { o: tenant.acme, e: email },
        // The organization's administrator: the invitation is mailed (a row of the outbox to the address).
        tenant.desk,
      );
      expect(res.data?.createInvitation.userErrors).toEqual([]);
    };
    // "é" and its upper-case "É" are two addresses to the domain (only ASCII letters fold); a Hangul
    // syllable and its two conjoining jamo are one (NFC).
    // createUser's EmailAddress is ASCII only; an import (as an identity provider's login) takes any address.
    const imported = await gw.gql<{ importUsers: { inserted: number; errors: unknown[] } }>(
      'mutation($input: ImportUsersInput!) { importUsers(input: $input) { inserted errors { index code message } } }',
      { input: { connection: tenant.connection, users: [{ user_id: 'emile-lower', email: '\u00e9mile.\uac00@fold.example', email_verified: true }, { user_id: 'emile-upper', email: '\u00c9MILE@upper.example', email_verified: true }] } },
      tenant.admin,
    );
    expect(imported.data?.importUsers).toEqual({ inserted: 2, errors: [] });
    const ids = (await gw.database.query<{ id: string }>("SELECT id FROM users WHERE id LIKE '%emile-%' ORDER BY id")).map((r) => r.id);
    expect(ids).toHaveLength(2);
    const [lower, upper] = ids as [string, string];
    const same = ['\u00e9mile.\u1100\u1161@fold.example', '\u00e9mile.\uac00@FOLD.example', '\u00c9MILE@UPPER.EXAMPLE', '\u00c9mile@upper.example'];
    const others = ['\u00c9MILE.\uac00@fold.example', '\u00c9mile.\uac00@fold.example', '\u00e9mile@upper.example', '\u00e9MILE@upper.example'];
    for (const email of [...same, ...others]) await invite(email);

    for (const id of [lower, upper]) {
      const res = await gw.gql<{ deleteUser: { deletedUserId: string } }>('mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }', { id }, tenant.admin);
      expect(res.data?.deleteUser.deletedUserId).toBe(id);
    }
    const addresses = (rows: { a: string }[]) => rows.map((r) => r.a).filter((a) => /@(fold|upper)\.example$/i.test(a)).sort();
    expect(addresses(await gw.database.query<{ a: string }>('SELECT email AS a FROM invitations WHERE accepted_at IS NULL'))).toEqual([...others].sort());
    expect(addresses(await gw.database.query<{ a: string }>('SELECT to_address AS a FROM outbox WHERE user_id IS NULL'))).toEqual([...others].sort());
  });
});
