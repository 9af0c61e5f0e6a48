// The benchmark's operations: the same documents over HTTP (autocannon) and in-process (execute()).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sealCursor, usersList } from '../../src/graphql/pagination.js';
import { cursorKeyOf } from '../../src/store/sqlite/shared.js';

/** Scenario 1: one profile, every field, with its identities, organizations and fieldPolicies. */
export const PROFILE = `query Profile($id: ID!) {
  user(id: $id) {
    id version email emailVerified username phoneNumber phoneVerified
    name nickname givenName familyName picture userMetadata appMetadata
    blocked migrated createdAt updatedAt lastLogin lastIp loginsCount profileSyncedAt
    connection { id name kind strategy customDatabase importMode syncUserRootAttributes }
    identities { connection provider userId isSocial profileData }
    organizations { roles invitedEmail joinedAt organization { id name displayName } }
    fieldPolicies { field editable reason message }
  }
}`;

/** Scenario 2: a page of 100 users with their connection, organizations and fieldPolicies. */
export const PAGE = `query Page($after: String) {
  users(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id email name blocked
        connection { name kind }
        organizations { roles organization { id name } }
        fieldPolicies { field editable reason message }
      }
    }
  }
}`;

/** Scenario 3: one user_metadata key of one user. */
export const UPDATE = `mutation Update($id: ID!, $metadata: JSONObject!) {
  updateUser(id: $id, input: { userMetadata: $metadata }) {
    user { id version userMetadata }
    userErrors { code message }
  }
}`;

/** Scenario 4: a Google login reported by the login server. */
export const LOGIN = `mutation Login($input: RecordLoginInput!) {
  recordLogin(input: $input) {
    user { id loginsCount lastLogin }
    userErrors { code message }
  }
}`;

/** Scenario 5: a search by a declared attribute of the own store (the bench declares `department`). */
export const SEARCH = `query Search($department: String!) {
  users(first: 20, filter: { connection: "Username-Password-Authentication", attributes: [{ key: "department", in: USER_METADATA, equals: $department }] }) {
    edges { node { id email userMetadata } }
  }
}`;

/** The declaration scenario 5 needs (it also creates the expression index). */
export const DECLARE_DEPARTMENT = `mutation {
  updateConnection(id: "Username-Password-Authentication", input: { attributes: [
    { key: "department", in: USER_METADATA, schema: { type: "string" }, edit: [TENANT_ADMIN], view: [TENANT_ADMIN, HELP_DESK, SELF] }
  ] }) { userErrors { code message } }
}`;

const cursorKeys = new Map<string, Buffer>();

/**
 * The cursor a gateway on `dbPath` gives `token`'s caller for the user `id` in `users` (by id).
 * Cursors are sealed with a key derived from the server secret (src/graphql/pagination.ts); the
 * bench's gateways on SQLite keep it in `pseudonym-secret` beside the database, made at their first
 * start; on PostgreSQL the bench gives the gateway its PSEUDONYM_SECRET and passes the key here.
 */
export function cursorAt(dbPath: string | { key: Buffer }, token: string, id: string): string {
  let key = typeof dbPath === 'string' ? cursorKeys.get(dbPath) : dbPath.key;
  if (!key && typeof dbPath === 'string') {
    key = cursorKeyOf(readFileSync(join(dirname(dbPath), 'pseudonym-secret'), 'utf8').trim());
    cursorKeys.set(dbPath, key);
  }
  if (!key) throw new Error('cursorAt: no cursor key');
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string };
  return sealCursor(key, usersList(null), payload.sub, id);
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

export function loginInput(g: { upstreamId: string; email: string; given: string; family: string }) {
  return {
    connection: 'google-oauth2',
    ip: '198.51.100.23',
    profile: {
      user_id: g.upstreamId,
      name: `${g.given} ${g.family}`,
      given_name: g.given,
      family_name: g.family,
      nickname: g.given.toLowerCase(),
      email: g.email,
      email_verified: true,
      picture: `https://avatars.example.com/${g.upstreamId}.png`,
      locale: 'en',
    },
  };
}

/** A 200 answer without GraphQL errors (and, for mutations, with no userErrors). */
export const noErrors = (body: string) => !body.includes('"errors"') && body.startsWith('{"data":{');
export const noUserErrors = (body: string) => noErrors(body) && body.includes('"userErrors":[]');
