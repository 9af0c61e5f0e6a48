// Execution through graphql-jit, plugged into Apollo 5 the documented way for a custom executor:
// the constructor's `gateway` option, whose `load()` returns `{ executor }`. Apollo keeps its whole
// pipeline (parsing, validation and its rules, plugins, error formatting, HTTP); only execute() is
// replaced. Each document is compiled once into a JavaScript function specialised to the schema and
// kept in an LRU keyed by Apollo's own query hash (sha256 of the text) and the operation name.
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

/** Distinct operations kept compiled; a client sends a handful, an abuser many (evicted first). */
const COMPILED_DOCUMENTS = 1000;

export function jitExecutor(schema: GraphQLSchema): GatewayExecutor {
  const compiled = new LRUCache<string, CompiledQuery | ExecutionResult>({ max: COMPILED_DOCUMENTS });
  return async (rc) => {
    const key = `${rc.queryHash}\u0000${rc.operationName ?? ''}`;
    let query = compiled.get(key);
    if (query === undefined) {
      // customJSONSerializer stays off: its compiled serializer fails on the JSONObject scalar, and
      // Apollo serialises the answer with JSON.stringify anyway.
      query = compileQuery(schema, rc.document, rc.operationName ?? undefined);
      compiled.set(key, query);
    }
    if (!isCompiledQuery(query)) return query;
    const result = await query.query(undefined, rc.context, rc.request.variables ?? {});
    if (result.errors?.length && result.data === undefined) {
      // Variable coercion failed. graphql-jit's errors name no AST nodes, so Apollo could not tell
      // them from internal errors; graphql-js's, for the same variables, carry the variable
      // definition (BAD_USER_INPUT, with locations). Only this error path pays for it.
      return execute({
        schema,
        document: rc.document,
        contextValue: rc.context,
        variableValues: rc.request.variables,
        operationName: rc.operationName,
      });
    }
    return result;
  };
}

/** The Apollo `gateway` that serves one fixed schema through the executor above. */
export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    load: async () => ({ executor: jitExecutor(schema) }),
    stop: async () => {},
  };
}
