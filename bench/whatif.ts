// What-if measurements for the report: scenario 1 and 2 through Apollo's request pipeline
// in-process (executeHTTPGraphQLRequest with a fresh buildContext per request, as server.ts does;
// no socket), first as the gateway is built today, then with each proposed fix added in turn,
// without touching src/: CPU µs per request and bytes allocated per request for each variant.
// Usage: node --import tsx bench/whatif.ts CONFIG.json  → one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { applyMiddleware, type IMiddlewareFunction, type IMiddlewareTypeMap } from 'graphql-middleware';
import { allow, deny, type IRule } from 'graphql-shield';
import { createTokenVerifier } from '../src/auth/tokens.js';
import { DEFAULT_TICKET_SETTINGS, MIGRATIONS_FOLDER } from '../src/config.js';
import { ScriptRegistry } from '../src/connectors/custom-db.js';
import { buildContext, type ContextDeps, type GraphQLContext } from '../src/graphql/context.js';
import { permissionRules } from '../src/graphql/permissions.js';
import { buildBareSchema, buildSchema } from '../src/graphql/schema.js';
import { formatError } from '../src/server.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/types.js';
import { cursorAt, PAGE, PROFILE, pick } from './lib/queries.js';
import { withPreparedReads } from './lib/whatif-store.js';

export interface WhatIfConfig {
  dbPath: string;
  secret: string;
  adminToken: string;
  profileId: string;
  pageAfterIds: string[];
  /** Scenario 1 requests per variant (the page gets a fortieth). */
  iterations: number;
}

export interface WhatIfVariant {
  name: string;
  profileUs: number;
  pageUs: number;
  profileAllocatedKb: number;
  pageAllocatedMb: number;
}

export interface WhatIfResult {
  variants: WhatIfVariant[];
}

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as WhatIfConfig;

// graphql-shield exports IRule but not its options type or the logic-rule type (chain…), which
// has the same resolve().
type ShieldRule = Pick<IRule, 'resolve'>;
type IOptions = Parameters<IRule['resolve']>[4];

/** Shield's own field wrapper, applied only to the fields whose rule is not `allow`. */
function narrowShield(schema: GraphQLSchema): GraphQLSchema {
  const options: IOptions = {
    debug: false,
    allowExternalErrors: true,
    fallbackRule: deny,
    fallbackError: new GraphQLError('You may not run this operation.', { extensions: { code: 'FORBIDDEN' } }),
    hashFunction: (o: unknown) => JSON.stringify(o),
  };
  const guard =
    (rule: ShieldRule): IMiddlewareFunction =>
    async (next, parent, args, ctx: { _shield?: { cache: Record<string, unknown> } }, info) => {
      ctx._shield ??= { cache: {} };
      try {
        const res = await rule.resolve(parent as object, args as object, ctx as never, info, options);
        if (res === true) return next(parent, args, ctx, info);
        return res === false ? options.fallbackError : res;
      } catch (err) {
        return err;
      }
    };
  const map: IMiddlewareTypeMap = {};
  for (const [type, rules] of Object.entries(permissionRules as Record<string, unknown>)) {
    if (rules === allow) continue;
    if (typeof (rules as ShieldRule).resolve === 'function') {
      map[type] = guard(rules as ShieldRule);
      continue;
    }
    const fields: Record<string, IMiddlewareFunction> = {};
    for (const [field, rule] of Object.entries(rules as Record<string, ShieldRule>)) {
      if (rule !== allow && field !== '*') fields[field] = guard(rule);
    }
    if (Object.keys(fields).length > 0) map[type] = fields;
  }
  return applyMiddleware(schema, map);
}

interface Variant {
  name: string;
  schema: GraphQLSchema;
  cacheControl: boolean;
  store: Store;
}

async function main(): Promise<void> {
  const store = openSqliteStore({ path: config.dbPath, migrationsFolder: MIGRATIONS_FOLDER });
  const prepared = withPreparedReads(store, config.dbPath);
  const shielded = buildSchema();
  const variants: Variant[] = [
    { name: 'as served (shield on every field, cacheControl plugin, drizzle reads)', schema: shielded, cacheControl: true, store },
    { name: '+ cacheControl plugin disabled', schema: shielded, cacheControl: false, store },
    { name: '+ reads through statements prepared once', schema: shielded, cacheControl: false, store: prepared },
    { name: '+ shield only on fields whose rule is not allow', schema: narrowShield(buildBareSchema()), cacheControl: false, store: prepared },
    { name: 'lower bound: no shield at all', schema: buildBareSchema(), cacheControl: false, store: prepared },
  ];
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');

  const out: WhatIfVariant[] = [];
  for (const v of variants) {
    const deps: ContextDeps = {
      store: v.store,
      verifier: createTokenVerifier({ jwtSecret: config.secret, jwksUrl: null, issuer: null, audience: null }),
      scripts: new ScriptRegistry(resolve('scripts'), 5000),
      tickets: DEFAULT_TICKET_SETTINGS,
    };
    const apollo = new ApolloServer<GraphQLContext>({
      schema: v.schema,
      introspection: false,
      includeStacktraceInErrorResponses: false,
      formatError: formatError(undefined),
      plugins: [ApolloServerPluginLandingPageDisabled(), ...(v.cacheControl ? [] : [ApolloServerPluginCacheControlDisabled()])],
    });
    await apollo.start();
    const request = async (query: string, variables: Record<string, unknown>) => {
      // As server.ts: the body arrives as text and is parsed; the answer leaves as a string.
      const body: unknown = JSON.parse(JSON.stringify({ query, variables }));
      const headers = new HeaderMap([['content-type', 'application/json']]);
      headers.set('authorization', `Bearer ${config.adminToken}`);
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: '', body },
        context: () => buildContext(deps, headers.get('authorization')),
      });
      if (result.body.kind !== 'complete') throw new Error('unexpected incremental answer');
      return result.body.string;
    };
    const profile = () => request(PROFILE, { id: config.profileId });
    const page = () => request(PAGE, { after: cursorAt(config.dbPath, config.adminToken, pick(config.pageAfterIds)) });
    for (const check of [await profile(), await page()]) {
      if (check.includes('"errors"')) throw new Error(`${v.name}: ${check.slice(0, 400)}`);
    }
    const time = async (fn: () => Promise<string>, n: number) => {
      for (let i = 0; i < Math.max(20, n / 10); i++) await fn();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return ((performance.now() - t0) / n) * 1000;
    };
    const allocated = async (fn: () => Promise<string>, n: number) => {
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      } as never);
      for (let i = 0; i < n; i++) await fn();
      const { profile: p } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { samples: { size: number }[] } };
      return p.samples.reduce((a, s) => a + s.size, 0) / n;
    };
    const pageN = Math.max(10, Math.floor(config.iterations / 40));
    const result: WhatIfVariant = {
      name: v.name,
      profileUs: await time(profile, config.iterations),
      pageUs: await time(page, pageN),
      profileAllocatedKb: (await allocated(profile, 200)) / 1024,
      pageAllocatedMb: (await allocated(page, 10)) / (1024 * 1024),
    };
    out.push(result);
    console.error(
      `${v.name}: profile ${result.profileUs.toFixed(0)} µs, ${result.profileAllocatedKb.toFixed(0)} KB; page ${(result.pageUs / 1000).toFixed(1)} ms, ${result.pageAllocatedMb.toFixed(1)} MB`,
    );
    await apollo.stop();
  }
  prepared.closeReads();
  await store.close();
  const res: WhatIfResult = { variants: out };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
