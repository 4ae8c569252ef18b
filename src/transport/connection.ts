/**
 * A message connection over one stream socket, used by both the host and the module SDK.
 *
 * Reading: one reusable buffer, frames parsed in place, every complete frame decoded and dispatched
 * synchronously, so there is no `await` per message. Writing: messages are encoded straight into an
 * output buffer; when the socket is idle the write starts once the current turn's microtasks have run
 * (so everything one read batch produced, even by async handlers, goes out in one write), and while a
 * write is in flight new messages go into a second buffer, which is written next as one batch.
 *
 * @module
 */
import { decode } from "../protocol/decoder.ts";
import { EncodeBuffer } from "../protocol/encoder.ts";
import { ErrorCode, ProtocolError } from "../protocol/errors.ts";
import { FrameReader } from "../protocol/frame.ts";
import { type Message, parseMessage } from "../protocol/messages.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/version.ts";

/** Why a connection ended. */
export interface CloseInfo {
  /** An `ErrorCode` value; `CONNECTION_CLOSED` for an ordinary close. */
  code: string;
  /** Human-readable reason. */
  message: string;
  /** `local` if this side closed it (including for a protocol violation), `remote` if the peer did. */
  initiator: "local" | "remote";
}

/** Options for {@link Connection}. */
export interface ConnectionOptions {
  /**
   * Called synchronously for each valid message, in order. It should not throw: an exception is a bug on
   * this side, so the connection is closed with `INTERNAL` (the peer is told) and nothing after that
   * message is delivered; the exception goes no further.
   */
  onMessage: (message: Message) => void;
  /**
   * Called for a decodable frame that is not a valid message. Return `true` if it was handled (for
   * example, answered with an error response) and the connection should stay open. Default: close.
   * An exception closes the connection as for `onMessage`.
   */
  onInvalid?: (error: ProtocolError) => boolean;
  /** Called once when the connection has ended, with the reason. */
  onClose?: (info: CloseInfo) => void;
  /** Largest accepted frame body. Default 4 MiB. */
  maxFrameBytes?: number;
  /**
   * Outgoing bytes that may wait unwritten (a peer that stops reading). Once a message pushes the queue
   * past it, the queue is discarded and the connection is closed with `SLOW_CONSUMER`, so memory stays
   * bounded. Default: no limit.
   */
  maxBufferedBytes?: number;
  /** Most map entries one incoming frame may hold (maps are slow to build); more is `MALFORMED_FRAME`. Default: no cap. */
  maxMapEntries?: number;
}

