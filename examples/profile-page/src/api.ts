// A minimal GraphQL client over fetch. The typed documents from ./gql carry their result and
// variable types, so `execute(MeQuery, token)` is typed with no casts in the page.
import type {} from './env.js';
import type { TypedDocumentString } from './gql/graphql.js';

/**
 * Where the page sends its operations: the gateway itself when the build names it
 * (VITE_GATEWAY_URL, another origin: the gateway's CORS_ORIGINS must list this page's origin),
 * otherwise this origin's /graphql, which `npm run example` proxies to the gateway.
 */
export const ENDPOINT = import.meta.env.VITE_GATEWAY_URL || '/graphql';

/** A top-level GraphQL error, with the gateway's `extensions.code`. */
export interface GraphQLError {
  message: string;
  extensions?: {
    code?: string;
    /** FIELD_NOT_EDITABLE: each refused field (a ProfileField, as in fieldPolicies), the attribute key when one was refused, and why. */
    fields?: { field: string; key?: string; reason: string }[];
    /** RATE_LIMITED: seconds until the caller's budget refills (also the Retry-After header). */
    retryAfter?: number;
  };
}

export interface GraphQLResult<TResult> {
  data: TResult | null;
  errors: GraphQLError[];
  /** The HTTP status (429 when rate limited). */
  status: number;
  /** Retry-After, in seconds, when the gateway sent one. */
  retryAfterSeconds: number | null;
  /** The id this request was sent with (the gateway logs it): quote it when reporting a problem. */
  requestId: string;
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
  const requestId = crypto.randomUUID();
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
        'x-request-id': requestId,
      },
      // A trusted document (codegen's persistedDocuments): its id, not its text. The gateway runs
      // it from its manifest (TRUSTED_DOCUMENTS), the recommended production setting.
      body: JSON.stringify(documentBody(document, variables)),
    });
  } catch (err) {
    // A browser says no more than "Failed to fetch" when CORS refuses the answer: name both causes.
    throw new NetworkError(
      `The gateway at ${new URL(ENDPOINT, location.href).href} could not be reached (${String(err)}): ` +
        "it is down, or it does not allow this page's origin (its CORS_ORIGINS).",
    );
  }
  let body: { data?: TResult | null; errors?: GraphQLError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new NetworkError(`The gateway answered ${response.status} without a GraphQL response.`);
  }
  return {
    data: body.data ?? null,
    errors: body.errors ?? [],
    status: response.status,
    retryAfterSeconds: retryAfter(response.headers.get('retry-after')),
    requestId: response.headers.get('x-request-id') ?? requestId,
  };
}

/** Retry-After is seconds or an HTTP date. */
function retryAfter(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
