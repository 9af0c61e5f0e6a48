// Row 3 of the review (issue #13): a changed phoneNumber is unverified unless a tenant administrator
// sets phoneVerified in the same update: the help desk changing a member's phone, a user changing
// their own, and an sms passwordless user (whose phone is the identifier) all end unverified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createConnection } from '../helpers/tenant.js';
import { buildTenant, readAsAdmin, type Tenant, update } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  await createConnection(gw, tenant.admin, { name: 'sms', kind: 'PASSWORDLESS', strategy: 'sms' });
});
afterAll(async () => {
  await gw?.close();
});

async function verifiedPhone(name: string, orgs: string[] = []): Promise<string> {
  const id = await tenant.user(name, { orgs, phoneNumber: '+14155550100' });
  await update(gw, tenant.admin, id, { phoneVerified: true });
  return id;
}

const phone = (id: string) => readAsAdmin<{ phoneNumber: string; phoneVerified: boolean }>(gw, tenant.admin, id, 'phoneNumber phoneVerified');

describe('a changed phone number is unverified', () => {
  it('when the help desk changes a member’s phone', async () => {
    const id = await verifiedPhone('hana', [tenant.acme]);
    await update(gw, tenant.desk, id, { phoneNumber: '+14155550111' });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550111', phoneVerified: false });
  });

  it('when the user changes their own phone', async () => {
    const id = await verifiedPhone('ivo');
    await update(gw, await gw.token(id), id, { phoneNumber: '+14155550122' });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550122', phoneVerified: false });
  });

  it('when an sms passwordless user changes the phone they sign in with', async () => {
    const login = await gw.token('login-server', 'login:users');
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } userErrors { code } } }',
      { input: { connection: 'sms', profile: { user_id: 'sms-1', phone_number: '+14155550133', phone_verified: true } } },
      login,
    );
    const id = res.data?.recordLogin.user.id as string;
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550133', phoneVerified: true });
    await update(gw, await gw.token(id), id, { phoneNumber: '+14155550144' });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550144', phoneVerified: false });
  });

  it('when a tenant administrator changes it without saying otherwise; verified when the same update says so', async () => {
    const id = await verifiedPhone('jo');
    await update(gw, tenant.admin, id, { phoneNumber: '+14155550155' });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550155', phoneVerified: false });
    await update(gw, tenant.admin, id, { phoneNumber: '+14155550166', phoneVerified: true });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550166', phoneVerified: true });
  });

  it('setting the same number again keeps it verified (no change, no reset)', async () => {
    const id = await verifiedPhone('kai');
    await update(gw, await gw.token(id), id, { phoneNumber: '+14155550100' });
    expect(await phone(id)).toEqual({ phoneNumber: '+14155550100', phoneVerified: true });
  });
});