/**
 * A framed MessagePack connection. Call {@link Connection.start} to begin reading.
 *
 * @example Two ends of a Unix socket
 * ```ts ignore
 * import { Connection } from "@blvm/node";
 * const conn = await Deno.connect({ transport: "unix", path: "/run/blvm/x.sock" });
 * const c = new Connection(conn, { onMessage: (m) => console.log(m.kind) });
 * c.start();
 * c.send({ kind: "log", level: "info", message: "hello" });
 * await c.close();
 * ```
 */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #reader: FrameReader;
  #max: number;
  readonly #opts: ConnectionOptions;
  #out = new EncodeBuffer();
  #spare = new EncodeBuffer();
  #inFlight = 0;
  #writing = false;
  #closing = false;
  #cutOff = false;
  #info: CloseInfo | undefined;
  #drainWaiters: { lowWater: number; resolve: () => void }[] = [];
  /** Called after each batch is written, when there is room again: the event queue refills from it. */
  onWritable: (() => void) | undefined;
  /**
   * Called right before each batch is handed to the socket: the host writes its delivery journal there, so
   * that no journaled event reaches a module before it is on disk.
   */
  beforeWrite: (() => void) | undefined;
  /** A write is due at the end of this turn (see {@link Connection.flush}). */
  #scheduled = false;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;

  /**
   * Wrap an open socket. Nothing is read until {@link Connection.start} is called.
   *
   * @param conn An open stream connection (normally a Unix socket).
   * @param options Callbacks and limits.
   */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.#conn = conn;
    this.#opts = options;
    this.#max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#reader = new FrameReader({ maxFrameBytes: this.#max });
    this.#closed = new Promise((r) => this.#resolveClosed = r);
  }

  /** Resolves with the reason once the connection has ended. */
  get closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  /** Whether the connection has ended or is closing. */
  get isClosed(): boolean {
    return this.#closing || this.#info !== undefined;
  }

  /** Outgoing bytes not yet written to the socket. */
  get bufferedBytes(): number {
    return this.#out.length + this.#inFlight;
  }

  /** Largest frame body accepted in either direction. */
  get maxFrameBytes(): number {
    return this.#max;
  }

  /**
   * Change the frame size limit, for example to the one the host announced in the handshake. It applies
   * to the frames read from then on (bytes already buffered are kept) and to every message sent. A limit
   * beyond 2^32-1 reads as 2^32-1, the most a length prefix can say.
   */
  set maxFrameBytes(bytes: number) {
    this.#reader.maxFrameBytes = Math.min(bytes, 0xffff_ffff);
    this.#max = bytes;
  }

  /** Begin the read loop. */
  start(): void {
    this.#readLoop();
  }

  /**
   * Queue one message for sending.
   *
   * @param message The message; it is encoded now.
   * @returns `false` if the connection is closed and nothing was queued.
   * @throws {TypeError|RangeError} if the message holds a value MessagePack cannot carry, or its
   * frame would exceed {@link Connection.maxFrameBytes} (the peer would reject it).
   */
  send(message: Message): boolean {
    if (this.isClosed) return false;
    const before = this.#out.length;
    const size = this.#out.frame(message);
    if (size - 4 > this.#max) {
      this.#out.truncate(before);
      throw new RangeError(
        `Cannot send '${message.kind}': its frame of ${size - 4} bytes exceeds the ${this.#max}-byte maximum`,
      );
    }
    return this.#queued();
  }

  /**
   * Queue an already encoded frame (length prefix included), for example one event encoded once for
   * every subscriber.
   *
   * @param frame The frame bytes; copied before this returns.
   * @returns `false` if the connection is closed.
   * @throws {RangeError} if the frame exceeds {@link Connection.maxFrameBytes}.
   */
  sendFrame(frame: Uint8Array): boolean {
    if (this.isClosed) return false;
    if (frame.length - 4 > this.#max) {
      throw new RangeError(
        `Cannot send a frame of ${frame.length - 4} bytes: it exceeds the ${this.#max}-byte maximum`,
      );
    }
    this.#out.raw(frame);
    return this.#queued();
  }

  /** After a message was added to the output: cut off a peer past its budget, else start writing. */
  #queued(): boolean {
    const budget = this.#opts.maxBufferedBytes;
    if (budget !== undefined && this.bufferedBytes > budget && !this.#cutOff) {
      this.#cutOff = true;
      const unwritten = this.bufferedBytes;
      // A fresh buffer, so the memory the queued bytes took can be reclaimed now.
      this.#out = new EncodeBuffer();
      this.close(
        ErrorCode.SlowConsumer,
        `Peer stopped reading: ${unwritten} bytes waited unwritten, over the ${budget}-byte budget`,
        200,
      );
      return false;
    }
    this.#kick();
    return true;
  }

  /**
   * Resolves once at most `lowWater` bytes are still queued (or the connection ended). Producers use
   * it for back-pressure: `if (c.bufferedBytes > high) await c.drained(low)`.
   *
   * @param lowWater Queued bytes to wait down to. Default 0: everything written.
   */
  drained(lowWater = 0): Promise<void> {
    if (this.bufferedBytes <= lowWater || this.#info) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push({ lowWater, resolve }));
  }

  #wakeDrainWaiters(all: boolean): void {
    if (this.#drainWaiters.length === 0) return;
    const buffered = this.bufferedBytes;
    this.#drainWaiters = this.#drainWaiters.filter((w) => {
      if (!all && buffered > w.lowWater) return true;
      w.resolve();
      return false;
    });
  }

  /**
   * Close the connection. With a `code`, first send a `close` message saying why (the reason cut to 1024
   * characters; none if even that does not fit in a frame), and give queued bytes up to `flushMs` to
   * drain.
   *
   * @param code Optional `ErrorCode` to tell the peer.
   * @param message Reason text, sent with `code` and reported by {@link Connection.closed}.
   * @param flushMs How long to wait for queued bytes. Default 1000 ms.
   * @returns The close reason.
   */
  async close(code?: string, message = "Closed by this side", flushMs = 1000): Promise<CloseInfo> {
    if (this.#closing || this.#info) return this.#closed;
    if (code) {
      try {
        this.send({ kind: "close", code, message: message.length > 1024 ? `${message.slice(0, 1024)}...` : message });
      } catch {
        // The frame limit leaves no room for a close frame: close without one.
      }
    }
    this.#closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.drained(), new Promise<void>((r) => timer = setTimeout(r, flushMs))]);
    clearTimeout(timer);
    this.#finish({ code: code ?? ErrorCode.ConnectionClosed, message, initiator: "local" });
    return this.#closed;
  }

  #finish(info: CloseInfo): void {
    if (this.#info) return;
    this.#info = info;
    this.#closing = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#wakeDrainWaiters(true);
    this.#resolveClosed(info);
    try {
      this.#opts.onClose?.(info);
    } catch (e) {
      // A bug in the callback must not escape from wherever the connection happened to end, nor pass unseen.
      console.error("Connection onClose callback failed:", e);
    }
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    try {
      while (!this.#info) {
        const n = await this.#conn.read(reader.writable());
        if (n === null) {
          return this.#finish({
            code: ErrorCode.ConnectionClosed,
            message: "Peer closed the connection",
            initiator: "remote",
          });
        }
        reader.commit(n);
        for (let body = reader.next(); body !== null && !this.#info; body = reader.next()) {
          this.#dispatch(body);
        }
      }
    } catch (e) {
      if (this.#info) return;
      if (e instanceof ProtocolError) {
        // Tell the peer why, then close; the reason is what `closed` reports.
        this.close(e.code, e.message, 200);
        return;
      }
      this.#finish({
        code: ErrorCode.ConnectionClosed,
        message: `Read failed: ${(e as Error).message}`,
        initiator: "remote",
      });
    }
  }

  #dispatch(body: Uint8Array): void {
    let message: Message;
    try {
      message = parseMessage(decode(body, this.#opts.maxMapEntries));
    } catch (e) {
      if (e instanceof ProtocolError && e.code === ErrorCode.InvalidMessage && this.#handle(this.#opts.onInvalid, e)) {
        return;
      }
      throw e;
    }
    if (message.kind === "close") {
      this.#finish({ code: message.code, message: `Peer closed: ${message.message}`, initiator: "remote" });
      return;
    }
    this.#handle(this.#opts.onMessage, message);
  }

  /** Calls an owner's callback; its exception becomes an `INTERNAL` ProtocolError, which closes the connection. */
  #handle<A, R>(callback: ((arg: A) => R) | undefined, arg: A): R | undefined {
    try {
      return callback?.call(this.#opts, arg);
    } catch (e) {
      const why = e instanceof Error ? e.message : typeof e === "string" ? e : typeof e;
      throw new ProtocolError(ErrorCode.Internal, `Message handler failed: ${why}`, { cause: e });
    }
  }

  /**
   * Start writing what is queued now, instead of at the end of this turn's microtasks: before the process
   * exits (the SDK calls it on `unload`, so `log(…); Deno.exit()` loses nothing).
   */
  flush(): void {
    this.#scheduled = false;
    if (this.#writing || this.#out.length === 0) return;
    this.#writing = true;
    this.#flush();
  }

  #kick(): void {
    if (this.#writing || this.#scheduled) return;
    // Idle: write once this turn's microtasks have run, so that everything one read batch produced (the
    // answers to pipelined requests, the next requests of callers that were waiting) goes out in one
    // write. Whatever is queued while that write is in flight goes out as the next batch.
    this.#scheduled = true;
    queueMicrotask(this.#flushSoon);
  }

  readonly #flushSoon = () => {
    if (this.#scheduled) this.flush();
  };

  async #flush(): Promise<void> {
    try {
      while (this.#out.length > 0 && !this.#info) {
        this.beforeWrite?.();
        const buf = this.#out;
        this.#out = this.#spare;
        this.#spare = buf;
        const bytes = buf.bytes();
        for (let off = 0; off < bytes.length;) {
          this.#inFlight = bytes.length - off;
          off += await this.#conn.write(bytes.subarray(off));
          this.#inFlight = bytes.length - off;
          this.#wakeDrainWaiters(false);
        }
        buf.reset();
        this.onWritable?.();
      }
    } catch (e) {
      this.#inFlight = 0;
      if (!this.#info) {
        this.#finish({
          code: ErrorCode.ConnectionClosed,
          message: `Write failed: ${(e as Error).message}`,
          initiator: "remote",
        });
      }
    } finally {
      this.#writing = false;
      this.#wakeDrainWaiters(this.#info !== undefined);
    }
  }
}
