import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Signer } from "ethers";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import type { Hex } from "../core/hex";
import { MerkleTree } from "../core/merkle";
import type { ReceiptAnchor } from "../core/receipt";
import type { CalendarAttestation } from "../core/statement";
import type { ChainContext } from "../chain/context";
import type { EvidenceRegistryClient } from "../chain/evidence";
import { minedReceipt } from "../chain/rpc";
import { calendarAttestationFor, signCalendarAcknowledgement } from "../evidence/statement";
import { requestTimestamp, type TimestampEntry } from "../tsa";
import { installFastPath, nodeReply, type FastPath, type Reply } from "./fast-path";
import { Counter, LatencyHistogram } from "./metrics";
import { chainKey, type BatchRecord, type CalendarStore } from "./store";

/** Most leaves in one `POST /v1/leaves`. */
export const MAX_LEAVES_PER_REQUEST = 1_000;
/** Largest request body accepted (1,000 leaves of 66 characters fit with room to spare). */
export const MAX_REQUEST_BYTES = 96 * 1024;
/** Attempts per TSA and batch before the batch completes without that TSA's token. */
export const TSA_ATTEMPTS = 3;

/** A chain the calendar anchors on: its context and the EvidenceRegistry client (with a signer). */
export interface CalendarChain {
  /** What the operator named it (`local`, a network name, or the RPC URL). */
  name: string;
  context: ChainContext;
  registry: EvidenceRegistryClient;
  /**
   * Confirmations an anchor needs before the batch's proofs are served as complete (default 1:
   * mined). Until then the calendar re-reads the anchor's block each pass; an anchor whose block is
   * no longer on the chain (a reorganisation) is dropped and the root anchored again.
   */
  confirmations?: number;
}

export interface CalendarOptions {
  store: CalendarStore;
  /** The calendar's key (signs acknowledgements; never the chain key's role). */
  signer: Signer;
  chains: CalendarChain[];
  tsa?: string[];
  /** A batch is closed when its oldest leaf waited this long (default 10 s)… */
  intervalMs?: number;
  /** …or when this many leaves wait (default 10,000). */
  maxBatch?: number;
  /** Leaves waiting for a batch beyond which submissions get 503 (default 1,000,000). */
  maxPending?: number;
  port?: number;
  host?: string;
  /** The calendar's public identity, signed into every acknowledgement (default: its own URL). */
  publicUrl?: string;
  /** A description of the calendar key, shown by /v1/health (e.g. "development key"). */
  keyNote?: string;
  /**
   * Whether `POST /v1/leaves` in its simple form is read by the calendar's own HTTP/1.1 reader
   * (fast-path.ts) instead of node:http (default true; `PROOFMARK_CALENDAR_FAST_PATH=0` turns it
   * off). The answers are the same bytes either way.
   */
  fastPath?: boolean;
  /** A request not complete this long after its first byte is answered 408 and closed (default 60 s, node:http's). */
  headersTimeoutMs?: number;
  log?: (message: string) => void;
}

/** The completed proof of one leaf, as `GET /v1/proofs/0x<leaf>` serves it (status 200). */
export interface CalendarProof {
  format: "proofmark-calendar-proof";
  version: 1;
  status: "complete";
  leaf: Hex;
  proof: { root: Hex; path: Hex[]; leafCount: number };
  anchors: ReceiptAnchor[];
  timestamps: TimestampEntry[];
  attestations: CalendarAttestation[];
}

/** A leaf acknowledged but not yet anchored everywhere (status 202). */
export interface CalendarPending {
  format: "proofmark-calendar-proof";
  version: 1;
  status: "pending";
  leaf: Hex;
  /** The batch root once the leaf is in a batch that is still being anchored. */
  root?: Hex;
  attestations: CalendarAttestation[];
}

