// The guard's refusals: top-level GraphQL errors with a stable code and the HTTP status they
// answer with (Apollo reads `extensions.http`; formatError keeps the rest of the extensions).
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';

export type Limit = 'DEPTH' | 'ALIASES' | 'TOKENS' | 'DIRECTIVES' | 'COST';

/** Every code the guard answers with, and its HTTP status. */
export const GUARD_CODES = {
  OPERATION_LIMIT_EXCEEDED: 400,
  RATE_LIMITED: 429,
  TRUSTED_DOCUMENT_REQUIRED: 400,
  TRUSTED_DOCUMENT_NOT_FOUND: 400,
  EXECUTION_TIMEOUT: 503,
  RESPONSE_TOO_LARGE: 400,
} as const;
export type GuardCode = keyof typeof GUARD_CODES;

export function guardError(
  code: GuardCode,
  message: string,
  extensions: Record<string, unknown> = {},
  headers?: Record<string, string>,
): GraphQLError {
  const http = { status: GUARD_CODES[code], headers: new HeaderMap(Object.entries(headers ?? {})) };
  return new GraphQLError(message, { extensions: { ...extensions, code, http } as Record<string, unknown> });
}

const ADVICE: Record<Limit, (found: number | null, max: number) => string> = {
  DEPTH: (found, max) =>
    `The operation nests ${found ?? 'more than ' + max} levels deep; at most ${max} are allowed. Select fewer nested levels (ask for the nested objects in a second operation).`,
  ALIASES: (found, max) =>
    `The operation uses ${found ?? 'more than ' + max} aliases; at most ${max} are allowed. Use fewer aliases (ask for many objects through one list field, such as users(filter: …)).`,
  TOKENS: (_found, max) =>
    `The document has more than ${max} tokens. Send a shorter document (fewer fields, no repeated selections).`,
  DIRECTIVES: (found, max) =>
    `The operation uses ${found ?? 'more than ' + max} directives; at most ${max} are allowed. Use fewer directives.`,
  COST: (found, max) =>
    `The operation costs ${found ?? 'more than ' + max}; at most ${max} is allowed. Ask for fewer items (a smaller first) or fewer nested lists.`,
};

export function limitError(limit: Limit, max: number, found: number | null): GraphQLError {
  return guardError('OPERATION_LIMIT_EXCEEDED', ADVICE[limit](found, max), {
    limit,
    max,
    ...(found !== null ? { found } : {}),
  });
}
