import type { Hex } from "../core/hex";
import type { ReceiptAnchor } from "../core/receipt";
import type { TimestampEntry } from "../tsa";

/**
 * Where a calendar keeps what it acknowledged and what it anchored. Two implementations with the
 * same behaviour: SQLite (one instance, the embedded default) and PostgreSQL (several instances
 * behind a load balancer; exactly one of them anchors at a time, through an advisory lock).
 *
 * Invariants every implementation keeps:
 * - {@link CalendarStore.acknowledge} resolves only once the acknowledgement and its leaves are
 *   durable (the transaction committed with fsync), so an acknowledged leaf survives SIGKILL.
 * - A leaf is stored once (its first acknowledgement) and is assigned to exactly one batch, in the
 *   same transaction that creates the batch.
 */

/** One group commit: the leaves made durable together, and the calendar's signature over them. */
export interface AckRecord {
  id: number;
  /** Merkle root of `leaves` (the signed CalendarAcknowledgement's root). */
  root: Hex;
  /** Unix milliseconds. */
  receivedAt: number;
  calendar: string;
  signer: Hex;
  signature: Hex;
  /** The acknowledged leaves, in tree order. */
  leaves: Hex[];
}

/** A batch: one Merkle root over pending leaves, anchored once per chain. */
export interface BatchRecord {
  id: number;
  root: Hex;
  leafCount: number;
  /** Unix milliseconds when the batch was closed. */
  createdAt: number;
  leaves: Hex[];
  /** Mined anchors, keyed by chain key (`<chainId>:<registry>`). */
  anchors: Record<string, ReceiptAnchor>;
  /** Sent transactions not yet recorded as mined, keyed by chain key. */
  sent: Record<string, Hex>;
  timestamps: TimestampEntry[];
  /** Failed attempts per TSA URL. */
  tsaFailures: Record<string, number>;
  /** Unix milliseconds when complete (all anchors, every TSA tried). */
  completedAt?: number;
}

/** What the store knows about a leaf. */
export interface LeafLookup {
  ack: AckRecord;
  ackIndex: number;
  batch?: BatchRecord;
  batchIndex?: number;
}

export interface CalendarStore {
  /** "sqlite" or "postgres". */
  readonly kind: "sqlite" | "postgres";
  /** Makes an acknowledgement and its leaves durable. Leaves stored before keep their first acknowledgement. */
  acknowledge(ack: Omit<AckRecord, "id">): Promise<number>;
  /** Number of leaves not yet in a batch. */
  pendingCount(): Promise<number>;
  /** Receipt time (ms) of the oldest leaf not yet in a batch. */
  oldestPending(): Promise<number | undefined>;
  lookup(leaf: Hex): Promise<LeafLookup | undefined>;
  /**
   * Runs `fn` only when this instance holds the anchoring lock (taking it if free); returns
   * `undefined` without running when another instance holds it.
   */
  asAnchorer<T>(fn: () => Promise<T>): Promise<T | undefined>;
  /** Whether this instance holds the anchoring lock now. */
  isAnchorer(): boolean;
  /**
   * Puts up to `max` pending leaves (oldest first) into a new batch with the root `rootOf(leaves)`,
   * durably. `rootOf` gets the leaves packed (32 bytes each, in order: no string per leaf for tens
   * of thousands of leaves) and may be asynchronous (the service hashes large batches in slices).
   */
  openBatch(max: number, rootOf: (packedLeaves: Uint8Array) => Hex | Promise<Hex>): Promise<BatchRecord | undefined>;
  unfinishedBatches(): Promise<BatchRecord[]>;
  /** Saves the batch's progress fields (anchors, sent, timestamps, tsaFailures, completedAt). */
  saveBatch(batch: BatchRecord): Promise<void>;
  /** Counts: leaves, batches, complete batches. */
  stats(): Promise<{ leaves: number; batches: number; completeBatches: number }>;
  close(): Promise<void>;
}

/** Concatenates 32-byte leaves into one buffer (how groups and batches keep their leaves). */
export function packLeaves(leaves: readonly Hex[]): Buffer {
  const out = Buffer.alloc(leaves.length * 32); // its own ArrayBuffer (not the shared pool): transferable
  leaves.forEach((leaf, i) => out.write(leaf.slice(2), i * 32, "hex"));
  return out;
}

/** The inverse of {@link packLeaves}. */
export function unpackLeaves(buf: Uint8Array): Hex[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Hex[] = [];
  for (let i = 0; i + 32 <= b.length; i += 32) out.push(`0x${b.toString("hex", i, i + 32)}`);
  return out;
}

/** The key of a chain in a batch's `anchors` / `sent`. */
export function chainKey(chainId: number, registry: string): string {
  return `${chainId}:${registry.toLowerCase()}`;
}
