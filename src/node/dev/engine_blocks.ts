/**
 * How the dev node takes a block: decoded (a chunk of transactions at a time), checked and stored,
 * then connected if it extends the tip, or, if its branch now has the most work, switched to (a
 * reorg); with the validation, `NewBlock` and mempool events that follow. Validation and the store's
 * rows go a chunk at a time; memory changes in one step, together with the commit.
 *
 * @module
 */
import type { SubmitBlockResult } from "../../protocol/chain.ts";
import { sha256d, toHex } from "../header.ts";
import { decodeBlockSteps, type DecodedBlock } from "./block_codec.ts";
import type { KnownRoots } from "./block_rules.ts";
import { BlockRejectedError, type IndexEntry, type PendingConnect } from "./chainstate.ts";
import { announceRemovals, atomically, atomicSteps, emit, type EngineCore, poolChanged } from "./engine_core.ts";
import { finishReorg, rewindTo } from "./engine_reorg.ts";
import { runSteps, type Steps, TURN } from "./steps.ts";

/**
 * Transactions from which a block connected by an async operation has the store's log checkpointed
 * by a worker thread ({@link NodeStore.checkpointInBackground}) rather than by SQLite in its commit.
 */
const LARGE_BLOCK_TXS = 100;

/**
 * Decode, check, store and, if it is the best chain, connect a block: one store transaction.
 *
 * @param core The engine.
 * @param bytes The serialized block.
 * @param mined Whether the dev node mined it (`BlockMined` follows).
 * @returns Steps returning the result.
 */
export function* processSteps(core: EngineCore, bytes: Uint8Array, mined: boolean): Steps<SubmitBlockResult> {
  let block: DecodedBlock;
  try {
    block = yield* decodeBlockSteps(bytes);
  } catch (e) {
    const hash = bytes.length >= 80 ? toHex(sha256d(bytes.subarray(0, 80)).reverse()) : null;
    return { status: "rejected", hash, reason: `malformed: ${(e as Error).message}` };
  }
  return yield* atomicSteps(core, () => processDecodedSteps(core, block, bytes, mined));
}

/**
 * Store and connect a decoded block. From the last yield of connecting it to the end there is none:
 * memory changes together with the commit.
 *
 * @param core The engine.
 * @param block The decoded block.
 * @param bytes Its bytes.
 * @param mined Whether the dev node mined it.
 * @param known Its merkle roots, if the caller computed them already.
 * @returns Steps returning the result.
 */
export function* processDecodedSteps(
  core: EngineCore,
  block: DecodedBlock,
  bytes: Uint8Array,
  mined: boolean,
  known?: KnownRoots,
): Steps<SubmitBlockResult> {
  const { chain } = core;
  const seen = chain.entry(block.hash);
  if (seen) {
    return seen.status === "invalid"
      ? { status: "rejected", hash: block.hash, reason: "duplicate-invalid: the block is known to be invalid" }
      : { status: "duplicate", hash: block.hash, reason: null };
  }
  let entry: IndexEntry;
  try {
    entry = chain.accept(block, bytes, core.opts.clock(), known);
  } catch (e) {
    if (!(e instanceof BlockRejectedError)) throw e;
    const height = (chain.entry(block.header.prev_hash)?.height ?? -1) + 1;
    validated(core, block.hash, height, performance.now(), e.message);
    return { status: "rejected", hash: block.hash, reason: e.message };
  }
  const tip = chain.tip();
  if (entry.header.prev_hash === tip.hash) {
    yield;
    const error = yield* connectSteps(core, entry, mined, block, true);
    return error
      ? { status: "rejected", hash: entry.hash, reason: error }
      : { status: "accepted", hash: entry.hash, reason: null };
  }
  if (entry.work <= tip.work) {
    return {
      status: "inconclusive",
      hash: entry.hash,
      reason: "stored on a side branch with no more work than the tip",
    };
  }
  reorgToBest(core, tip);
  if (chain.onMain(entry.hash)) return { status: "accepted", hash: entry.hash, reason: null };
  return chain.best().hash === chain.tip().hash && !chain.valid(entry)
    ? { status: "rejected", hash: entry.hash, reason: "its branch failed validation; see BlockValidationCompleted" }
    : { status: "inconclusive", hash: entry.hash, reason: "stored on a side branch that is not the best chain" };
}

