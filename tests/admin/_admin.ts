/** Shared assertion for the admin socket tests. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { RemoteError } from "../../mod.ts";

/** Asserts that `p` rejects with a RemoteError of `code` whose message matches `message`. */
export async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<RemoteError> {
  let caught: unknown;
  await rejects(p, (e) => {
    caught = e;
    return true;
  });
  ok(caught instanceof RemoteError, `expected a RemoteError, got ${caught}`);
  equal(caught.code, code, caught.message);
  if (message) match(caught.message, message);
  return caught;
}
