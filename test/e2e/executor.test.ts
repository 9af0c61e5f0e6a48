// The gateway executes through graphql-jit (src/graphql/executor.ts). What a client sees must be
// what graphql-js would answer: variable errors are BAD_USER_INPUT with the variable's location
// (graphql-jit's own carry none), JSONObject values come back whole, a repeated document answers
// the same from its compiled copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  gw = await startTestGateway({ seed: true });
  admin = await adminToken(gw);
});
afterAll(async () => {
  await gw?.close();
});

async function raw(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('execution through graphql-jit', () => {
  it('a variable of the wrong type is BAD_USER_INPUT with its location, as graphql-js answers', async () => {
    const res = await raw({ query: 'query Page($first: Int) { users(first: $first) { totalCount } }', variables: { first: 'ten' } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      errors: [
        {
          message: 'Variable "$first" got invalid value "ten"; Int cannot represent non-integer value: "ten"',
          locations: [{ line: 1, column: 12 }],
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ],
    });
  });

  it('a missing required variable is BAD_USER_INPUT too', async () => {
    const res = await raw({ query: 'query One($id: ID!) { user(id: $id) { id } }' });
    expect(res.status).toBe(400);
    expect((res.json.errors as { extensions: { code: string } }[])[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers a repeated document the same (compiled once), JSONObject metadata included', async () => {
    const query = 'query($email: String) { users(first: 1, filter: { email: $email }) { edges { node { id email appMetadata userMetadata } } } }';
    const first = await raw({ query, variables: { email: 'alice@acme.example' } });
    const again = await raw({ query, variables: { email: 'alice@acme.example' } });
    expect(first.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const node = (first.json as { data: { users: { edges: { node: { appMetadata: unknown } }[] } } }).data.users.edges[0]?.node;
    expect(node?.appMetadata).toEqual({ plan: 'pro' });
    const other = await raw({ query, variables: { email: 'bob@acme.example' } });
    expect(JSON.stringify(other.json)).toContain('bob@acme.example');
  });
});
