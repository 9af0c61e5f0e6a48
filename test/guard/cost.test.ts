// The operation cost the rate limits count (src/guard/cost.ts), and its memo: an operation whose
// cost reads no variable is walked once, one that reads `first: $n` is priced for each request's $n.
import { type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ASSUMED_LIST_SIZE, operationCost } from '../../src/guard/cost.js';
import { buildBareSchema } from '../../src/graphql/schema.js';

const schema = buildBareSchema();
const operationOf = (text: string) => parse(text).definitions[0] as OperationDefinitionNode;

describe('operationCost', () => {
  it('prices first: $n by each request\'s variables, on the same operation node', () => {
    const op = operationOf('query Page($n: Int) { users(first: $n) { edges { node { id organizations { roles } } } } }');
    // users(first: n) × (1 + edges(1 + node(1 + organizations × 1)))
    const cost = (n: number) => n * (1 + 1 + 1 + ASSUMED_LIST_SIZE);
    expect(operationCost(schema, op, {}, { n: 5 })).toBe(cost(5));
    expect(operationCost(schema, op, {}, { n: 50 })).toBe(cost(50));
    expect(operationCost(schema, op, {}, { n: 5 })).toBe(cost(5));
  });

  it('walks an operation that reads no variable once, whatever the variables say', () => {
    const op = operationOf('query { users(first: 7) { edges { node { id } } } }');
    let fragmentsAsked = 0;
    const fragments = () => {
      fragmentsAsked += 1;
      return {};
    };
    expect(operationCost(schema, op, fragments, {})).toBe(7 * 3);
    expect(operationCost(schema, op, fragments, { n: 100 })).toBe(7 * 3);
    expect(fragmentsAsked).toBe(1);
    // Another node with the same text is another document: priced on its own.
    expect(operationCost(schema, operationOf('query { users(first: 7) { edges { node { id } } } }'), fragments, {})).toBe(7 * 3);
    expect(fragmentsAsked).toBe(2);
  });
});
