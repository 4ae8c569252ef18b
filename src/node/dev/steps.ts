/**
 * Work split into steps: a generator that does a bounded amount of synchronous work between `yield`s.
 * Run to the end at once it is an ordinary synchronous call ({@link runSteps}); the dev node's async
 * operations run the same generator a slice at a time, giving the event loop a turn between slices
 * (`op_queue.ts`). Code that yields must leave memory in a state other code may read.
 *
 * @module
 */

/**
 * What a step may yield: nothing (the runner may go on or give the event loop a turn), or
 * {@link TURN}.
 *
 * @example
 * ```ts ignore
 * const hint: StepHint = steps.next().value; // undefined or TURN
 * ```
 */
export type StepHint = typeof TURN | void;

/**
 * Yielded before a step that should start a fresh slice (a longer one that must not run in one go
 * with what came before it): the async runner gives the event loop a turn first.
 *
 * @example
 * ```ts ignore
 * yield TURN; // the commit that follows runs in a slice of its own
 * ```
 */
export const TURN: unique symbol = Symbol("turn");

/**
 * A computation in steps, returning `T`.
 *
 * @example
 * ```ts ignore
 * function* count(n: number): Steps<number> {
 *   for (let i = 0; i < n; i++) yield;
 *   return n;
 * }
 * ```
 */
export type Steps<T> = Generator<StepHint, T, void>;

/**
 * Run `steps` to the end, synchronously.
 *
 * @param steps The computation.
 * @returns What it returned.
 *
 * @example
 * ```ts ignore
 * const block = runSteps(decodeBlockSteps(bytes));
 * ```
 */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * A computation of one synchronous step.
 *
 * @param fn The work.
 * @returns Steps that run it.
 *
 * @example
 * ```ts ignore
 * const steps = singleStep(() => 42);
 * ```
 */
// deno-lint-ignore require-yield
export function* singleStep<T>(fn: () => T): Steps<T> {
  return fn();
}
