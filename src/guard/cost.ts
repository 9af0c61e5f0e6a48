// The cost of an operation, in the units rate limits count: every object (a field with a selection
// set) costs 1, multiplied by the size of every list it sits in. A field with a `first` argument
// counts as `first` items (a literal, the variable's value, or the page size it defaults to), a
// connection's `edges`/`nodes` add nothing more, and any other list of objects (a user's
// `organizations`, `fieldPolicies`) counts as ASSUMED_LIST_SIZE items. Scalars are free: their
// number is bounded by the tokens limit, and the work is in the objects.
//
// Why not graphql-armor's cost-limit: it reads only literal `first`/`last` (so `first: $n` counts
// as 1 and a variable walks around the limit), does not know which fields are lists (a user's
// `organizations { organization { members(first: 100) } }` is not multiplied by the memberships),
// and grows every level by 1.5× whether or not it is a list, which refuses the benchmark's page of
// 100 users while the attacks above differ from it only in their lists. This needs the variables,
// so it runs as an Apollo plugin hook once the operation is resolved (src/guard/plugin.ts), not as
// a validation rule (validation never sees variables).
import {
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { MAX_PAGE_SIZE } from '../graphql/pagination.js';

export const ASSUMED_LIST_SIZE = 10;
/** The page size a `first` argument defaults to when it is left out (src/graphql/pagination.ts). */
export const DEFAULT_PAGE_SIZE = 20;

/**
 * Costs that read no variable, by schema and operation: Apollo keeps a parsed document and hands
 * the same operation node to every request that sends the same text, so such an operation is
 * walked once. An operation whose cost reads a variable (`first: $n`) is walked on every request.
 */
const constantCosts = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, number>>();

export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode> | (() => Record<string, FragmentDefinitionNode>),
  variables: Record<string, unknown> | undefined,
): number {
  let known = constantCosts.get(schema);
  const cached = known?.get(operation);
  if (cached !== undefined) return cached;
  let readsVariables = false;
  const cost = walkOperation(schema, operation, typeof fragments === 'function' ? fragments() : fragments, variables, () => {
    readsVariables = true;
  });
  if (!readsVariables) {
    if (!known) constantCosts.set(schema, (known = new WeakMap()));
    known.set(operation, cost);
  }
  return cost;
}

function walkOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> | undefined,
  readVariable: () => void,
): number {
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;
  const defaults: Record<string, unknown> = {};
  for (const def of operation.variableDefinitions ?? []) {
    if (def.defaultValue?.kind === Kind.INT) defaults[def.variable.name.value] = Number(def.defaultValue.value);
  }

  const firstOf = (value: ValueNode | undefined): number => {
    let n: unknown = DEFAULT_PAGE_SIZE;
    if (value?.kind === Kind.INT) n = Number(value.value);
    else if (value?.kind === Kind.VARIABLE) {
      readVariable();
      const name = value.name.value;
      n = variables?.[name] ?? defaults[name] ?? DEFAULT_PAGE_SIZE;
    }
    // A value the resolver would refuse costs what the largest page would.
    return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_PAGE_SIZE ? n : MAX_PAGE_SIZE;
  };

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, seen: ReadonlySet<string>): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        total += walk(sel.selectionSet, isCompositeType(on) ? on : parent, seen);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const name = sel.name.value;
        const fragment = fragments[name];
        if (!fragment || seen.has(name)) continue;
        const on = schema.getType(fragment.typeCondition.name.value);
        total += walk(fragment.selectionSet, isCompositeType(on) ? on : parent, new Set([...seen, name]));
        continue;
      }
      const name = sel.name.value;
      if (name.startsWith('__') || !sel.selectionSet) continue;
      const field: GraphQLField<unknown, unknown> | undefined =
        isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
      if (!field) continue;
      const type = getNamedType(field.type);
      if (!isCompositeType(type)) continue;
      let multiplier = 1;
      if (field.args.some((a) => a.name === 'first')) {
        multiplier = firstOf(sel.arguments?.find((a) => a.name.value === 'first')?.value);
      } else if (isListType(getNullableType(field.type)) && !(parent.name.endsWith('Connection') && (name === 'edges' || name === 'nodes'))) {
        multiplier = ASSUMED_LIST_SIZE;
      }
      total += multiplier * (1 + walk(sel.selectionSet, type, seen));
    }
    return total;
  };
  return walk(operation.selectionSet, root, new Set());
}
