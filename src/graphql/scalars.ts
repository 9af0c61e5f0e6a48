// Input scalars whose refusals are malformed input (BAD_USER_INPUT), whether the value came as a
// variable or as a literal in the query (where graphql-js would report a validation failure).
import { GraphQLError, GraphQLScalarType, valueFromASTUntyped } from 'graphql';

export class InvalidScalarError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

/** Wraps a scalar so each refusal is an InvalidScalarError; `check` adds a rule of our own. */
export function strictInput(
  scalar: GraphQLScalarType,
  check: (parsed: unknown) => string | null = () => null,
  transform: (parsed: unknown) => unknown = (v) => v,
): GraphQLScalarType {
  const guard = (parse: () => unknown): unknown => {
    let parsed: unknown;
    try {
      parsed = parse();
    } catch (err) {
      throw new InvalidScalarError(err instanceof Error ? err.message : `Invalid ${scalar.name}.`);
    }
    const problem = check(parsed);
    if (problem) throw new InvalidScalarError(problem);
    return transform(parsed);
  };
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue: (value) => guard(() => config.parseValue?.(value) ?? value),
    parseLiteral: (ast, variables) =>
      guard(() => (config.parseLiteral ? config.parseLiteral(ast, variables) : valueFromASTUntyped(ast, variables))),
  });
}

/** Whether an error (or one it wraps) is a scalar's refusal. */
export function isInvalidScalar(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof InvalidScalarError) return true;
    e = (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/**
 * graphql-scalars builds objects from query literals with a null prototype; the rest of the
 * gateway (and drizzle) expects plain JSON objects.
 */
export const plainJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
