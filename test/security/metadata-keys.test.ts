// Row 14 of the review (issue #13): metadata keys `__proto__`, `constructor` and `prototype` are
// refused at any depth, in both metadata objects (a client doing Object.assign would be at risk);
// appMetadata's reserved names are compared case-insensitively after trimming ("Blocked",
// "email "). The request body is raw JSON, so `__proto__` arrives as an own key, as an attacker sends it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, readAsAdmin, type Tenant, UPDATE, type UserErrors } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;
let victim: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
  victim = await tenant.user('mo');
});
afterAll(async () => {
  await gw?.close();
});

/** updateUser with the variables written as raw JSON text (JSON.stringify would drop nothing, but be explicit). */
async function rawUpdate(inputJson: string, id = victim) {
  const body = `{"query": ${JSON.stringify(UPDATE)}, "variables": {"id": ${JSON.stringify(id)}, "input": ${inputJson}}}`;
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.admin}` },
    body,
  });
  return (await res.json()) as { data?: { updateUser: { user: unknown; userErrors: UserErrors } }; errors?: unknown[] };
}

describe('metadata keys that are refused', () => {
  it.each([
    ['userMetadata', '{"__proto__": {"isAdmin": true}}'],
    ['userMetadata', '{"constructor": {"prototype": {"x": 1}}}'],
    ['userMetadata', '{"prototype": 1}'],
    ['userMetadata', '{"deep": {"nested": [{"__proto__": {"polluted": true}}]}}'],
    ['appMetadata', '{"__proto__": {"roles": ["admin"]}}'],
    ['appMetadata', '{"settings": {"constructor": 1}}'],
  ])('%s %s is INVALID_METADATA_KEY and nothing is stored', async (field, value) => {
    const res = await rawUpdate(`{"${field}": ${value}}`);
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateUser.user).toBeNull();
    expect(res.data?.updateUser.userErrors.map((e) => e.code)).toContain('INVALID_METADATA_KEY');
    const stored = await readAsAdmin<{ userMetadata: object; appMetadata: object }>(gw, tenant.admin, victim, 'userMetadata appMetadata');
    expect(JSON.stringify(stored)).not.toMatch(/__proto__|constructor|prototype|polluted/);
  });

  it.each(['Blocked', 'EMAIL', 'email ', ' user_id', 'Email_Verified', 'clientid', 'GLOBALCLIENTID'])(
    'appMetadata key %j is a reserved name (RESERVED_METADATA_KEY)',
    async (key) => {
      const res = await rawUpdate(`{"appMetadata": {${JSON.stringify(key)}: true}}`);
      expect(res.data?.updateUser.user).toBeNull();
      expect(res.data?.updateUser.userErrors.map((e) => e.code)).toEqual(['RESERVED_METADATA_KEY']);
    },
  );

  it('ordinary keys are still stored (the check refuses only what it should)', async () => {
    const fresh = await tenant.user('flo');
    const res = await rawUpdate('{"appMetadata": {"plan": "gold", "blockedReason": "none"}, "userMetadata": {"proto": 1, "constructors": 2}}', fresh);
    expect(res.data?.updateUser.userErrors).toEqual([]);
    const stored = await readAsAdmin<{ userMetadata: object; appMetadata: object }>(gw, tenant.admin, fresh, 'userMetadata appMetadata');
    expect(stored).toEqual({ userMetadata: { proto: 1, constructors: 2 }, appMetadata: { plan: 'gold', blockedReason: 'none' } });
  });
});
