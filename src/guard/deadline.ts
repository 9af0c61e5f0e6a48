// The execution deadline of a query, checked where work starts: at every field that has a
// resolver of its own (src/graphql/schema.ts wraps them), not through Apollo's willResolveField
// hook. That hook makes Apollo wrap every field of the schema, default ones included, so each
// field of an answer went through a closure, a hook dispatch and a promise check, and graphql-jit
// could no longer read plain properties inline. A field without a resolver of its own reads a
// property and cannot run long; the cost limit bounds how many of them an operation selects.
import { performance } from 'node:perf_hooks';

const DEADLINE = Symbol('execution deadline');

interface Deadline {
  at: number;
  /** Called at the first field found past the deadline, and at every later one: the error to throw. */
  expired: () => Error;
}

type WithDeadline = { [DEADLINE]?: Deadline };

/** Sets the deadline of the operation that runs with this context (Apollo's per-operation copy). */
export function setDeadline(ctx: object, at: number, expired: () => Error): void {
  (ctx as WithDeadline)[DEADLINE] = { at, expired };
}

/** Throws the deadline's error when the operation running with this context is past it. */
export function checkDeadline(ctx: unknown): void {
  const deadline = (ctx as WithDeadline | null | undefined)?.[DEADLINE];
  if (deadline !== undefined && performance.now() > deadline.at) throw deadline.expired();
}
