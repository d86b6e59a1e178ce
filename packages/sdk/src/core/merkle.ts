import { ProofmarkError } from "./errors";
import { bytesEqual, fromHex, hexInto, toHex, type Hex } from "./hex";
import { keccak256Pair, keccak256PairWords, LITTLE_ENDIAN } from "./keccak";

/**
 * Sorted-pair keccak-256 Merkle trees, compatible with OpenZeppelin's `MerkleProof.verify` and
 * laid out exactly like `@openzeppelin/merkle-tree`'s `SimpleMerkleTree` with `sortLeaves: false`
 * (a complete binary tree in heap order), so both produce the same root and proofs for the same
 * leaves. An odd last node is never duplicated.
 */

/** Hash of two nodes, smaller first (the order OpenZeppelin's `MerkleProof` uses). */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  if (compareBytes(a, b) <= 0) keccak256Pair(a, b, out, 0);
  else keccak256Pair(b, a, out, 0);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** A built Merkle tree. Nodes live in one contiguous buffer (32 bytes each, heap order). */
export class MerkleTree {
  /** Number of leaves. */
  readonly leafCount: number;
  private readonly nodes: Uint8Array;

  private constructor(nodes: Uint8Array, leafCount: number) {
    this.nodes = nodes;
    this.leafCount = leafCount;
  }

  /**
   * Builds a tree over `leaves` (32-byte values, hex or bytes), in the given order; or over the
   * 32-byte leaves packed one after the other in one byte array (how stores keep them).
   *
   * @example
   * const tree = MerkleTree.build([leafA, leafB, leafC]);
   * const path = tree.proof(1); // verifyProof(leafB, path, tree.root) === true
   */
  static build(leaves: Leaves): MerkleTree {
    const [nodes, n] = placeLeaves(leaves);
    if (leaves instanceof Uint8Array) placePacked(nodes, leaves, 0, n);
    hashNodes(nodes, n - 2, 0);
    return new MerkleTree(nodes, n);
  }

  /**
   * {@link build}, the same tree, hashed in slices of about `sliceMs` milliseconds with the event
   * loop let through between them: a batch of tens of thousands of leaves takes tens of
   * milliseconds of keccak, which in one piece would hold up every request meanwhile. Half a
   * millisecond: with 2 ms slices, a calendar closing a batch a second at ~30,000 leaves/s held its
   * event loop 2–9 ms at a time, ~8 times a second (measured with async_hooks); with 0.5 ms, about
   * a third as often.
   */
  static async buildAsync(leaves: Leaves, sliceMs = 0.5): Promise<MerkleTree> {
    const [nodes, n] = placeLeaves(leaves);
    const SLICE = 256; // nodes hashed between clock reads
    if (leaves instanceof Uint8Array)
      for (let from = 0; from < n; from += 16 * SLICE) {
        placePacked(nodes, leaves, from, Math.min(n, from + 16 * SLICE));
        if (from + 16 * SLICE < n) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    let next = n - 2; // internal nodes, highest index first: children before parents
    while (next >= 0) {
      const started = performance.now();
      do {
        const last = Math.max(0, next - SLICE + 1);
        hashNodes(nodes, next, last);
        next = last - 1;
      } while (next >= 0 && performance.now() - started < sliceMs);
      if (next >= 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return new MerkleTree(nodes, n);
  }

  /** The root, 0x-prefixed hex. */
  get root(): Hex {
    return toHex(this.nodes.subarray(0, 32));
  }

  /** Leaf `index` (in the order given to `build`). */
  leaf(index: number): Hex {
    return toHex(this.node(this.leafPosition(index)));
  }

  /** The sibling path from leaf `index` up to the root. */
  proof(index: number): Hex[] {
    const path: Hex[] = [];
    let pos = this.leafPosition(index);
    while (pos > 0) {
      const sibling = pos % 2 === 1 ? pos + 1 : pos - 1;
      path.push(toHex(this.node(sibling)));
      pos = (pos - 1) >> 1;
    }
    return path;
  }

  /**
   * Position of leaf `index` among the nodes in heap order (the root is 0; node `p`'s parent is
   * `(p - 1) >> 1`, its sibling `p + 1` when `p` is odd, else `p - 1`). With {@link heapBytes},
   * for callers that write the proofs of many leaves of one tree at once.
   */
  position(index: number): number {
    return this.leafPosition(index);
  }

  /** Every node's 32 bytes in heap order (a view of the tree's own buffer: read, never write). */
  get heapBytes(): Uint8Array {
    return this.nodes;
  }

  private leafPosition(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new ProofmarkError("INVALID_ARGUMENT", `leaf index ${index} is out of range 0..${this.leafCount - 1}`);
    }
    return 2 * this.leafCount - 2 - index;
  }

  private node(pos: number): Uint8Array {
    return this.nodes.subarray(pos * 32, pos * 32 + 32);
  }
}

/** The leaves of a tree: 32-byte values (hex or bytes), or all of them packed in one byte array. */
export type Leaves = ReadonlyArray<Uint8Array | string> | Uint8Array;

/**
 * The nodes buffer of a tree over `leaves` and their number; leaves given one by one are put in
 * place (heap order, last node = leaf 0), packed leaves are left to {@link placePacked}.
 */
function placeLeaves(leaves: Leaves): [Uint8Array, number] {
  const packed = leaves instanceof Uint8Array;
  if (packed && leaves.length % 32 !== 0)
    throw new ProofmarkError("INVALID_ARGUMENT", `packed leaves must be 32 bytes each, got ${leaves.length} bytes`);
  const n = packed ? leaves.length / 32 : leaves.length;
  if (n === 0) throw new ProofmarkError("INVALID_ARGUMENT", "a Merkle tree needs at least one leaf");
  const total = 2 * n - 1;
  const nodes = new Uint8Array(total * 32);
  if (packed) return [nodes, n];
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i];
    const at = (total - 1 - i) * 32;
    if (typeof leaf === "string" && hexInto(leaf, nodes, at, 32)) continue;
    // Bytes, or a string the fast path refused: checked and reported one way.
    const bytes = typeof leaf === "string" ? fromHex(leaf, `leaf ${i}`) : leaf;
    if (bytes.length !== 32)
      throw new ProofmarkError("INVALID_ARGUMENT", `leaf ${i} must be 32 bytes, got ${bytes.length}`);
    nodes.set(bytes, at);
  }
  return [nodes, n];
}

