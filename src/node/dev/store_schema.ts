/**
 * The dev node's SQLite schema and the rows it reads back: blocks with their validity and undo data,
 * the main chain, the UTXO set, the transaction index, the mempool, the wallet's keys and metadata.
 *
 * @module
 */

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = "1";

/** The tables, created if missing. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  hash TEXT PRIMARY KEY, prev_hash TEXT NOT NULL, height INTEGER NOT NULL, header BLOB NOT NULL,
  raw BLOB NOT NULL, status TEXT NOT NULL, undo TEXT, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chain (height INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS utxos (
  txid TEXT NOT NULL, vout INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
  height INTEGER NOT NULL, coinbase INTEGER NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txindex (
  txid TEXT PRIMARY KEY, block_hash TEXT NOT NULL, position INTEGER NOT NULL, outputs INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mempool (txid TEXT PRIMARY KEY, raw BLOB NOT NULL, time INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wallet_keys (idx INTEGER PRIMARY KEY, secret BLOB NOT NULL);
`;

/** Whether a stored block is valid, failed validation, or was invalidated by the operator. */
export type BlockStatus = "valid" | "invalid";

/** A stored block's index entry. */
export interface StoredHeader {
  /** Block hash. */
  hash: string;
  /** Parent hash. */
  prev_hash: string;
  /** Height. */
  height: number;
  /** The 80 header bytes. */
  header: Uint8Array;
  /** Validity. */
  status: BlockStatus;
  /** Arrival order. */
  seq: number;
}

/** A stored unspent output. */
export interface StoredCoin {
  /** Creating transaction. */
  txid: string;
  /** Output index. */
  vout: number;
  /** Satoshis. */
  value: number;
  /** Output script. */
  script: Uint8Array;
  /** Creating block's height. */
  height: number;
  /** Created by a coinbase. */
  coinbase: boolean;
}

/** Where a main-chain transaction is. */
export interface TxLocation {
  /** The block. */
  block_hash: string;
  /** Position in the block. */
  position: number;
  /** How many outputs the transaction has. */
  outputs: number;
}
