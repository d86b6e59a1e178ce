import { isProofmarkError, type ErrorCode } from "./errors";
import type { Hex } from "./hex";
import { uncoveredFields, type Receipt, type ReceiptAnchor } from "./receipt";
import {
  anchorOfCalldata,
  checkAnchorAnswer,
  checkBlock,
  checkChainId,
  checkFinality,
  checkLog,
  checkOffline,
  checkRegistryCode,
  checkTxInBlock,
  decodeAnchorLogs,
  decodeAnchorOfAnswer,
  decodeBlock,
  decodeQuantity,
  EVIDENCE_ANCHORED_TOPIC,
  statusOfCode,
  type AnchorLog,
  type KnownRegistryCode,
  type Step,
  type VerdictStatus,
} from "./verification";

/**
 * The one verification engine: a receipt (and a file's digest) against every anchor's chain, over
 * adapters that only fetch. Isomorphic (no I/O of its own): the CLI, the report, the standalone
 * verifier page and the portal's verify page all run it.
 *
 * Each anchor gets its own verdict from its own steps; the receipt's verdict is the first anchor
 * that does not verify (format v1: every anchor must hold). Every fact read from a chain is asked
 * of every endpoint given for it, and endpoints that answer differently fail the anchor with
 * RPC_DISAGREEMENT. A session memoises reads, so verifying many receipts under one root costs one
 * anchor read and one block read.
 */

/** One JSON-RPC endpoint, fetch only. Errors are ProofmarkErrors (RPC_UNREACHABLE naming the URL). */
export interface ChainReader {
  /** What to call the endpoint in messages (its URL). */
  readonly url: string;
  request(method: string, params: unknown[]): Promise<unknown>;
}

export interface EngineOptions {
  /** The endpoints to ask about an anchor's chain (may throw a ProofmarkError, e.g. NETWORK_UNKNOWN). */
  readers(anchor: ReceiptAnchor): ChainReader[] | Promise<ChainReader[]>;
  /** Registry code hashes the SDK ships (chain/registry-codes). */
  knownRegistries: readonly KnownRegistryCode[];
  /** Registry addresses the user pinned (--trust-registry / config `trustRegistries`): their unknown code is accepted, and the result says so. */
  trustRegistries?: readonly string[];
  /** Confirmations required (default 1). */
  minConfirmations?: number;
}

/** The verdict on one anchor. */
export interface AnchorVerdict {
  anchor: ReceiptAnchor;
  status: VerdictStatus;
  /** Every check held and the anchor has the required confirmations (it may still be not final). */
  ok: boolean;
  code?: ErrorCode;
  message: string;
  steps: Step[];
  confirmations?: number;
  /** True when the block is at or below the finalized block of every endpoint that reports one (undefined: none does). */
  final?: boolean;
  registry?: { codeHash: Hex; known?: string; trustedByUser: boolean };
  /** The endpoints asked. */
  endpoints: string[];
  /** What could not be checked (never silently passed). */
  unchecked: string[];
}

/** The verification of one receipt. */
export interface VerificationResult {
  status: VerdictStatus;
  /** Every check held (status is "verified", or "not-final" only because a block is not final yet). */
  ok: boolean;
  code?: ErrorCode;
  message: string;
  receipt: Receipt;
  file?: { path?: string; sha256: string; size: number };
  /** The checks without a chain: digest, leaf, path. */
  steps: Step[];
  anchors: AnchorVerdict[];
  /** Receipt fields the commitment does not cover (claims, not evidence). */
  uncovered: Array<{ field: string; value: string }>;
  checkedAt: string;
}

class StepFailure extends Error {
  constructor(readonly step: Step) {
    super(step.message);
  }
}