export interface CalendarService {
  url: string;
  signer: Hex;
  /** Runs one batching pass now (tests, shutdown). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

const LEAF_RE = /^0x[0-9a-fA-F]{64}$/;

/**
 * Starts the stamping service: the HTTP API (docs/calendar.md) in front of a durable store, and the
 * batcher that closes a Merkle root every `intervalMs` or `maxBatch` leaves, anchors it once on every
 * chain and obtains a token from every TSA.
 *
 * @example
 * const service = await startCalendar({ store: new SqliteCalendarStore(file), signer, chains });
 */
export async function startCalendar(opts: CalendarOptions): Promise<CalendarService> {
  const calendar = new Calendar(opts);
  return calendar.start();
}

/** A request waiting for the next group commit: its leaves (normalised) and where to answer. */
interface Waiter {
  leaves: Hex[];
  res: Reply;
  /** When its request had been read whole (`performance.now()`). */
  readAt: number;
}

class Calendar {
  private readonly opts: CalendarOptions;
  private readonly store: CalendarStore;
  private readonly intervalMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly tsa: string[];
  private readonly log: (m: string) => void;
  private server!: http.Server;
  private fast?: FastPath;
  private identity = "";
  private signerAddress: Hex = "0x";
  private waiting: Waiter[] = [];
  private flushing = false;
  private flushScheduled = false;
  private pending = 0;
  private ticking?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Trees of recent acknowledgements (`a<id>`) and batches (`b<id>`), for their proofs; a build in progress is shared. */
  private readonly trees = new Map<string, Promise<MerkleTree>>();
  /** `GET /v1/metrics`: the service's own share of a client's latency, and its answers. */
  private readonly metrics = {
    acknowledgement: new LatencyHistogram(
      "proofmark_calendar_acknowledgement_seconds",
      "Time from a POST /v1/leaves request read whole to its 202 answer written (the group commit included).",
    ),
    storeCommit: new LatencyHistogram(
      "proofmark_calendar_store_commit_seconds",
      "Time the store took to make one group commit durable (SQLite: one log write, synchronous; PostgreSQL: one transaction).",
    ),
    leaves: new Counter(
      "proofmark_calendar_leaves_acknowledged_total",
      "Leaves acknowledged (202), duplicates included.",
    ),
    busy: new Counter("proofmark_calendar_busy_answers_total", "Requests answered 503 CALENDAR_BUSY (nothing stored)."),
  };

  constructor(opts: CalendarOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.maxBatch = opts.maxBatch ?? 10_000;
    this.maxPending = opts.maxPending ?? 1_000_000;
    this.tsa = opts.tsa ?? [];
    this.log = opts.log ?? (() => undefined);
    if (!(this.maxBatch >= 1 && this.intervalMs >= 1))
      throw new ProofmarkError("INVALID_ARGUMENT", "the batch interval and size must be positive");
  }

