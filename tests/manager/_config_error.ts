// Shared by the config tests: the ConfigFileError a call throws or a promise rejects with.
import { ok } from "node:assert/strict";
import { ConfigFileError } from "../../src/manager/config_error.ts";

/** The ConfigFileError `fn` throws; fails the test if it throws something else or nothing. */
export function configErrorOf(fn: () => unknown): ConfigFileError {
  try {
    fn();
  } catch (e) {
    ok(e instanceof ConfigFileError, `expected ConfigFileError, got ${e}`);
    return e;
  }
  throw new Error("did not throw");
}

/** The ConfigFileError `p` rejects with; fails the test if it rejects with something else or resolves. */
export async function configErrorOfAsync(p: Promise<unknown>): Promise<ConfigFileError> {
  try {
    await p;
  } catch (e) {
    ok(e instanceof ConfigFileError, `expected ConfigFileError, got ${e}`);
    return e;
  }
  throw new Error("did not throw");
}
