/**
 * The dev node's wallet: secp256k1 keys kept in the node's store (its data dir), P2WPKH regtest
 * addresses, and signed spends of its coins built with `@scure/btc-signer` (coin selection included).
 * It is a development wallet: keys are stored unencrypted.
 *
 * @module
 */
import * as btc from "@scure/btc-signer";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { toHex } from "../header.ts";
import { CONSENSUS, REGTEST } from "./params.ts";
import type { NodeStore } from "./store.ts";

/** A coin the wallet may spend. */
export interface WalletCoin {
  /** Transaction id. */
  txid: string;
  /** Output index. */
  vout: number;
  /** Satoshis. */
  value: number;
  /** Output script (one of the wallet's). */
  script: Uint8Array;
}

/**
 * A send the wallet cannot make: a bad address or amount, or not enough spendable coins.
 *
 * @example
 * ```ts
 * import { WalletError } from "@blvm/node";
 * console.log(new WalletError("insufficient funds").name); // WalletError
 * ```
 */
export class WalletError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "WalletError";
  }
}

/**
 * Parse a regtest address into its output script.
 *
 * @param address A regtest address (`bcrt1...`, `m...`, `n...`, `2...`).
 * @returns The output script.
 * @throws {WalletError} naming the address if it does not parse as regtest.
 *
 * @example
 * ```ts
 * import { addressScript, toHex } from "@blvm/node";
 * console.log(toHex(addressScript("bcrt1q2vrjxm3d2pc58hjzr95wkk8qmc2v0re0fr63h3")).slice(0, 4)); // "0014"
 * ```
 */
export function addressScript(address: string): Uint8Array {
  try {
    return btc.OutScript.encode(btc.Address(REGTEST).decode(address));
  } catch (e) {
    throw new WalletError(`'${address}' is not a regtest address: ${(e as Error).message}`);
  }
}

/** Bitcoin Core's dust threshold at 3 sat/vB for an output script: below it, an output costs more to spend than it holds. */
function dustLimit(script: Uint8Array): number {
  if (script[0] === 0x00 && script.length === 22) return 294; // P2WPKH
  if ((script[0] === 0x00 || script[0] === 0x51) && script.length === 34) return 330; // P2WSH, P2TR
  return script[0] === 0xa9 ? 540 : 546; // P2SH, P2PKH and others
}

/**
 * Whether `address` parses as a regtest address.
 *
 * @param address Any string.
 * @returns `true` for a regtest address.
 *
 * @example
 * ```ts
 * import { isRegtestAddress } from "@blvm/node";
 * console.log(isRegtestAddress("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")); // false: mainnet
 * ```
 */
export function isRegtestAddress(address: string): boolean {
  try {
    addressScript(address);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wallet. Each key pays to its own P2WPKH address; key 0 is the default receive address.
 *
 * @example
 * ```ts
 * import { DevWallet, NodeStore } from "@blvm/node";
 * const wallet = DevWallet.load(NodeStore.open(":memory:"));
 * console.log(wallet.address().startsWith("bcrt1q")); // true
 * ```
 */
export class DevWallet {
  readonly #store: NodeStore;
  readonly #keys: { secret: Uint8Array; script: Uint8Array; address: string }[] = [];
  readonly #byScript = new Map<string, Uint8Array>();

  private constructor(store: NodeStore) {
    this.#store = store;
  }

  /**
   * Load the wallet's keys from `store`, creating the first key if there is none.
   *
   * @param store The node's store.
   * @returns The wallet.
   */
  static load(store: NodeStore): DevWallet {
    const w = new DevWallet(store);
    for (const secret of store.keys()) w.#add(secret);
    if (w.#keys.length === 0) w.newAddress();
    return w;
  }

  /** How many keys the wallet holds. */
  get size(): number {
    return this.#keys.length;
  }

  /** The address of key `index` (default 0). */
  address(index = 0): string {
    return this.#key(index).address;
  }

  /** The output script of key `index` (default 0). */
  script(index = 0): Uint8Array {
    return this.#key(index).script;
  }

  /**
   * Make a new key and return its address.
   *
   * @returns The new address.
   */
  newAddress(): string {
    const secret = secp256k1.utils.randomSecretKey();
    this.#store.addKey(secret);
    return this.#add(secret).address;
  }

  /** Whether an output script is one of the wallet's. */
  owns(script: Uint8Array): boolean {
    return this.#byScript.has(toHex(script));
  }

  /**
   * Build and sign a transaction paying `amount` sats to `to`, choosing from `coins` and returning
   * change to the default address.
   *
   * @param to The receiving address.
   * @param amount Satoshis to pay, at least the dust limit of the address's type (294 for P2WPKH, 546 for P2PKH)
   *   and at most 21,000,000 BTC.
   * @param feeRate Fee rate, sat/vB; fractions round up to whole sat/vB.
   * @param coins Spendable coins (the wallet's, mature, not spent in the mempool).
   * @returns The signed transaction's bytes.
   * @throws {WalletError} for a bad address, amount or fee rate, or too few funds.
   */
  send(to: string, amount: number, feeRate: number, coins: readonly WalletCoin[]): Uint8Array {
    const script = addressScript(to);
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > CONSENSUS.maxMoney) {
      throw new WalletError(
        `the amount must be a whole number of sats from 1 to ${CONSENSUS.maxMoney} (21,000,000 BTC), got ${amount}`,
      );
    }
    const dust = dustLimit(script);
    if (amount < dust) {
      throw new WalletError(`the amount ${amount} sats is below the dust limit ${dust} sats for ${to}`);
    }
    if (!(feeRate > 0) || !Number.isFinite(feeRate)) {
      throw new WalletError(`the fee rate must be positive, got ${feeRate}`);
    }
    const available = coins.reduce((n, c) => n + c.value, 0);
    const inputs = coins.map((c) => ({
      txid: c.txid,
      index: c.vout,
      witnessUtxo: { script: c.script, amount: BigInt(c.value) },
    }));
    const selected = btc.selectUTXO(inputs, [{ address: to, amount: BigInt(amount) }], "default", {
      feePerByte: BigInt(Math.ceil(feeRate)),
      changeAddress: this.address(),
      network: REGTEST,
      createTx: true,
      bip69: true,
    });
    if (!selected || !selected.tx) {
      throw new WalletError(
        `insufficient funds: ${amount} sats at ${feeRate} sat/vB needs more than the ${available} sats spendable`,
      );
    }
    const tx = selected.tx;
    for (const { secret } of this.#keys) {
      try {
        tx.sign(secret);
      } catch { /* no input of this key */ }
    }
    tx.finalize();
    return tx.extract();
  }

  #key(index: number) {
    const k = this.#keys[index];
    if (!k) throw new WalletError(`the wallet has no key ${index}; it holds ${this.#keys.length}`);
    return k;
  }

  #add(secret: Uint8Array) {
    const pay = btc.p2wpkh(secp256k1.getPublicKey(secret, true), REGTEST);
    const key = { secret, script: pay.script, address: pay.address! };
    this.#keys.push(key);
    this.#byScript.set(toHex(pay.script), secret);
    return key;
  }
}
