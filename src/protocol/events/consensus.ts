/**
 * Consensus events: block, script and UTXO validation, rule violations, difficulty adjustments and
 * soft-fork deployment. All are node-owned; the per-input script verification events are lossy, the
 * rest lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const lossy = { category: "consensus", owner: "node", delivery: "lossy" } as const;
const lossless = { category: "consensus", owner: "node", delivery: "lossless" } as const;

/**
 * The consensus category.
 *
 * @example
 * ```ts
 * import { CONSENSUS_EVENTS } from "@blvm/node/protocol";
 * console.log(CONSENSUS_EVENTS.BlockValidationCompleted.fields.error); // "string?"
 * ```
 */
export const CONSENSUS_EVENTS = {
  BlockValidationStarted: {
    ...lossless,
    doc: "The node began validating a block before connecting it.",
    fields: { block_hash: "hash", height: "uint" },
  },
  BlockValidationCompleted: {
    ...lossless,
    doc: "Validation of a block finished; when `success` is false, `error` says which check failed.",
    fields: { block_hash: "hash", height: "uint", success: "bool", validation_time_ms: "uint", error: "string?" },
  },
  ConsensusRuleViolation: {
    ...lossless,
    doc: "A block or transaction broke consensus rule `rule_name`; `block_hash` or `tx_hash` says which.",
    fields: { rule_name: "string", block_hash: "hash?", tx_hash: "hash?", error: "string" },
  },
  ScriptVerificationStarted: {
    ...lossy,
    doc: "Script verification of input `input_index` of a transaction began.",
    fields: { tx_hash: "hash", input_index: "uint" },
  },
  ScriptVerificationCompleted: {
    ...lossy,
    doc: "Script verification of input `input_index` of a transaction finished.",
    fields: { tx_hash: "hash", input_index: "uint", success: "bool", verification_time_ms: "uint" },
  },
  UTXOValidationStarted: {
    ...lossless,
    doc: "The node began checking a block's inputs against the UTXO set.",
    fields: { block_hash: "hash", height: "uint" },
  },
  UTXOValidationCompleted: {
    ...lossless,
    doc: "The UTXO check of a block finished.",
    fields: { block_hash: "hash", height: "uint", success: "bool" },
  },
  DifficultyAdjusted: {
    ...lossless,
    doc: "The proof-of-work target was retargeted at `height`; both difficulties are compact `bits` values.",
    fields: { old_difficulty: "uint", new_difficulty: "uint", height: "uint" },
  },
  SoftForkActivated: {
    ...lossless,
    doc: "The soft fork `fork_name` (for example `taproot`) became active at `height`.",
    fields: { fork_name: "string", height: "uint" },
  },
  SoftForkLockedIn: {
    ...lossless,
    doc: "The soft fork `fork_name` locked in at `height` and will activate later.",
    fields: { fork_name: "string", height: "uint" },
  },
} as const satisfies Record<string, EventSpec>;