  async start(): Promise<CalendarService> {
    this.signerAddress = (await this.opts.signer.getAddress()).toLowerCase() as Hex;
    this.pending = await this.store.pendingCount();
    this.server = http.createServer((req, res) => {
      // the hot path, without the promises of the general router
      if (req.method === "POST" && req.url === "/v1/leaves") this.postLeaves(req, nodeReply(res));
      else {
        const reply = nodeReply(res);
        this.handle(req, reply).catch((e) => this.fail(reply, e));
      }
    });
    this.server.keepAliveTimeout = 30_000;
    if (this.opts.headersTimeoutMs !== undefined) {
      this.server.headersTimeout = this.opts.headersTimeoutMs;
      this.server.requestTimeout = Math.max(this.server.requestTimeout, this.opts.headersTimeoutMs);
    }
    if (this.opts.fastPath ?? process.env.PROOFMARK_CALENDAR_FAST_PATH !== "0") {
      this.fast = installFastPath(this.server, {
        requestLine: "POST /v1/leaves HTTP/1.1",
        maxBody: MAX_REQUEST_BYTES,
        handle: (body, reply) => {
          try {
            this.acceptLeaves(body, reply);
          } catch (e) {
            this.fail(reply, e);
          }
        },
      });
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? "127.0.0.1", () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
    this.identity = this.opts.publicUrl ?? url;
    this.schedule(0);
    return {
      url,
      signer: this.signerAddress,
      tick: () => this.tick(),
      close: () => this.close(),
    };
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.fast?.closeAll();
    });
    await this.ticking;
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: Reply): Promise<void> {
    const url = req.url ?? "/";
    if (url === "/v1/leaves") {
      if (req.method !== "POST")
        return this.error(res, 405, "CALENDAR_REQUEST_INVALID", "use POST /v1/leaves", { allow: "POST" });
      return this.postLeaves(req, res);
    }
    if (url.startsWith("/v1/proofs/")) {
      if (req.method !== "GET" && req.method !== "HEAD")
        return this.error(res, 405, "CALENDAR_REQUEST_INVALID", "use GET /v1/proofs/0x<leaf>", { allow: "GET" });
      const leaf = url.slice("/v1/proofs/".length);
      if (!LEAF_RE.test(leaf))
        return this.error(res, 400, "CALENDAR_REQUEST_INVALID", "the leaf must be 0x followed by 64 hex digits");
      return this.getProof(leaf.toLowerCase() as Hex, res);
    }
    if (url === "/v1/health") {
      if (req.method !== "GET")
        return this.error(res, 405, "CALENDAR_REQUEST_INVALID", "use GET /v1/health", { allow: "GET" });
      return this.health(res);
    }
    if (url === "/v1/metrics") {
      if (req.method !== "GET")
        return this.error(res, 405, "CALENDAR_REQUEST_INVALID", "use GET /v1/metrics", { allow: "GET" });
      const m = this.metrics;
      const body = [m.acknowledgement, m.storeCommit, m.leaves, m.busy].map((x) => x.exposition()).join("");
      return res.send(
        200,
        [
          "content-type",
          "text/plain; version=0.0.4; charset=utf-8",
          "content-length",
          String(Buffer.byteLength(body)),
          "cache-control",
          "no-store",
        ],
        body,
      );
    }
    req.resume();
    return this.error(res, 404, "CALENDAR_REQUEST_INVALID", `no such endpoint: ${req.method} ${url.slice(0, 100)}`);
  }

  /**
   * `POST /v1/leaves`: reads and checks the body, then queues the leaves for the next group commit,
   * which answers 202 once they are durable. Callbacks rather than promises: this runs once per
   * request at the calendar's full rate.
   */
  private postLeaves(req: http.IncomingMessage, res: Reply): void {
    const type = req.headers["content-type"] ?? "";
    if (!/^application\/json\b/i.test(type)) {
      req.resume();
      return this.error(res, 415, "CALENDAR_REQUEST_INVALID", "send the leaves as application/json");
    }
    readBody(
      req,
      MAX_REQUEST_BYTES,
      (body) => {
        try {
          this.acceptLeaves(body, res);
        } catch (e) {
          this.fail(res, e);
        }
      },
      (e) => this.fail(res, e),
    );
  }