/** Validate and connect a child of the tip, in one go, memory included; the error message if it failed. */
function connect(core: EngineCore, entry: IndexEntry, mined: boolean, block?: DecodedBlock): string | undefined {
  return runSteps(connectSteps(core, entry, mined, block, false));
}

/**
 * Validate and connect a child of the tip; the error message if it failed. Validation and the
 * store's rows (the chain's, then the mempool's) go a chunk at a time; then, with no yield until the
 * commit that follows, memory changes and the events are published.
 */
function* connectSteps(
  core: EngineCore,
  entry: IndexEntry,
  mined: boolean,
  block: DecodedBlock | undefined,
  deferrable: boolean,
): Steps<string | undefined> {
  const { chain, pool } = core;
  const t0 = performance.now();
  if (core.queue.stepping && block && block.txs.length >= LARGE_BLOCK_TXS) {
    // Clear the log now, so that this block's commit does not find it full and checkpoint it there.
    core.store.checkpointInBackground();
    core.largeCommit = true;
  }
  emit(core, { type: "BlockValidationStarted", payload: { block_hash: entry.hash, height: entry.height } });
  let pending: PendingConnect;
  try {
    pending = yield* chain.connectSteps(entry, (w) => pool.verified(w), block);
  } catch (e) {
    if (!(e instanceof BlockRejectedError)) throw e;
    validated(core, entry.hash, entry.height, t0, e.message, false);
    return e.message;
  }
  const plan = yield* pool.planBlockRemovalSteps(pending.connected.txs);
  yield* pool.forgetSteps(plan);
  // The commit that follows starts a slice of its own.
  yield TURN;
  // Memory follows in one step: after the commit if this block is the whole change (readers see
  // the node as it was until then), now if more of the change follows (a reorg).
  const apply = () => {
    pending.apply();
    pool.applyRemovals(plan);
    validated(core, entry.hash, entry.height, t0, null, false);
    const { hash, height, header } = pending.connected.entry;
    emit(core, { type: "NewBlock", payload: { hash, height, prev_hash: header.prev_hash, time: header.time } });
    announceRemovals(core, plan.removals);
    core.poolVersion++;
    if (mined) emit(core, { type: "BlockMined", payload: { block_hash: hash, height, miner_id: "devnode" } });
    poolChanged(core);
  };
  if (deferrable) core.changes.afterCommit(apply);
  else apply();
  return undefined;
}

function validated(
  core: EngineCore,
  hash: string,
  height: number,
  t0: number,
  error: string | null,
  started = true,
): void {
  if (started) emit(core, { type: "BlockValidationStarted", payload: { block_hash: hash, height } });
  emit(core, {
    type: "BlockValidationCompleted",
    payload: {
      block_hash: hash,
      height,
      success: error === null,
      validation_time_ms: Math.round(performance.now() - t0),
      error,
    },
  });
}

/**
 * Switch to the valid branch with the most work. If a block of it fails, it is marked invalid and
 * the node switches to the best valid branch again (the old chain, first seen, on equal work).
 * One `ChainReorg` from `before` to where the node ends up.
 */
function reorgToBest(core: EngineCore, before: IndexEntry): void {
  const { chain } = core;
  for (let best = chain.best(); best.hash !== chain.tip().hash; best = chain.best()) {
    const fork = chain.fork(best);
    atomically(core, () => rewindTo(core, fork));
    for (const e of chain.branch(best)) {
      if (connect(core, e, false) !== undefined) break;
    }
  }
  finishReorg(core, before);
}
