/**
 * The module APIs registered for module-to-module calls: which module serves which methods, at which
 * version. A bare method name served by two modules is ambiguous, never "first one wins".
 *
 * @module
 */

/** One module's registered API. */
export interface RegisteredApi {
  /** The API version the module announced. */
  version: string;
  /** Its methods. */
  methods: ReadonlySet<string>;
}

/** Method names other modules can call: letters, digits, `_`, `.`, `:` and `-`, up to 128 characters. */
export const API_METHOD_RE: RegExp = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Registered module APIs.
 *
 * @example
 * ```ts
 * import { ApiRegistry } from "@blvm/node";
 * const apis = new ApiRegistry();
 * apis.register("mesh", "1.0.0", ["route_packet", "status"]);
 * apis.register("stats", "0.2.0", ["status"]);
 * console.log(apis.providers("route_packet"), apis.providers("status")); // ["mesh"] ["mesh", "stats"]
 * ```
 */
export class ApiRegistry {
  readonly #apis = new Map<string, RegisteredApi>();
  readonly #waiters = new Map<string, Set<() => void>>();

  /**
   * Register or replace a module's API.
   *
   * @param module The module name.
   * @param version The API version.
   * @param methods Its method names.
   * @returns The methods, sorted.
   */
  register(module: string, version: string, methods: string[]): string[] {
    const set = new Set(methods);
    this.#apis.set(module, { version, methods: set });
    const waiters = this.#waiters.get(module);
    this.#waiters.delete(module);
    for (const w of waiters ?? []) w();
    return [...set].sort();
  }

  /**
   * Wait until a module has registered an API (at once if it has).
   *
   * @param module The module name.
   * @param signal Gives up: the promise rejects with the signal's reason.
   * @returns Resolves once it is registered.
   */
  registered(module: string, signal: AbortSignal): Promise<void> {
    if (this.#apis.has(module)) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let set = this.#waiters.get(module);
      if (!set) this.#waiters.set(module, set = new Set());
      const done = () => {
        signal.removeEventListener("abort", abort);
        resolve();
      };
      const abort = () => {
        set.delete(done);
        reject(signal.reason);
      };
      set.add(done);
      signal.addEventListener("abort", abort, { once: true });
    });
  }

  /**
   * Withdraw a module's API (it unregistered or disconnected).
   *
   * @param module The module name.
   * @returns Whether it had one.
   */
  unregister(module: string): boolean {
    return this.#apis.delete(module);
  }

  /**
   * A module's API.
   *
   * @param module The module name.
   * @returns It, or `undefined`.
   */
  get(module: string): RegisteredApi | undefined {
    return this.#apis.get(module);
  }

  /**
   * The modules that serve a method.
   *
   * @param method The method name.
   * @returns Module names, sorted.
   */
  providers(method: string): string[] {
    const out: string[] = [];
    for (const [name, api] of this.#apis) if (api.methods.has(method)) out.push(name);
    return out.sort();
  }
}