  private acceptLeaves(body: string | undefined, res: Reply): void {
    const readAt = performance.now();
    if (body === undefined)
      return this.error(
        res,
        413,
        "CALENDAR_REQUEST_INVALID",
        `the body is larger than ${MAX_REQUEST_BYTES} bytes; send at most ${MAX_LEAVES_PER_REQUEST} leaves per request`,
      );
    let leaves: unknown[] | undefined = compactLeaves(body);
    if (!leaves) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return this.error(res, 400, "CALENDAR_REQUEST_INVALID", "the body is not JSON");
      }
      const list = (parsed as { leaves?: unknown })?.leaves;
      if (
        typeof parsed !== "object" ||
        parsed === null ||
        Array.isArray(parsed) ||
        Object.keys(parsed).some((k) => k !== "leaves") ||
        !Array.isArray(list)
      ) {
        return this.error(
          res,
          400,
          "CALENDAR_REQUEST_INVALID",
          'the body must be {"leaves": ["0x<64 hex>", …]} and nothing else',
        );
      }
      leaves = list as unknown[];
    }
    if (leaves.length === 0 || leaves.length > MAX_LEAVES_PER_REQUEST) {
      return this.error(
        res,
        400,
        "CALENDAR_REQUEST_INVALID",
        `send between 1 and ${MAX_LEAVES_PER_REQUEST} leaves per request, not ${leaves.length}`,
      );
    }
    const normalized: Hex[] = [];
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i];
      if (typeof leaf !== "string" || !LEAF_RE.test(leaf)) {
        return this.error(
          res,
          400,
          "CALENDAR_REQUEST_INVALID",
          `leaf ${i} is not 0x followed by 64 hex digits (send the salted leaf, never a file or its SHA-256 alone)`,
          { index: i },
        );
      }
      normalized.push(leaf.toLowerCase() as Hex);
    }
    if (this.pending + normalized.length > this.maxPending || this.closed) {
      const retry = this.retryAfterSeconds();
      return this.error(
        res,
        503,
        "CALENDAR_BUSY",
        `the calendar's queue is full (${this.pending} leaves wait for a batch); retry in ${retry} s`,
        { retryAfter: retry },
        ["retry-after", String(retry)],
      );
    }
    this.acknowledge(normalized, res, readAt);
  }

  private async getProof(leaf: Hex, res: Reply): Promise<void> {
    const found = await this.store.lookup(leaf);
    if (!found) return this.error(res, 404, "CALENDAR_LEAF_UNKNOWN", `this calendar never acknowledged ${leaf}`);
    const ackTree = await this.tree(`a${found.ack.id}`, found.ack.leaves);
    const { ack } = found;
    const attestation = calendarAttestationFor(
      {
        message: { root: ack.root, receivedAt: ack.receivedAt, calendar: ack.calendar },
        signer: ack.signer,
        signature: ack.signature,
      },
      ackTree,
      found.ackIndex,
    );
    const batch = found.batch;
    if (!batch || batch.completedAt === undefined) {
      const pending: CalendarPending = {
        format: "proofmark-calendar-proof",
        version: 1,
        status: "pending",
        leaf,
        ...(batch ? { root: batch.root } : {}),
        attestations: [attestation],
      };
      return this.json(res, 202, pending);
    }
    const tree = await this.tree(`b${batch.id}`, batch.leaves);
    const proof: CalendarProof = {
      format: "proofmark-calendar-proof",
      version: 1,
      status: "complete",
      leaf,
      proof: { root: batch.root, path: tree.proof(found.batchIndex!), leafCount: batch.leafCount },
      anchors: Object.values(batch.anchors),
      timestamps: batch.timestamps,
      attestations: [attestation],
    };
    this.json(res, 200, proof);
  }

  private async health(res: Reply): Promise<void> {
    const stats = await this.store.stats();
    this.json(res, 200, {
      status: "ok",
      calendar: this.identity,
      signer: this.signerAddress,
      ...(this.opts.keyNote ? { keyNote: this.opts.keyNote } : {}),
      store: this.store.kind,
      anchoring: this.store.isAnchorer(),
      intervalSeconds: this.intervalMs / 1000,
      maxBatch: this.maxBatch,
      pending: this.pending,
      leaves: stats.leaves,
      batches: stats.batches,
      completeBatches: stats.completeBatches,
      chains: this.opts.chains.map((c) => ({
        name: c.name,
        chainId: c.context.chainId,
        registry: c.registry.address.toLowerCase(),
      })),
      tsa: this.tsa,
    });
  }

  /**
   * The tree of an acknowledgement or a batch, built once and kept for the next proofs. Built in
   * slices: a batch may hold `maxBatch` leaves (tens of milliseconds of hashing), and the first
   * proof asked of it must not hold up every request meanwhile.
   */
  private tree(key: string, leaves: Hex[]): Promise<MerkleTree> {
    let t = this.trees.get(key);
    if (!t) {
      t = MerkleTree.buildAsync(leaves);
      this.keepTree(key, t);
      t.catch(() => this.trees.delete(key));
    }
    return t;
  }

  private keepTree(key: string, tree: Promise<MerkleTree>): void {
    if (this.trees.size >= 64) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(key, tree);
  }

  private json(res: Reply, status: number, value: unknown, extra: readonly string[] = []): void {
    this.raw(res, status, JSON.stringify(value), extra);
  }

  /** The answer, with `extra` headers (name, value, …) before the calendar's own, as node:http orders `setHeader` before `writeHead`. */
  private raw(res: Reply, status: number, body: string | Buffer, extra: readonly string[] = []): void {
    // a flat list of header names and values: node stores it as it is, without walking an object
    res.send(
      status,
      [
        ...extra,
        "content-type",
        "application/json",
        "content-length",
        String(Buffer.byteLength(body)),
        "cache-control",
        "no-store",
      ],
      body,
    );
  }

  /** Retry-After of a busy answer: the next batch closes within one interval. */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.intervalMs / 1000));
  }

  private error(
    res: Reply,
    status: number,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    extra: readonly string[] = [],
  ): void {
    const headers = status === 405 && details.allow ? ["allow", String(details.allow), ...extra] : extra;
    if (code === "CALENDAR_BUSY") this.metrics.busy.add();
    this.json(res, status, { error: { code, message, details } }, headers);
  }

  private fail(res: Reply, e: unknown): void {
    if (isProofmarkError(e) && e.code === "CALENDAR_BUSY" && !res.sent) {
      // the store's own backlog (its index fell behind): the same answer as a full queue
      const retry = this.retryAfterSeconds();
      return this.error(res, 503, "CALENDAR_BUSY", `${e.message}; retry in ${retry} s`, { retryAfter: retry }, [
        "retry-after",
        String(retry),
      ]);
    }
    this.log(`request failed: ${(e as Error).message}`);
    if (res.sent) {
      res.destroy();
      return;
    }
    const code: ErrorCode = isProofmarkError(e) ? e.code : "CALENDAR_STORE_FAILED";
    this.error(
      res,
      500,
      code,
      isProofmarkError(e) ? e.message : "the calendar failed to handle the request; nothing was acknowledged",
    );
  }

  // ---- group commit -----------------------------------------------------------------------

  /** Queues the leaves for the next group commit, which answers 202 with their signed statements (request order) once they are durable. */
  private acknowledge(leaves: Hex[], res: Reply, readAt: number): void {
    this.waiting.push({ leaves, res, readAt });
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    void this.flush();
  };

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting;
        this.waiting = [];
        await this.commit(group);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(group: Waiter[]): Promise<void> {
    const index = new Map<Hex, number>();
    const leaves: Hex[] = [];
    for (const w of group)
      for (const leaf of w.leaves)
        if (!index.has(leaf)) {
          index.set(leaf, leaves.length);
          leaves.push(leaf);
        }
    try {
      const ack = await signCalendarAcknowledgement(this.opts.signer, {
        leaves,
        receivedAt: Date.now(),
        calendar: this.identity,
      });
      const ackRecord = {
        root: ack.message.root,
        receivedAt: ack.message.receivedAt,
        calendar: ack.message.calendar,
        signer: ack.signer,
        signature: ack.signature,
        leaves,
      };
      crashForTest("calendar-before-commit");
      const committing = performance.now();
      await this.store.acknowledge(ackRecord);
      this.metrics.storeCommit.observeMs(performance.now() - committing);
      crashForTest("calendar-after-commit");
      this.pending += leaves.length;
      const answer = groupAnswers(ack, ack.tree);
      for (const w of group) {
        this.raw(w.res, 202, answer(w.leaves.map((leaf) => index.get(leaf)!)));
        this.metrics.acknowledgement.observeMs(performance.now() - w.readAt);
        this.metrics.leaves.add(w.leaves.length);
      }
      if (this.pending >= this.maxBatch) this.schedule(0);
    } catch (e) {
      for (const w of group) this.fail(w.res, e);
    }
  }

  // ---- batches ----------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => this.schedule(Math.min(this.intervalMs / 4, 250)));
    }, delayMs);
  }

  private tick(): Promise<void> {
    if (!this.ticking) {
      this.ticking = this.runTick()
        .catch((e) => this.log(`batching failed, will retry: ${(e as Error).message}`))
        .finally(() => {
          this.ticking = undefined;
        });
    }
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const ran = await this.store.asAnchorer(async () => {
      for (const batch of await this.store.unfinishedBatches()) await this.process(batch);
      for (;;) {
        const pending = await this.store.pendingCount();
        this.pending = pending;
        if (pending === 0 || this.closed) return;
        const oldest = (await this.store.oldestPending()) ?? Date.now();
        if (pending < this.maxBatch && Date.now() - oldest < this.intervalMs) return;
        // the batch's tree in slices: tens of thousands of leaves would otherwise hold up every
        // request; kept for the batch's proofs
        let built = undefined as MerkleTree | undefined;
        const batch = await this.store.openBatch(this.maxBatch, async (packed) => {
          built = await MerkleTree.buildAsync(packed);
          return built.root;
        });
        if (!batch) return;
        if (built) this.keepTree(`b${batch.id}`, Promise.resolve(built));
        this.log(`batch ${batch.id}: ${batch.leafCount} leaves under ${batch.root}`);
        crashForTest("calendar-after-batch");
        await this.process(batch);
      }
    });
    if (ran === undefined) this.pending = await this.store.pendingCount();
  }

  /**
   * Anchors a batch once on every chain, gets every TSA's token, and marks it complete once every
   * anchor is still on its chain with the configured confirmations.
   */
  private async process(batch: BatchRecord): Promise<void> {
    const work: Array<Promise<void>> = this.opts.chains.map((chain) => this.anchorOn(chain, batch));
    work.push(...this.tsa.map((url) => this.timestamp(url, batch)));
    await Promise.all(work);
    const confirmed = await Promise.all(this.opts.chains.map((chain) => this.confirmed(chain, batch)));
    const anchored = confirmed.every(Boolean);
    const stamped = this.tsa.every(
      (url) => batch.timestamps.some((t) => t.tsa === url) || (batch.tsaFailures[url] ?? 0) >= TSA_ATTEMPTS,
    );
    if (anchored && stamped) {
      batch.completedAt = Date.now();
      await this.store.saveBatch(batch);
      this.log(
        `batch ${batch.id} complete: ${Object.keys(batch.anchors).length} chain(s), ${batch.timestamps.length} time-stamp(s)`,
      );
    }
  }

  /**
   * Whether the batch's anchor on `chain` is in the chain's current history with enough
   * confirmations. An anchor whose block is gone or was replaced (a reorganisation took the
   * transaction out) is forgotten, so that the next pass finds the root again (the transaction may
   * have been included elsewhere) or anchors it anew; its proofs stay pending meanwhile.
   */
  private async confirmed(chain: CalendarChain, batch: BatchRecord): Promise<boolean> {
    const key = chainKey(chain.context.chainId, chain.registry.address);
    const anchor = batch.anchors[key];
    if (!anchor) return false;
    try {
      const [block, head] = await Promise.all([
        chain.context.provider.getBlock(anchor.blockNumber),
        chain.context.provider.getBlockNumber(),
      ]);
      if (!block || block.hash !== anchor.blockHash) {
        this.log(
          `batch ${batch.id} on ${chain.name} (chain ${chain.context.chainId}): block ${anchor.blockNumber} of transaction ${anchor.txHash} is no longer on the chain (reorganised); anchoring again`,
        );
        delete batch.anchors[key];
        await this.store.saveBatch(batch);
        return false;
      }
      return head - anchor.blockNumber + 1 >= (chain.confirmations ?? 1);
    } catch (e) {
      this.log(
        `batch ${batch.id} on ${chain.name}: cannot read block ${anchor.blockNumber} (${(e as Error).message}); will retry`,
      );
      return false;
    }
  }

  private async anchorOn(chain: CalendarChain, batch: BatchRecord): Promise<void> {
    const key = chainKey(chain.context.chainId, chain.registry.address);
    if (batch.anchors[key]) return;
    try {
      let anchor = await chain.registry.findAnchor(batch.root);
      const sent = batch.sent[key];
      if (!anchor && sent) {
        const tx = await chain.context.provider.getTransaction(sent);
        const mined = tx ? await minedReceipt(tx) : null;
        if (mined && mined.status === 1) anchor = await chain.registry.anchorFromReceipt(mined, batch.root);
      }
      if (!anchor) {
        anchor = await chain.registry.anchor(batch.root, batch.leafCount, async (txHash) => {
          batch.sent[key] = txHash;
          await this.store.saveBatch(batch);
          crashForTest("calendar-after-send");
        });
      }
      await chain.context.persist();
      batch.anchors[key] = anchor;
      delete batch.sent[key];
      await this.store.saveBatch(batch);
    } catch (e) {
      this.log(
        `batch ${batch.id} on ${chain.name} (chain ${chain.context.chainId}): ${(e as Error).message}; will retry`,
      );
    }
  }

  private async timestamp(url: string, batch: BatchRecord): Promise<void> {
    if (batch.timestamps.some((t) => t.tsa === url) || (batch.tsaFailures[url] ?? 0) >= TSA_ATTEMPTS) return;
    try {
      batch.timestamps.push(await requestTimestamp(url, batch.root));
    } catch (e) {
      batch.tsaFailures[url] = (batch.tsaFailures[url] ?? 0) + 1;
      this.log(
        `batch ${batch.id}: TSA ${url} failed (${(e as Error).message}), attempt ${batch.tsaFailures[url]} of ${TSA_ATTEMPTS}`,
      );
    }
    await this.store.saveBatch(batch);
  }
}

