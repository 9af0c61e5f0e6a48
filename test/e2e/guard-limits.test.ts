// Operation limits and the execution budget, through the real server: every documented operation
// runs under the defaults, every attack of issue #12 is refused with its code, and each limit
// follows its variable.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, loginInput, PAGE, PROFILE, UPDATE } from '../../bench/lib/queries.js';
import { MeDocument, UpdateProfileDocument } from '../../examples/profile-page/src/gql/graphql.js';
import { PLAYGROUND_QUERY } from '../../src/http/playground.js';
import { ADMIN_SCOPES, type GqlResponse, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

/** The README's operations: its ```graphql blocks (one operation a line) and its curl bodies. */
function readmeOperations(): string[] {
  const ops: string[] = [];
  for (const block of README.matchAll(/```graphql\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const text = line.trim();
      if (text && !text.startsWith('#')) ops.push(text);
    }
  }
  for (const curl of README.matchAll(/-d '(\{"query":.*?\})'/g)) {
    ops.push((JSON.parse(curl[1]!) as { query: string }).query);
  }
  return ops;
}

const LIMIT_CODES = ['OPERATION_LIMIT_EXCEEDED', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED'];
const codes = (res: GqlResponse<unknown>) => (res.errors ?? []).map((e) => e.extensions?.code);

function expectLimit(res: GqlResponse<unknown>, limit: string, max: number) {
  expect(res.status).toBe(400);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit, max });
  expect(res.errors?.[0]?.message).toMatch(/fewer|shorter/);
  expect(res.errors).toHaveLength(1);
  expect(res.data ?? null).toBeNull();
}

/** `organizations { members(first: 100) { edges { node { user { organizations { … } } } } } }`, `levels` times. */
function nestedMembers(levels: number): string {
  let inner = 'id email';
  for (let i = 0; i < levels; i++) {
    inner = `id organizations { organization { members(first: 100) { edges { node { user { ${inner} } } } } } }`;
  }
  return `{ organizations { members(first: 100) { edges { node { user { ${inner} } } } } } }`;
}

describe('operation limits under the defaults', () => {
  let gw: TestGateway;
  let admin: string;
  let helpDesk: string;
  let alice: { id: string; version: number };

  beforeAll(async () => {
    gw = await startTestGateway({ seed: true });
    admin = await gw.token('admin', ADMIN_SCOPES);
    const find = async (email: string) => {
      const res = await gw.gql<{ users: { edges: { node: { id: string; version: number } }[] } }>(
        'query ($email: String) { users(first: 1, filter: { email: $email }) { edges { node { id version } } } }',
        { email },
        admin,
      );
      return res.data!.users.edges[0]!.node;
    };
    helpDesk = await gw.token((await find('helpdesk@acme.example')).id);
    alice = await find('alice@acme.example');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('runs every operation the README documents', async () => {
    const ops = readmeOperations();
    expect(ops.length).toBeGreaterThanOrEqual(5);
    for (const op of ops) {
      const res = await gw.gql(op, {}, admin);
      expect({ op, codes: codes(res) }).toEqual({ op, codes: expect.not.arrayContaining(LIMIT_CODES) });
    }
  });

  it("runs the playground's default query", async () => {
    const res = await gw.gql<{ users: { edges: unknown[] } }>(PLAYGROUND_QUERY, { email: 'gabriel.silva@gmail.example' }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data?.users.edges).toHaveLength(1);
  });

  it("runs the example page's operations", async () => {
    const token = await gw.token(alice.id);
    const me = await gw.gql<{ me: { id: string; version: number } }>(MeDocument.toString(), {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data?.me.id).toBe(alice.id);
    const update = await gw.gql<{ updateUser: { userErrors: unknown[] } }>(
      UpdateProfileDocument.toString(),
      { id: alice.id, input: { name: 'Alice A.', expectedVersion: me.data!.me.version } },
      token,
    );
    expect(update.errors, JSON.stringify(update.errors)).toBeUndefined();
    expect(update.data?.updateUser.userErrors).toEqual([]);
  });

  it("runs the benchmark's scenarios", async () => {
    const profile = await gw.gql(PROFILE, { id: alice.id }, admin);
    expect(profile.errors).toBeUndefined();
    const page = await gw.gql<{ users: { edges: unknown[] } }>(PAGE, {}, admin);
    expect(page.errors).toBeUndefined();
    expect(page.data?.users.edges.length).toBeGreaterThan(20);
    const update = await gw.gql(UPDATE, { id: alice.id, metadata: { theme: 'dark' } }, admin);
    expect(update.errors).toBeUndefined();
    const login = await gw.gql(
      LOGIN,
      { input: loginInput({ upstreamId: '777', email: 'new.person@gmail.example', given: 'New', family: 'Person' }) },
      admin,
    );
    expect(login.errors).toBeUndefined();
  });

  it('refuses the eight-level members query of a help desk (depth), and the same lists within the depth (cost)', async () => {
    expectLimit(await gw.gql(nestedMembers(8), {}, helpDesk), 'DEPTH', 7);
    // Within the depth, twice the members of every organization, 100 at a time: not within the cost.
    const members = 'organizations { members(first: 100) { edges { node { user { id email } } } } }';
    const wide = `{ a: ${members} b: ${members} }`;
    const res = await gw.gql(wide, {}, helpDesk);
    expectLimit(res, 'COST', 5000);
    expect(res.errors?.[0]?.extensions?.found).toBeGreaterThan(5000);
  });

  it('weights `first` given as a variable as it does a literal', async () => {
    const members = 'organizations { members(first: $n) { edges { node { user { id } } } } }';
    const query = `query ($n: Int) { a: ${members} b: ${members} }`;
    expectLimit(await gw.gql(query, { n: 100 }, admin), 'COST', 5000);
    const small = await gw.gql(query, { n: 2 }, admin);
    expect(small.errors).toBeUndefined();
  });

  it('refuses 5,000 aliases of me { fieldPolicies } (tokens) and 16 of them (aliases)', async () => {
    const token = await gw.token(alice.id);
    const aliases = (n: number, sel: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${sel}`).join(' ')} }`;
    expectLimit(await gw.gql(aliases(5000, 'me { fieldPolicies { field editable reason message } }'), {}, token), 'TOKENS', 1000);
    expectLimit(await gw.gql(aliases(300, 'users(first: 100) { edges { node { id email } } }'), {}, admin), 'TOKENS', 1000);
    expectLimit(await gw.gql(aliases(16, 'me { id }'), {}, token), 'ALIASES', 15);
    const fifteen = await gw.gql(aliases(15, 'me { id }'), {}, token);
    expect(fifteen.errors).toBeUndefined();
  });

  it('refuses a 2 MB document at the tokens limit', async () => {
    const doc = `{ me { ${'id '.repeat(700_000)} } }`;
    expect(doc.length).toBeGreaterThan(2_000_000);
    expectLimit(await gw.gql(doc, {}, admin), 'TOKENS', 1000);
  });

  it('refuses more than 50 directives', async () => {
    const doc = `{ me { ${Array.from({ length: 51 }, () => '... on User @include(if: true) { id }').join(' ')} } }`;
    expectLimit(await gw.gql(doc, {}, admin), 'DIRECTIVES', 50);
  });

  it('keeps field suggestions while the playground is on (outside production)', async () => {
    const res = await gw.gql('{ userz { id } }', {}, admin);
    expect(res.errors?.[0]?.message).toMatch(/Did you mean/);
  });
});

describe('limits from the environment', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      seed: true,
      env: {
        PLAYGROUND: '0',
        LIMIT_DEPTH: '3',
        LIMIT_ALIASES: '1',
        LIMIT_TOKENS: '60',
        LIMIT_DIRECTIVES: '1',
        LIMIT_COST: '30',
      },
    });
    admin = await gw.token('admin', ADMIN_SCOPES);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('applies LIMIT_DEPTH, LIMIT_ALIASES, LIMIT_TOKENS, LIMIT_DIRECTIVES and LIMIT_COST', async () => {
    expectLimit(await gw.gql('{ users(first: 1) { edges { node { id } } } }', {}, admin), 'DEPTH', 3);
    expectLimit(await gw.gql('{ a: me { id } b: me { id } }', {}, admin), 'ALIASES', 1);
    expectLimit(await gw.gql(`{ me { ${'id '.repeat(60)} } }`, {}, admin), 'TOKENS', 60);
    expectLimit(await gw.gql('{ me { id @include(if: true) email @skip(if: false) } }', {}, admin), 'DIRECTIVES', 1);
    expectLimit(await gw.gql('{ users(first: 40) { totalCount } }', {}, admin), 'COST', 30);
    const ok = await gw.gql<{ users: { totalCount: number } }>('{ users(first: 29) { totalCount } }', {}, admin);
    expect(ok.data?.users.totalCount).toBeGreaterThan(0);
  });

  it('answers no field suggestions with the playground off', async () => {
    const res = await gw.gql('{ userz { id } }', {}, admin);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toContain('Cannot query field "userz"');
    expect(res.errors?.[0]?.message).not.toMatch(/Did you mean|users/);
  });
});

describe('the budget of what runs: deadline and response size', () => {
  let slow: TestGateway;
  let small: TestGateway;

  beforeAll(async () => {
    [slow, small] = await Promise.all([
      startTestGateway({ seed: true, env: { LIMIT_EXECUTION_MS: '1' } }),
      startTestGateway({ seed: true, env: { LIMIT_RESPONSE_BYTES: '2048' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([slow?.close(), small?.close()]);
  });

  it('stops a query at the deadline with EXECUTION_TIMEOUT', async () => {
    // Every user with their policies and organizations: thousands of fields, never within 1 ms.
    const query = '{ users(first: 100) { edges { node { id fieldPolicies { field editable reason message } organizations { roles organization { id name } } } } } }';
    const res = await slow.gql(query, {}, await slow.token('admin', ADMIN_SCOPES));
    expect(res.status, JSON.stringify(res).slice(0, 300)).toBe(503);
    expect(res.errors).toEqual([expect.objectContaining({ extensions: { code: 'EXECUTION_TIMEOUT', max: 1 } })]);
    expect(res.errors?.[0]?.message).toMatch(/did not finish within 1 ms/);
    expect(res.data ?? null).toBeNull();
  });

  it('refuses an answer over LIMIT_RESPONSE_BYTES with RESPONSE_TOO_LARGE', async () => {
    const admin = await small.token('admin', ADMIN_SCOPES);
    const res = await small.gql('{ users(first: 25) { edges { node { id email name } } } }', {}, admin);
    expect(res.status, JSON.stringify(res).slice(0, 300)).toBe(400);
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'RESPONSE_TOO_LARGE', max: 2048 });
    const fits = await small.gql('{ users(first: 2) { edges { node { id } } } }', {}, admin);
    expect(fits.status).toBe(200);
  });
});
