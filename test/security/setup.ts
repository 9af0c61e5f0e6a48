// What the attack tests in this folder share: a tenant built through the public API (an own-store
// connection, organizations acme and globex, a help desk of acme) and small GraphQL helpers.
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import type { GqlResponse, TestGateway } from '../helpers/gateway.js';
import { addMember, adminToken, createConnection, createOrganization, createUser } from '../helpers/tenant.js';

export const PASSWORD = 'first-password-1';

export interface Tenant {
  admin: string;
  connection: string;
  acme: string;
  globex: string;
  /** acme's help desk (an ADMIN of acme), its id and token. */
  deskId: string;
  desk: string;
  /** A user of the tenant's connection, optionally a member of organizations. */
  user(name: string, opts?: { orgs?: string[]; emailVerified?: boolean; phoneNumber?: string }): Promise<string>;
}

export async function buildTenant(gw: TestGateway, connection = 'sec-db'): Promise<Tenant> {
  const admin = await adminToken(gw);
  await createConnection(gw, admin, { name: connection, kind: 'DATABASE' });
  const acme = await createOrganization(gw, admin, { name: 'acme' });
  const globex = await createOrganization(gw, admin, { name: 'globex' });
  const user: Tenant['user'] = async (name, opts = {}) => {
    const id = await createUser(gw, admin, {
      connection,
      email: `${name}@sec.example`,
      emailVerified: opts.emailVerified ?? true,
      password: PASSWORD,
      name,
      ...(opts.phoneNumber ? { phoneNumber: opts.phoneNumber } : {}),
    });
    for (const org of opts.orgs ?? []) await addMember(gw, admin, org, id);
    return id;
  };
  const deskId = await user('desk');
  await addMember(gw, admin, acme, deskId, ['ADMIN']);
  return { admin, connection, acme, globex, deskId, desk: await gw.token(deskId), user };
}

/** A token with arbitrary claims, signed as the gateway's tokens are (issuer and audience included). */
export async function tokenWithClaims(gw: TestGateway, sub: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('600s')
    .setIssuer('https://issuer.test/')
    .setAudience('profile-gateway')
    .sign(new TextEncoder().encode(gw.secret));
}

export const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { user { id version } userErrors { field code message } }
}`;

export type UserErrors = { field: string[] | null; code: string; message: string }[];

/** updateUser that must succeed; returns the payload's user. */
export async function update(gw: TestGateway, token: string, id: string, input: Record<string, unknown>) {
  const res = await gw.gql<{ updateUser: { user: { id: string; version: number }; userErrors: UserErrors } }>(UPDATE, { id, input }, token);
  expect(res.errors).toBeUndefined();
  expect(res.data?.updateUser.userErrors).toEqual([]);
  return res.data?.updateUser.user;
}

/** The `extensions.fields` of a FIELD_NOT_EDITABLE answer (or undefined when the update went through). */
export function refused(res: GqlResponse<unknown>): { field: string; reason: string }[] | undefined {
  return res.errors?.[0]?.extensions?.fields as { field: string; reason: string }[] | undefined;
}

/** A user as a tenant administrator reads it. */
export async function readAsAdmin<T = Record<string, unknown>>(gw: TestGateway, admin: string, id: string, fields: string): Promise<T> {
  const res = await gw.gql<{ user: T }>(`query($id: ID!) { user(id: $id) { ${fields} } }`, { id }, admin);
  expect(res.errors).toBeUndefined();
  return res.data?.user as T;
}

/** The outbox's messages, as the file transport delivered them. */
export async function delivered(gw: TestGateway): Promise<{ to: string; subject: string; body: string }[]> {
  await gw.runtime.outbox.drain();
  const { readFileSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const file = join(gw.dir, 'outbox.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { to: string; subject: string; body: string });
}

/** The ticket in a delivered message's text. */
export function ticketIn(text: string): string {
  const match = /ticket: (\S+)/.exec(text);
  if (!match?.[1]) throw new Error(`no ticket in: ${text}`);
  return match[1];
}