/** A verification session: reads are memoised across receipts (one anchor and block read per root). */
export class Verifier {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: EngineOptions) {}

  /** One read, once per session per endpoint. */
  private read(reader: ChainReader, method: string, params: unknown[]): Promise<unknown> {
    const key = `${reader.url}\n${method}\n${JSON.stringify(params)}`;
    let p = this.memo.get(key);
    if (!p) {
      p = reader.request(method, params);
      this.memo.set(key, p);
    }
    return p;
  }

  /**
   * Asks every endpoint; decodes each answer; the answers must agree (by `same`). Returns the first
   * endpoint's value. A failed read fails the step with the reader's code; a disagreement with
   * RPC_DISAGREEMENT naming both endpoints.
   */
  private async ask<T>(
    stepName: Step["step"],
    readers: ChainReader[],
    method: string,
    params: unknown[],
    decode: (raw: unknown) => T,
    same: (a: T, b: T) => boolean,
  ): Promise<T[]> {
    const settled = await Promise.allSettled(readers.map((r) => this.read(r, method, params).then(decode)));
    const values: T[] = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === "rejected") {
        if (s.reason instanceof StepFailure) throw s.reason;
        const e = s.reason as { code?: ErrorCode; message?: string };
        const code: ErrorCode = isProofmarkError(e) ? e.code : "RPC_UNREACHABLE";
        const message = isProofmarkError(e)
          ? e.message
          : `the RPC endpoint ${readers[i].url} failed on ${method}: ${e?.message ?? String(e)}`;
        throw new StepFailure({
          step: stepName,
          ok: false,
          code,
          message,
          detail: { url: readers[i].url, method, refused: isProofmarkError(e) && e.details.refused === true },
        });
      }
      values.push(s.value);
    }
    for (let i = 1; i < values.length; i++) {
      if (!same(values[0], values[i])) {
        throw new StepFailure({
          step: stepName,
          ok: false,
          code: "RPC_DISAGREEMENT",
          message: `the RPC endpoints disagree on ${method}: ${readers[i].url} answered ${show(values[i])}, ${readers[0].url} answered ${show(values[0])}; do not trust either until this is explained`,
          detail: { method, endpoints: [readers[0].url, readers[i].url], answers: [show(values[0]), show(values[i])] },
        });
      }
    }
    return values;
  }

  /**
   * Verifies `receipt` (and the file's digest, when given) against the chain of each of its anchors.
   * Never throws for a failed check: the result says which step failed.
   *
   * @example
   * const verifier = new Verifier({ readers: () => [jsonRpcReader(url)], knownRegistries: KNOWN_REGISTRY_CODES });
   * const result = await verifier.verify(parseReceipt(text), { sha256, size });
   */
  async verify(receipt: Receipt, file?: { path?: string; sha256: string; size: number }): Promise<VerificationResult> {
    const result: VerificationResult = {
      status: "unverifiable",
      ok: false,
      message: "",
      receipt,
      file,
      steps: checkOffline(receipt, file),
      anchors: [],
      uncovered: uncoveredFields(receipt),
      checkedAt: new Date().toISOString(),
    };
    const offlineFailure = result.steps.find((s) => !s.ok);
    if (offlineFailure) return finish(result, offlineFailure.code, offlineFailure.message!);
    result.anchors = await Promise.all(receipt.anchors.map((a) => this.verifyAnchor(receipt, a)));
    const bad = result.anchors.find((a) => !a.ok);
    if (bad) return finish(result, bad.code, bad.message);
    result.ok = true;
    const a = result.anchors[0];
    const notFinal = result.anchors.find((x) => x.final === false);
    result.status = resultStatus(result);
    result.message = notFinal
      ? `not yet final: ${file ? "the file matches the receipt and " : ""}its root is anchored on chain ${notFinal.anchor.chainId} in block ${notFinal.anchor.blockNumber}, which is not final yet (${notFinal.confirmations} confirmation(s)); verify again later`
      : `verified: ${file ? "the file matches the receipt and " : ""}its root was anchored on chain ${a.anchor.chainId} in block ${a.anchor.blockNumber} at ${new Date(a.anchor.timestamp * 1000).toISOString()} (${a.confirmations} confirmation${a.confirmations === 1 ? "" : "s"})`;
    return result;
  }

  private async verifyAnchor(receipt: Receipt, anchor: ReceiptAnchor): Promise<AnchorVerdict> {
    const v: AnchorVerdict = {
      anchor,
      status: "unverifiable",
      ok: false,
      message: "",
      steps: [],
      endpoints: [],
      unchecked: [],
    };
    const take = (s: Step) => {
      v.steps.push(s);
      if (s.unchecked) v.unchecked.push(s.unchecked);
      if (!s.ok) throw new StepFailure(s);
    };
    try {
      let readers: ChainReader[];
      try {
        readers = await this.opts.readers(anchor);
      } catch (e) {
        if (!isProofmarkError(e)) throw e;
        throw new StepFailure({
          step: "chain-id",
          ok: false,
          code: e.code,
          message: e.message,
          detail: { chainId: anchor.chainId },
        });
      }
      v.endpoints = readers.map((r) => r.url);
      if (readers.length === 0)
        throw new StepFailure({
          step: "chain-id",
          ok: false,
          code: "NETWORK_UNKNOWN",
          message: `no RPC endpoint for chain ${anchor.chainId}`,
          detail: {},
        });

      // 1. every endpoint serves the receipt's chain
      const chainIds = await Promise.allSettled(
        readers.map((r) => this.read(r, "eth_chainId", []).then(decodeQuantity)),
      );
      for (const [i, c] of chainIds.entries()) {
        if (c.status === "rejected")
          await this.ask("chain-id", [readers[i]], "eth_chainId", [], decodeQuantity, () => true);
        else take(checkChainId(anchor, (c as PromiseFulfilledResult<number>).value, readers[i].url));
      }

      // 2. the registry's runtime code is a known EvidenceRegistry (or pinned by the user)
      const [code] = await this.ask(
        "registry-code",
        readers,
        "eth_getCode",
        [anchor.registry, "latest"],
        (raw) => String(raw).toLowerCase(),
        (a, b) => a === b,
      );
      const codeStep = checkRegistryCode(anchor, code, this.opts.knownRegistries, this.opts.trustRegistries ?? []);
      if (codeStep.detail.codeHash)
        v.registry = {
          codeHash: codeStep.detail.codeHash as Hex,
          known: codeStep.detail.known as string | undefined,
          trustedByUser: Boolean(codeStep.detail.trustedByUser),
        };
      take(codeStep);
      if (v.registry?.trustedByUser)
        v.unchecked.push(
          `registry ${anchor.registry} is not a registry this Proofmark knows (code hash ${v.registry.codeHash}); it was trusted because the user pinned it`,
        );

      // 3. the registry's record of the root
      const [answer] = await this.ask(
        "anchor",
        readers,
        "eth_call",
        [{ to: anchor.registry, data: anchorOfCalldata(receipt.proof.root) }, "latest"],
        (raw) => {
          const a = decodeAnchorOfAnswer(raw);
          if (!a)
            throw new StepFailure({
              step: "anchor",
              ok: false,
              code: "ANCHOR_MISMATCH",
              message: `registry ${anchor.registry} answered anchorOf(root) with ${String(raw).slice(0, 80)}, which is not an anchor record`,
              detail: {},
            });
          return a;
        },
        (a, b) => a.submitter === b.submitter && a.anchoredAt === b.anchoredAt && a.blockNumber === b.blockNumber,
      );
      take(checkAnchorAnswer(receipt, anchor, answer));

      // 4. the anchoring block's header: number, hash, time
      const [block] = await this.ask(
        "block",
        readers,
        "eth_getBlockByNumber",
        [`0x${anchor.blockNumber.toString(16)}`, false],
        decodeBlock,
        (a, b) => a?.hash === b?.hash && a?.timestamp === b?.timestamp,
      );
      take(checkBlock(anchor, answer, block));

      // 5. the registry's EvidenceAnchored log for this root is in that block
      const logs = await this.anchorLogs(readers, anchor, receipt.proof.root);
      if (logs) take(checkLog(receipt, anchor, logs));
      else
        take({
          step: "log",
          ok: true,
          detail: { blockHash: anchor.blockHash },
          unchecked:
            "anchoring log not checked (the endpoint returned no logs or receipts for that block: history not available)",
        });

      // 6. the receipt's transaction is a transaction of that block
      take(checkTxInBlock(anchor, block!));

      // 7. confirmations and finality, from every endpoint
      const latest = await this.ask("finality", readers, "eth_blockNumber", [], decodeQuantity, () => true);
      const finalized = await Promise.all(
        readers.map((r) =>
          this.read(r, "eth_getBlockByNumber", ["finalized", false]).then(
            (raw) => decodeBlock(raw)?.number,
            () => undefined,
          ),
        ),
      );
      const reported = finalized
        .map((f, i) => ({ url: readers[i].url, final: f === undefined ? undefined : anchor.blockNumber <= f }))
        .filter((x) => x.final !== undefined);
      const yes = reported.find((x) => x.final === true);
      const no = reported.find((x) => x.final === false);
      if (yes && no) {
        throw new StepFailure({
          step: "finality",
          ok: false,
          code: "RPC_DISAGREEMENT",
          message: `the RPC endpoints disagree on finality: ${yes.url} reports block ${anchor.blockNumber} final, ${no.url} does not; do not trust either until this is explained`,
          detail: { endpoints: [yes.url, no.url] },
        });
      }
      const fin = checkFinality(
        anchor,
        Math.min(...latest),
        no ? anchor.blockNumber - 1 : yes ? anchor.blockNumber : undefined,
        this.opts.minConfirmations ?? 1,
      );
      v.confirmations = fin.confirmations;
      v.final = fin.final;
      take({ step: fin.step, ok: fin.ok, detail: fin.detail, code: fin.code, message: fin.message });
      if (fin.final === undefined)
        v.unchecked.push(
          "finality not checked (the endpoint does not report a finalized block); confirmations are the measure",
        );
      v.ok = true;
      v.status = fin.final === false ? "not-final" : "verified";
      v.message =
        v.status === "verified"
          ? `anchored on chain ${anchor.chainId} in block ${anchor.blockNumber}`
          : `anchored on chain ${anchor.chainId} in block ${anchor.blockNumber}, not final yet`;
    } catch (e) {
      const step = e instanceof StepFailure ? e.step : undefined;
      if (!step) throw e;
      if (!v.steps.includes(step)) v.steps.push(step);
      v.code = step.code;
      v.message = step.message ?? "";
      v.status = statusOfCode(step.code);
    }
    return v;
  }

  /** The registry's EvidenceAnchored logs of the anchoring block (eth_getLogs by block hash, else the named transaction's receipt); undefined when the node has neither. */
  private async anchorLogs(readers: ChainReader[], anchor: ReceiptAnchor, root: Hex): Promise<AnchorLog[] | undefined> {
    const same = (a: AnchorLog[] | null, b: AnchorLog[] | null) =>
      JSON.stringify(a, bigints) === JSON.stringify(b, bigints);
    try {
      const [logs] = await this.ask(
        "log",
        readers,
        "eth_getLogs",
        [{ blockHash: anchor.blockHash, address: anchor.registry, topics: [EVIDENCE_ANCHORED_TOPIC, root] }],
        decodeAnchorLogs,
        same,
      );
      if (logs) return logs;
    } catch (e) {
      if (!(e instanceof StepFailure) || e.step.code !== "RPC_UNREACHABLE" || !refused(e)) throw e;
    }
    try {
      const [logs] = await this.ask(
        "log",
        readers,
        "eth_getTransactionReceipt",
        [anchor.txHash],
        (raw) => (raw === null ? null : decodeAnchorLogs((raw as { logs?: unknown }).logs)),
        same,
      );
      return logs ?? undefined;
    } catch (e) {
      if (e instanceof StepFailure && e.step.code === "RPC_UNREACHABLE" && refused(e)) return undefined;
      throw e;
    }
  }
}

