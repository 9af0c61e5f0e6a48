// Limits checked before execution. Depth, aliases and directives are graphql-armor's validation
// rules (they see the document only, so they hold on any executor); tokens are graphql-js's own
// parser limit (`maxTokens`), so an oversized document stops being read at the limit instead of
// being parsed whole and then validated; cost is ours (src/guard/cost.ts says why).
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';
import type { OperationLimits } from './config.js';
import { type Limit, limitError } from './errors.js';

/** graphql-armor's messages end with "found N." */
const found = (err: GraphQLError): number | null => {
  const match = /found (\d+)/.exec(err.message);
  return match ? Number(match[1]) : null;
};

// armor rules throw by default (which Apollo would answer as a 500); reporting instead makes the
// refusal one validation error, which formatError turns into OPERATION_LIMIT_EXCEEDED.
const report = (limit: Limit, max: number) => ({
  n: max,
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(limitError(limit, max, found(err))),
  ],
});

export function limitRules(limits: OperationLimits): ValidationRule[] {
  return [
    // A fragment spread is not a level of the answer: `...ProfileFields` nests nothing.
    maxDepthRule({ ...report('DEPTH', limits.depth), flattenFragments: true }),
    maxAliasesRule(report('ALIASES', limits.aliases)),
    maxDirectivesRule(report('DIRECTIVES', limits.directives)),
  ] as unknown as ValidationRule[];
}

/** graphql-js's parser refusal at `maxTokens` ("Document contains more than N tokens"). */
export function isTokenLimitError(message: string): boolean {
  return /Document contains more tha[nt] \d+ tokens/.test(message);
}
