/**
 * The first-message gate both sides use during the handshake: the first message settles a promise,
 * later ones are held until the session exists, then everything goes to its dispatcher.
 *
 * @module
 */
import type { Message } from "../protocol/messages.ts";

/**
 * Routes messages during and after a handshake.
 *
 * @example
 * ```ts
 * import { HandshakeGate } from "@blvm/node";
 * const gate = new HandshakeGate();
 * gate.push({ kind: "cancel", id: 1 }); // the first message
 * gate.push({ kind: "cancel", id: 2 }); // held
 * console.log((await gate.first).kind); // "cancel"
 * const seen: number[] = [];
 * gate.open((m) => m.kind === "cancel" && seen.push(m.id));
 * console.log(seen); // [2]
 * ```
 */
export class HandshakeGate {
  /** Settles with the first message, or with the error passed to {@link HandshakeGate.fail}. */
  readonly first: Promise<Message>;
  #resolve!: (m: Message) => void;
  #reject!: (e: unknown) => void;
  #seen = false;
  #held: Message[] = [];
  #dispatch: ((m: Message) => void) | undefined;

  constructor() {
    this.first = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.first.catch(() => {}); // a failure is reported to whoever awaits `first`
  }

  /** Whether {@link HandshakeGate.open} has been called. */
  get isOpen(): boolean {
    return this.#dispatch !== undefined;
  }

  /**
   * Route one incoming message; use it as the connection's `onMessage`.
   *
   * @param m The message.
   */
  push(m: Message): void {
    if (this.#dispatch) this.#dispatch(m);
    else if (this.#seen) this.#held.push(m);
    else {
      this.#seen = true;
      this.#resolve(m);
    }
  }

  /**
   * Fail the handshake if the first message has not arrived (for example, the connection closed).
   *
   * @param error The reason.
   */
  fail(error: unknown): void {
    if (!this.#seen) this.#reject(error);
  }

  /**
   * The session exists: deliver the held messages to it, then everything after.
   *
   * @param dispatch The session's dispatcher.
   * @param defer Deliver held messages on a later task (so the caller can register handlers first).
   */
  open(dispatch: (m: Message) => void, defer = false): void {
    this.#dispatch = dispatch;
    const held = this.#held.splice(0);
    if (held.length === 0) return;
    if (defer) setTimeout(() => held.forEach(dispatch), 0);
    else held.forEach(dispatch);
  }
}
