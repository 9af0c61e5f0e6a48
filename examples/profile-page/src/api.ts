// A minimal GraphQL client over fetch. The typed documents from ./gql carry their result and
// variable types, so `execute(MeQuery, token)` is typed with no casts in the page.
import type { TypedDocumentString } from './gql/graphql.js';

/** Where the page sends its operations: its own origin, which proxies to the gateway (no CORS). */
const ENDPOINT = '/graphql';

/** A top-level GraphQL error, with the gateway's `extensions.code`. */
export interface GraphQLError {
  message: string;
  extensions?: {
    code?: string;
    /** FIELD_NOT_EDITABLE: each refused field (a ProfileField, as in fieldPolicies) and why. */
    fields?: { field: string; reason: string }[];
  };
}

export interface GraphQLResult<TResult> {
  data: TResult | null;
  errors: GraphQLError[];
}

/** The gateway did not answer with GraphQL (down, or not reachable through the proxy). */
export class NetworkError extends Error {}

function documentBody<R, V>(document: TypedDocumentString<R, V>, variables: unknown) {
  const hash = document.__meta__?.hash as string | undefined;
  return hash ? { documentId: hash, variables } : { query: document.toString(), variables };
}

export async function execute<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  token: string,
  ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
): Promise<GraphQLResult<TResult>> {
  let response: Response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      // A trusted document (codegen's persistedDocuments): its id, not its text. The gateway runs
      // it from its manifest (TRUSTED_DOCUMENTS), the recommended production setting.
      body: JSON.stringify(documentBody(document, variables)),
    });
  } catch (err) {
    throw new NetworkError(`The gateway could not be reached (${String(err)}).`);
  }
  let body: { data?: TResult | null; errors?: GraphQLError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new NetworkError(`The gateway answered ${response.status} without a GraphQL response.`);
  }
  return { data: body.data ?? null, errors: body.errors ?? [] };
}