/**
 * The 202 bodies of one group commit, written as bytes: for each request
 * `{"format":"proofmark-calendar-pending","version":1,"statements":[…]}` with, per leaf, exactly
 * `JSON.stringify(calendarAttestationFor(ack, tree, index))` (the tests compare both). What the
 * leaves of a group share (domain, message, signer, signature) is serialised once per group and
 * every tree node converted to hex once; each statement is then copied together from those bytes —
 * no string per leaf to build, flatten and encode again on the way out.
 */
function groupAnswers(
  ack: Parameters<typeof calendarAttestationFor>[0],
  tree: MerkleTree,
): (indices: readonly number[]) => Buffer {
  const shape = calendarAttestationFor(ack, tree, 0);
  const head = JSON.stringify({ type: shape.type, scheme: shape.scheme, domain: shape.domain, message: shape.message });
  const tail = JSON.stringify({ signer: shape.signer, signature: shape.signature });
  const prefix = Buffer.from(`${head.slice(0, -1)},"leaf":"0x`);
  const middle = Buffer.from('","path":[');
  const suffix = Buffer.from(`],${tail.slice(1)}`);
  const open = Buffer.from('{"format":"proofmark-calendar-pending","version":1,"statements":[');
  const close = Buffer.from("]}");
  const heap = tree.heapBytes;
  // each node as 64 ASCII hex digits, in heap order
  const hex = Buffer.from(Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength).toString("hex"), "latin1");
  const fixed = prefix.length + 64 + middle.length + suffix.length;
  return (indices) => {
    let size = open.length + close.length + Math.max(0, indices.length - 1);
    const positions: number[] = [];
    for (const index of indices) {
      const pos = tree.position(index);
      const depth = 31 - Math.clz32(pos + 1); // siblings on the way up: one per level
      size += fixed + depth * 68 + Math.max(0, depth - 1); // '"0x' + 64 + '"', commas between
      positions.push(pos);
    }
    const out = Buffer.allocUnsafe(size);
    let at = open.copy(out, 0);
    for (let k = 0; k < positions.length; k++) {
      if (k > 0) out[at++] = 0x2c; // ,
      let pos = positions[k];
      at += prefix.copy(out, at);
      at += hex.copy(out, at, pos * 64, pos * 64 + 64);
      at += middle.copy(out, at);
      for (let first = true; pos > 0; pos = (pos - 1) >> 1, first = false) {
        const sibling = pos % 2 === 1 ? pos + 1 : pos - 1;
        if (!first) out[at++] = 0x2c; // ,
        out[at++] = 0x22; // "
        out[at++] = 0x30; // 0
        out[at++] = 0x78; // x
        at += hex.copy(out, at, sibling * 64, sibling * 64 + 64);
        out[at++] = 0x22; // "
      }
      at += suffix.copy(out, at);
    }
    close.copy(out, at);
    return out;
  };
}

