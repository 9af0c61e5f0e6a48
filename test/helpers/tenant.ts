// Builds tenants through the public API, as an administrator would.
import { expect } from 'vitest';
import { ADMIN_SCOPES, type TestGateway } from './gateway.js';

export async function adminToken(gw: TestGateway): Promise<string> {
  return gw.token('admin@tenant', ADMIN_SCOPES);
}

export async function createConnection(
  gw: TestGateway,
  token: string,
  input: Record<string, unknown>,
): Promise<string> {
  const res = await gw.gql<{
    createConnection: { connection: { id: string } | null; userErrors: unknown[] };
  }>(
    'mutation($input: CreateConnectionInput!) { createConnection(input: $input) { connection { id } userErrors { field code message } } }',
    { input },
    token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.createConnection.userErrors).toEqual([]);
  return res.data?.createConnection.connection?.id as string;
}

export async function createUser(
  gw: TestGateway,
  token: string,
  input: Record<string, unknown>,
): Promise<string> {
  const res = await gw.gql<{ createUser: { user: { id: string } | null; userErrors: unknown[] } }>(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code message } } }',
    { input },
    token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.createUser.userErrors).toEqual([]);
  return res.data?.createUser.user?.id as string;
}

export async function createOrganization(
  gw: TestGateway,
  token: string,
  input: Record<string, unknown>,
): Promise<string> {
  const res = await gw.gql<{
    createOrganization: { organization: { id: string } | null; userErrors: unknown[] };
  }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { field code message } } }',
    { input },
    token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.createOrganization.userErrors).toEqual([]);
  return res.data?.createOrganization.organization?.id as string;
}

export async function addMember(
  gw: TestGateway,
  token: string,
  organization: string,
  user: string,
  roles: string[] = ['MEMBER'],
): Promise<void> {
  const res = await gw.gql<{ addOrganizationMember: { userErrors: unknown[] } }>(
    'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { roles } userErrors { field code message } } }',
    { input: { organization, user, roles } },
    token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.addOrganizationMember.userErrors).toEqual([]);
}
