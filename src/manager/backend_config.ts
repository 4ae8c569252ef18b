/**
 * The `[node]` section of `blvm.toml`: which node backend the host fronts and its settings. Today the
 * only backend is the embedded regtest dev node (`backend = "dev"`).
 *
 * @example
 * ```toml
 * [node]
 * backend = "dev"
 * data_dir = "./data/node"
 * min_fee_rate = 1
 * [node.demo]
 * block_interval = 10
 * tx_interval = 2
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigFileError, describeValue, issuesFromZod, isTable } from "./config_error.ts";
import { isRegtestAddress } from "../node/dev/wallet.ts";

/** Demo traffic: a block every `block_interval` seconds and wallet payments every `tx_interval`. */
export interface DemoConfig {
  /** Whether `deno task start` generates traffic. */
  enabled: boolean;
  /** Seconds between mined blocks; 0 = none. */
  block_interval: number;
  /** Seconds between wallet transactions; 0 = none. */
  tx_interval: number;
  /** Lowest fee rate of demo transactions, sat/vB. */
  min_fee_rate: number;
  /** Highest fee rate of demo transactions, sat/vB. */
  max_fee_rate: number;
}

/** The validated `[node]` section. */
export interface BackendConfig {
  /** The backend: `dev`, the embedded regtest node. */
  backend: "dev";
  /** Absolute folder for the dev node's state. */
  data_dir: string;
  /** Where mined coinbases pay, a regtest address; default the dev wallet. */
  coinbase_address?: string;
  /** Mempool minimum fee rate, sat/vB. */
  min_fee_rate: number;
  /** Most transactions the mempool holds. */
  max_mempool_txs: number;
  /** Mempool size above which `MempoolThresholdExceeded` is published. */
  mempool_threshold: number;
  /** Demo traffic. */
  demo: DemoConfig;
}

const seconds = z.number().min(0).max(86_400);
const feeRate = z.number().min(0).max(100_000);
const demoSchema = z.strictObject({
  enabled: z.boolean().default(true),
  block_interval: seconds.default(10),
  tx_interval: seconds.default(2),
  min_fee_rate: feeRate.default(1),
  max_fee_rate: feeRate.default(50),
}).refine((d) => d.min_fee_rate <= d.max_fee_rate, {
  error: "min_fee_rate must not be above max_fee_rate",
  path: ["min_fee_rate"],
});
const nodeSchema = z.strictObject({
  backend: z.enum(["dev"], {
    error: (i) => `expected "dev" (the embedded regtest node), got ${describeValue(i.input)}`,
  })
    .default("dev"),
  data_dir: z.string().min(1).default("./data/node"),
  coinbase_address: z.string().refine(isRegtestAddress, {
    error: (i) => `expected a regtest address (bcrt1..., m..., n... or 2...), got ${describeValue(i.input)}`,
  }).optional(),
  min_fee_rate: feeRate.default(1),
  max_mempool_txs: z.int().min(1).max(10_000_000).default(50_000),
  mempool_threshold: z.int().min(1).max(10_000_000).default(40_000),
  demo: demoSchema.default({ enabled: true, block_interval: 10, tx_interval: 2, min_fee_rate: 1, max_fee_rate: 50 }),
});

/**
 * Check the `[node]` table of a parsed `blvm.toml`.
 *
 * @param section The table (`undefined` when absent: every default applies).
 * @param file The file, for error messages.
 * @param baseDir What a relative `data_dir` is resolved against.
 * @returns The section with defaults applied.
 * @throws {ConfigFileError} naming every bad field.
 *
 * @example
 * ```ts
 * import { parseBackendConfig } from "./backend_config.ts";
 * const c = parseBackendConfig({ demo: { tx_interval: 0 } }, "blvm.toml", "/srv");
 * console.log(c.data_dir, c.demo.tx_interval, c.demo.block_interval); // /srv/data/node 0 10
 * ```
 */
export function parseBackendConfig(section: unknown, file: string, baseDir: string): BackendConfig {
  if (section !== undefined && !isTable(section)) {
    throw new ConfigFileError(file, [{
      file,
      field: "node",
      message: `expected a [node] table, got ${describeValue(section)}`,
    }]);
  }
  const r = nodeSchema.safeParse(section ?? {}, { reportInput: true });
  if (!r.success) throw new ConfigFileError(file, issuesFromZod(file, r.error, "node"));
  return { ...r.data, data_dir: resolve(baseDir, r.data.data_dir) };
}