/** True when the endpoint answered with a JSON-RPC error (it is there, but does not serve this). */
function refused(e: StepFailure): boolean {
  return e.step.detail.refused === true;
}

function bigints(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v, bigints) ?? String(v);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
}

/**
 * The verdict of a result, from `ok`, `code` and the anchors alone: a failed result is its code's
 * status (never "verified"), a passed one is "not-final" while any anchor's block is not final.
 */
export function resultStatus(result: Pick<VerificationResult, "ok" | "code" | "anchors">): VerdictStatus {
  if (!result.ok) {
    const s = statusOfCode(result.code);
    return s === "verified" ? "unverifiable" : s;
  }
  if (result.anchors.length === 0 || result.anchors.some((a) => !a.ok)) return "unverifiable";
  return result.anchors.some((a) => a.final === false) ? "not-final" : "verified";
}

function finish(result: VerificationResult, code: ErrorCode | undefined, message: string): VerificationResult {
  result.ok = false;
  result.code = code;
  result.status = resultStatus(result);
  result.message = message;
  return result;
}

/**
 * Verifies one receipt in a fresh session.
 *
 * @example
 * const result = await verifyReceipt(receipt, { sha256, size }, { readers: () => [jsonRpcReader(url)], knownRegistries: KNOWN_REGISTRY_CODES });
 */
export function verifyReceipt(
  receipt: Receipt,
  file: { path?: string; sha256: string; size: number } | undefined,
  opts: EngineOptions,
): Promise<VerificationResult> {
  return new Verifier(opts).verify(receipt, file);
}
