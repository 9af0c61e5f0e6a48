// The executable schema: SDL from schema/*.graphql, resolvers, and the shield permissions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { defaultFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { applyMiddleware, type IMiddlewareFieldMap } from 'graphql-middleware';
import { allow } from 'graphql-shield';
import { PROJECT_ROOT } from '../config.js';
import { checkDeadline } from '../guard/deadline.js';
import { assertRulesCover, permissions, perObjectRules, ruleFor } from './permissions.js';
import { resolvers } from './resolvers/index.js';

export const SCHEMA_DIR = join(PROJECT_ROOT, 'schema');

export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Without permissions: only for measuring what shield costs (the benchmark) and for the schema-walk test. */
export function buildBareSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers });
}

/**
 * The schema with its permissions. Deny by default: every type and field must have a rule, or
 * the gateway does not start (assertRulesCover). Fields whose rule is `allow` are then left
 * unwrapped: shield would otherwise put an async middleware around each of them (thousands on a
 * page of users), for a check that always passes; and canReadUser, on every User field, runs as a
 * per-object middleware (perObjectRules) that decides once per user.
 */
export function buildSchema(schema: GraphQLSchema = buildBareSchema()): GraphQLSchema {
  assertRulesCover(schema);
  const generated = permissions.generate(schema) as Record<string, Record<string, unknown>>;
  const enforced: Record<string, Record<string, unknown>> = {};
  const perObject: [string, string, PerObjectRule][] = [];
  for (const [type, fields] of Object.entries(generated)) {
    for (const [field, middleware] of Object.entries(fields)) {
      const rule = ruleFor(type, field);
      if (rule === allow) continue;
      const own = perObjectRules.get(rule);
      if (own) {
        perObject.push([type, field, own]);
        continue;
      }
      enforced[type] ??= {};
      enforced[type][field] = middleware;
    }
  }
  const served = applyMiddleware(schema, enforced as IMiddlewareFieldMap);
  // A per-object rule wraps its field directly: graphql-middleware's wrapper makes a closure on
  // every call, and these run on every field of every user an answer holds.
  for (const [typeName, fieldName, check] of perObject) {
    const type = served.getType(typeName);
    const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
    if (!field) throw new Error(`${typeName}.${fieldName} has a rule but is not in the schema`);
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, ctx, info) => check(resolve as Parameters<PerObjectRule>[0], source, args, ctx, info);
  }
  return withDeadlineChecks(served);
}

type PerObjectRule = typeof perObjectRules extends Map<unknown, infer R> ? R : never;

/**
 * Every field with a resolver of its own (a store read, a policy, a shield rule) first checks the
 * query's execution deadline (src/guard/deadline.ts). Fields without one stay plain property reads.
 */
const deadlineChecked = new WeakMap<object, unknown>();

/** The resolver inside a field's deadline check (the field's own, or shield's wrapper of it). */
export function withoutDeadlineCheck<T>(resolve: T): T {
  return ((resolve && deadlineChecked.get(resolve as object)) ?? resolve) as T;
}

function withDeadlineChecks(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      const checked: typeof resolve = (source, args, ctx, info) => {
        checkDeadline(ctx);
        return resolve(source, args, ctx, info);
      };
      deadlineChecked.set(checked, resolve);
      field.resolve = checked;
    }
  }
  return schema;
}
