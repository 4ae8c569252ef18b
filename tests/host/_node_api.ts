/** Shared helpers for the NodeAPI handler tests: calling a handler, asserting a coded rejection, and a fresh dev node. */
import assert from "node:assert/strict";
import { type ApiHandlers, type CallContext, createNodeApiHandlers } from "../../src/host/node_api.ts";
import { DevNode, type DevNodeOptions } from "../../src/node/dev/node.ts";
import { ErrorCode, RemoteError } from "../../src/protocol/errors.ts";

const ctx: CallContext = { module: "t", signal: new AbortController().signal };

export const INVALID = ErrorCode.InvalidParams;
export const NOT_FOUND = ErrorCode.NotFound;

/** Call one handler with `params`. */
export function call(api: ApiHandlers, method: string, params: Record<string, unknown>): Promise<unknown> {
  const handler = api[method as keyof ApiHandlers];
  assert.ok(handler, `no handler for ${method}`);
  return handler(params, ctx);
}

/** Assert a rejection with `code` whose message matches `message`. */
export async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RemoteError, `expected a RemoteError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** A test against the handlers over a fresh in-memory dev node, closed afterwards. */
export function devTest(
  name: string,
  fn: (node: DevNode, api: ApiHandlers) => Promise<void>,
  opts: DevNodeOptions = {},
): void {
  Deno.test(name, async () => {
    const node = DevNode.open(opts);
    try {
      await fn(node, createNodeApiHandlers(node));
    } finally {
      await node.close();
    }
  });
}
