// Row 13 of the review (issue #13): an `org_id` claim that is present but not a single organization
// id (an array, an empty string, a number, null) refuses the token instead of being ignored, which
// widened the help desk to every organization it administers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { addMember } from '../helpers/tenant.js';
import { buildTenant, type Tenant, tokenWithClaims } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;
let member: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  // The help desk administers both organizations; the member is only in globex.
  await addMember(gw, tenant.admin, tenant.globex, tenant.deskId, ['ADMIN']);
  member = await tenant.user('gina', { orgs: [tenant.globex] });
});
afterAll(async () => {
  await gw?.close();
});

const READ = 'query($id: ID!) { user(id: $id) { id name } }';

describe('a malformed org_id claim', () => {
  it('narrowed to acme, the help desk does not read a globex member (the claim works as a narrowing)', async () => {
    const token = await tokenWithClaims(gw, tenant.deskId, { org_id: tenant.acme });
    const res = await gw.gql<{ user: unknown }>(READ, { id: member }, token);
    expect(res.errors).toBeUndefined();
    expect(res.data?.user).toBeNull();
  });

  it.each([
    ['an array', (t: Tenant) => [t.acme]],
    ['an array of two', (t: Tenant) => [t.acme, t.globex]],
    ['an empty string', () => ''],
    ['a number', () => 7],
    ['null', () => null],
    ['an object', (t: Tenant) => ({ id: t.acme })],
  ])('%s refuses the token (UNAUTHENTICATED) rather than widening it', async (_what, claim) => {
    const token = await tokenWithClaims(gw, tenant.deskId, { org_id: claim(tenant) });
    const res = await gw.gql<{ user: unknown }>(READ, { id: member }, token);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.data?.user ?? null).toBeNull();
  });
});
