// Row 8 of the review (issue #13): a token issued before its sub was deleted stays refused, even
// after an import gives a new user that id; the new user's own tokens (issued after) work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildTenant, type Tenant } from './setup.js';

let gw: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await buildTenant(gw);
});
afterAll(async () => {
  await gw?.close();
});

async function importUser(userId: string, email: string): Promise<void> {
  const res = await gw.gql<{ importUsers: { inserted: number; errors: unknown[] } }>(
    'mutation($input: ImportUsersInput!) { importUsers(input: $input) { inserted errors { index code message } } }',
    { input: { connection: tenant.connection, users: [{ user_id: userId, email, email_verified: true }] } },
    tenant.admin,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.importUsers).toEqual({ inserted: 1, errors: [] });
}

const me = (token: string) => gw.gql<{ me: { id: string; email: string } | null }>('{ me { id email } }', {}, token);

describe('a deleted id reused by an import', () => {
  it("does not revive the deleted user's old token", async () => {
    await importUser('reborn-1', 'first-bearer@sec.example');
    const id = 'auth0|reborn-1';
    const oldToken = await gw.token(id);
    expect((await me(oldToken)).data?.me?.id).toBe(id);

    const deleted = await gw.gql<{ deleteUser: { deletedUserId: string } }>('mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }', { id }, tenant.admin);
    expect(deleted.data?.deleteUser.deletedUserId).toBe(id);
    expect(errorCode(await me(oldToken))).toBe('UNAUTHENTICATED');

    // iat has one-second precision: a token of the second of the erasure counts as before it.
    await new Promise((r) => setTimeout(r, 1100));
    await importUser('reborn-1', 'second-bearer@sec.example');
    const stale = await me(oldToken);
    expect(errorCode(stale)).toBe('UNAUTHENTICATED');
    expect(stale.data?.me ?? null).toBeNull();

    const fresh = await me(await gw.token(id));
    expect(fresh.errors).toBeUndefined();
    expect(fresh.data?.me).toEqual({ id, email: 'second-bearer@sec.example' });
  });
});
