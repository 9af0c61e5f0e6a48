// Row 9 of the review (issue #13): a user's deleteMe keeps the audit events others wrote about them
// (a help desk's takeover leaves its trace), under a pseudonym that is keyed: knowing the user id
// does not give it (it is not the unkeyed SHA-256 the review recomputed).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, type Tenant, update } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

type Event = { actorId: string; operation: string; targetUserId: string | null; fields: string[] };
async function events(filter: Record<string, unknown>): Promise<Event[]> {
  const res = await gw.gql<{ auditEvents: { edges: { node: Event }[] } }>(
    'query($f: AuditEventFilter) { auditEvents(first: 100, filter: $f) { edges { node { actorId operation targetUserId fields } } } }',
    { f: filter },
    await gw.token('auditor', 'read:audit'),
  );
  expect(res.errors).toBeUndefined();
  return res.data?.auditEvents.edges.map((e) => e.node) ?? [];
}

describe('erasure and the audit log', () => {
  it("keeps others' events about the erased user, under a keyed pseudonym", async () => {
    const id = await tenant.user('victim', { orgs: [tenant.acme] });
    // The help desk's changes (what the review's takeover did) and the user's own one.
    await update(gw, tenant.desk, id, { name: 'Renamed By Desk' });
    await update(gw, tenant.desk, id, { nickname: 'desk-was-here' });
    await update(gw, await gw.token(id), id, { givenName: 'Own' });
    const before = await events({ userId: id });
    const byOthers = before.filter((e) => e.actorId !== id);
    expect(byOthers.map((e) => e.operation)).toEqual(['updateUser', 'updateUser', 'addOrganizationMember', 'createUser']);

    const res = await gw.gql<{ deleteMe: { deletedUserId: string } }>('mutation { deleteMe { deletedUserId } }', {}, await gw.token(id));
    expect(res.data?.deleteMe.deletedUserId).toBe(id);

    expect(await events({ userId: id })).toEqual([]);
    const [deletion] = await events({});
    expect(deletion?.operation).toBe('deleteMe');
    const pseudonym = deletion?.targetUserId as string;
    expect(pseudonym).toMatch(/^deleted-user:[0-9a-f]{32}$/);
    // Keyed: not derivable from the id alone.
    const unkeyed = createHash('sha256').update(`deleted-user:${id}`).digest('hex').slice(0, 32);
    expect(pseudonym).not.toBe(`deleted-user:${unkeyed}`);
    // The help desk's events stay, about the pseudonym; the user's own event about themself goes.
    const after = await events({ userId: pseudonym });
    expect(after.map((e) => [e.operation, e.actorId])).toEqual([
      ['deleteMe', pseudonym],
      ...byOthers.map((e) => [e.operation, e.actorId]),
    ]);
    expect(after.slice(1).map((e) => e.fields)).toEqual(byOthers.map((e) => e.fields));
  });
});
