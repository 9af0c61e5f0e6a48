// The executable schema: SDL from schema/*.graphql, resolvers, and the shield permissions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { PROJECT_ROOT } from '../config.js';
import { permissions } from './permissions.js';
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

export function buildSchema(): GraphQLSchema {
  return applyMiddleware(buildBareSchema(), permissions);
}