/**
 * `{"leaves":["0x…","0x…"]}` exactly as `JSON.stringify` writes it (what clients send): its leaf
 * strings, cut out without a JSON parse; anything else (spaces, other keys, escapes) `undefined`,
 * and the caller parses it in full. The leaves are checked by the caller either way.
 */
function compactLeaves(body: string): string[] | undefined {
  const head = '{"leaves":["';
  const n = (body.length - head.length) / 69; // 66 characters a leaf, '","' between them, '"]}' at the end
  if (!Number.isInteger(n) || n < 1 || !body.startsWith(head) || !body.endsWith('"]}')) return undefined;
  const leaves: string[] = [];
  for (let i = 0, at = head.length; i < n; i++, at += 69) {
    if (i > 0 && (body.charCodeAt(at - 3) !== 34 || body.charCodeAt(at - 2) !== 44 || body.charCodeAt(at - 1) !== 34))
      return undefined; // not '","'
    const leaf = body.slice(at, at + 66);
    if (!LEAF_RE.test(leaf)) return undefined;
    leaves.push(leaf);
  }
  return leaves;
}

/** The body as text, or `undefined` when it is larger than `max` bytes (then drained, not kept). */
function readBody(
  req: http.IncomingMessage,
  max: number,
  done: (body: string | undefined) => void,
  failed: (e: unknown) => void,
): void {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > max) {
    req.resume();
    done(undefined);
    return;
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > max) return;
    if (!first) first = c;
    else (chunks ??= [first]).push(c);
  });
  req.on("end", () => {
    if (size > max) done(undefined);
    else done(chunks ? Buffer.concat(chunks).toString("utf8") : (first?.toString("utf8") ?? ""));
  });
  req.on("error", failed);
}

/**
 * Fault injection for the crash tests: PROOFMARK_TEST_CRASH=calendar-before-commit |
 * calendar-after-commit | calendar-after-batch | calendar-after-send kills the process with SIGKILL
 * there, as a power cut would. PROOFMARK_TEST_CRASH_AFTER=n lets n passes through first.
 */
function crashForTest(point: string): void {
  if (process.env.PROOFMARK_TEST_CRASH !== point) return;
  const after = Number(process.env.PROOFMARK_TEST_CRASH_AFTER ?? 0);
  crashCounts[point] = (crashCounts[point] ?? 0) + 1;
  if (crashCounts[point] > after) process.kill(process.pid, "SIGKILL");
}
const crashCounts: Record<string, number> = {};
