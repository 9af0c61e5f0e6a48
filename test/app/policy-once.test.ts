// The mutability policy is decided once per user per request: the shield rule on updateUser, the
// use case, User.fieldPolicies (however often a query names the user) and the write's payload share
// one evaluation. Runs the served schema (shield included) in process on the real gateway's store,
// with real signed tokens, so the request's context can be inspected.
import { execute, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/auth/tokens.js';
import { DEFAULT_TICKET_SETTINGS } from '../../src/config.js';
import { ScriptRegistry } from '../../src/connectors/custom-db.js';
import { buildContext, type GraphQLContext } from '../../src/graphql/context.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

describe('the policy, once per user per request', () => {
  let gw: TestGateway;
  let admin: string;
  let alice: string;
  let bob: string;
  const schema = buildSchema();

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await adminToken(gw);
    const connection = await createConnection(gw, admin, { name: 'own-store', kind: 'DATABASE' });
    alice = await createUser(gw, admin, { connection, email: 'alice@example.com', password: 'correct-horse-battery' });
    bob = await createUser(gw, admin, { connection, email: 'bob@example.com', password: 'correct-horse-battery' });
  }, 60_000);
  afterAll(() => gw?.close());

  async function run(token: string, document: string, variables: Record<string, unknown>) {
    const ctx: GraphQLContext = await buildContext(
      {
        store: gw.runtime.store,
        verifier: createTokenVerifier({ jwtSecret: gw.secret, jwksUrl: null, issuer: 'https://issuer.test/', audience: 'profile-gateway' }),
        scripts: new ScriptRegistry('scripts', 5000),
        tickets: DEFAULT_TICKET_SETTINGS,
      },
      `Bearer ${token}`,
    );
    const result = await execute({ schema, document: parse(document), contextValue: ctx, variableValues: variables });
    return { result, evaluations: Object.fromEntries(ctx.access.evaluations), computations: ctx.access.policyComputations };
  }

  it('updateUser: the shield rule, the use case and the payload share one decision', async () => {
    const self = await gw.token(alice);
    const { result, evaluations } = await run(
      self,
      `mutation($id: ID!) { updateUser(id: $id, input: { name: "Alice A." }) {
         user { name fieldPolicies { field editable reason } } userErrors { code } } }`,
      { id: alice },
    );
    expect(result.errors).toBeUndefined();
    const payload = (result.data as { updateUser: { user: { name: string; fieldPolicies: { field: string; editable: boolean }[] } } })
      .updateUser;
    expect(payload.user.name).toBe('Alice A.');
    // The decision the write obeyed is the one the payload shows: the user may not set emailVerified.
    expect(payload.user.fieldPolicies.find((p) => p.field === 'EMAIL_VERIFIED')?.editable).toBe(false);
    expect(evaluations).toEqual({ [alice]: 1 });
  });

  it('a refused update is decided once too, and refused whole', async () => {
    const self = await gw.token(alice);
    const { result, evaluations } = await run(
      self,
      'mutation($id: ID!) { updateUser(id: $id, input: { name: "A", emailVerified: true }) { user { id } } }',
      { id: alice },
    );
    // Outside Apollo the AppError is not yet formatted: its code is on the original error.
    expect((result.errors?.[0]?.originalError as { code?: string } | undefined)?.code).toBe('FIELD_NOT_EDITABLE');
    expect(evaluations).toEqual({ [alice]: 1 });
  });

  it('a query naming the same users several times evaluates each once', async () => {
    const { result, evaluations } = await run(
      admin,
      `query($a: ID!, $b: ID!) {
         a: user(id: $a) { fieldPolicies { field } }
         again: user(id: $a) { fieldPolicies { editable } }
         b: user(id: $b) { fieldPolicies { field reason } }
         users(first: 10) { edges { node { id fieldPolicies { field } } } } }`,
      { a: alice, b: bob },
    );
    expect(result.errors).toBeUndefined();
    expect(evaluations).toEqual({ [alice]: 1, [bob]: 1 });
  });

  it('users with the same facts share one computation of the policy, and each gets the same answer', async () => {
    const { result, evaluations, computations } = await run(
      admin,
      `query($a: ID!, $b: ID!) {
         a: user(id: $a) { fieldPolicies { field editable reason message } }
         b: user(id: $b) { fieldPolicies { field editable reason message } } }`,
      { a: alice, b: bob },
    );
    expect(result.errors).toBeUndefined();
    expect(evaluations).toEqual({ [alice]: 1, [bob]: 1 });
    // Same connection, same roles towards them, same facts: one computation for both.
    expect(computations).toBe(1);
    const data = result.data as { a: { fieldPolicies: unknown[] }; b: { fieldPolicies: unknown[] } };
    expect(data.a.fieldPolicies).toEqual(data.b.fieldPolicies);
  });

  it('a user whose facts differ gets a policy of their own', async () => {
    // Alice asks about herself (self) and about Bob (no role): two different decisions.
    const self = await gw.token(alice);
    const { result, computations } = await run(
      self,
      `query($a: ID!, $b: ID!) { a: user(id: $a) { fieldPolicies { field editable } } b: user(id: $b) { id } }`,
      { a: alice, b: bob },
    );
    expect(result.errors).toBeUndefined();
    expect(computations).toBe(1);
    const blocked = await gw.gql('mutation($id: ID!) { updateUser(id: $id, input: { blocked: true }) { userErrors { code } } }', { id: bob }, admin);
    expect(blocked.errors).toBeUndefined();
    const again = await run(
      admin,
      `query($a: ID!, $b: ID!) { a: user(id: $a) { fieldPolicies { field editable } } b: user(id: $b) { fieldPolicies { field editable } } }`,
      { a: alice, b: bob },
    );
    expect(again.result.errors).toBeUndefined();
    // Bob is blocked now: his facts differ from Alice's, so his policy is computed on its own.
    expect(again.computations).toBe(2);
    await gw.gql('mutation($id: ID!) { updateUser(id: $id, input: { blocked: false }) { userErrors { code } } }', { id: bob }, admin);
  });
});