/** Puts packed leaves `from` to `to` (exclusive) in place: leaf i at node 2n - 2 - i, eight words at a time. */
function placePacked(nodes: Uint8Array, packed: Uint8Array, from: number, to: number): void {
  const last = nodes.length / 32 - 1;
  if (packed.byteOffset % 4 === 0) {
    const src = new Uint32Array(packed.buffer, packed.byteOffset, packed.length >> 2);
    const dst = new Uint32Array(nodes.buffer, nodes.byteOffset, nodes.length >> 2);
    for (let i = from; i < to; i++) {
      const a = i * 8;
      const b = (last - i) * 8;
      for (let k = 0; k < 8; k++) dst[b + k] = src[a + k];
    }
    return;
  }
  for (let i = from; i < to; i++) nodes.set(packed.subarray(i * 32, i * 32 + 32), (last - i) * 32);
}

/** Hashes the internal nodes `from` down to `to` (heap indices, from ≥ to; their children are done). */
function hashNodes(nodes: Uint8Array, from: number, to: number): void {
  // On little-endian hosts, nodes are hashed in place through a 32-bit view (32-byte aligned,
  // eight words each); elsewhere byte by byte.
  const words = LITTLE_ENDIAN ? new Uint32Array(nodes.buffer, nodes.byteOffset, nodes.length >> 2) : undefined;
  for (let i = from; i >= to; i--) {
    let x = (2 * i + 1) * 32; // the smaller child goes first
    let y = x + 32;
    for (let k = 0; k < 32; k++) {
      const d = nodes[x + k] - nodes[y + k];
      if (d !== 0) {
        if (d > 0) [x, y] = [y, x];
        break;
      }
    }
    if (words) keccak256PairWords(words, x >> 2, y >> 2, i * 8);
    else keccak256Pair(nodes.subarray(x, x + 32), nodes.subarray(y, y + 32), nodes, i * 32);
  }
}

/**
 * Folds `path` onto `leaf` and returns the resulting root (OpenZeppelin `processProof`), with
 * every intermediate node, for reports that show each step.
 */
export function processProof(leaf: Hex, path: readonly Hex[]): { root: Hex; steps: Hex[] } {
  let node = fromHex(leaf, "leaf");
  const steps: Hex[] = [];
  for (const sibling of path) {
    node = hashPair(node, fromHex(sibling, "proof element"));
    steps.push(toHex(node));
  }
  return { root: toHex(node), steps };
}

/**
 * True when `path` leads from `leaf` to `root`.
 *
 * @example
 * verifyProof(tree.leaf(0), tree.proof(0), tree.root); // true
 */
export function verifyProof(leaf: Hex, path: readonly Hex[], root: Hex): boolean {
  return bytesEqual(fromHex(processProof(leaf, path).root), fromHex(root, "root"));
}

/** The greatest proof length a tree of `leafCount` leaves can have. */
export function maxProofLength(leafCount: number): number {
  return leafCount <= 1 ? 0 : Math.ceil(Math.log2(leafCount));
}
