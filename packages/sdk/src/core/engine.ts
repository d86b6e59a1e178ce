import { isProofmarkError, type ErrorCode } from "./errors";
import type { Hex } from "./hex";
import { processProof } from "./merkle";
import {
  isPendingReceipt,
  uncoveredFields,
  type PendingReceipt,
  type Receipt,
  type ReceiptAnchor,
  type ReceiptTimestamp,
} from "./receipt";
import type { TimestampTokenInfo } from "./rfc3161";
import { verifyAttestation, type Attestation } from "./statement";
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
  /**
   * How many time witnesses (anchors and RFC 3161 tokens) must verify: "all" (default), "any", or a
   * number. A witness that contradicts the receipt (status "mismatch") fails it whatever the policy.
   */
  policy?: WitnessPolicy;
  /**
   * Verifies one RFC 3161 token over the root, offline, against the trust the verifier configured
   * (throws a ProofmarkError with the token's own code). Absent: tokens are reported as not checked
   * here (`timestampsNotChecked` says why), never as verified.
   */
  checkTimestamp?: (timestamp: ReceiptTimestamp, root: Hex) => Promise<TimestampTokenInfo & { trustNote?: string }>;
  /** Why tokens are not checked when `checkTimestamp` is absent (e.g. "RFC 3161 is not checked in the browser"). */
  timestampsNotChecked?: string;
}

/** The validation policy over time witnesses (anchors + RFC 3161 tokens). */
export type WitnessPolicy = "all" | "any" | number;

/** The verdict on one RFC 3161 token. */
export interface TimestampVerdict {
  timestamp: ReceiptTimestamp;
  status: VerdictStatus;
  ok: boolean;
  code?: ErrorCode;
  message: string;
  /** What the verified token says (TSA, genTime, chain, what was not checked). */
  info?: TimestampTokenInfo & { trustNote?: string };
  unchecked: string[];
}

/** The verdict on one attestation (calendar acknowledgement, submitter statement). */
export interface AttestationResult {
  attestation: Attestation;
  /** Whose key: the calendar's, or the submitter's own — two different things. */
  role: "calendar" | "submitter";
  status: VerdictStatus;
  ok: boolean;
  code?: ErrorCode;
  /** "signed by 0x… (submitter)" or why not. */
  message: string;
  signer?: Hex;
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
  /** v2: each RFC 3161 token's own verdict. */
  timestamps: TimestampVerdict[];
  /** v2: each attestation's own verdict. */
  attestations: AttestationResult[];
  /** The policy applied and how many time witnesses (anchors + tokens) verified. */
  policy: { policy: WitnessPolicy; required: number; verified: number; witnesses: number };
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
  async verify(
    input: Receipt | PendingReceipt,
    file?: { path?: string; sha256: string; size: number },
  ): Promise<VerificationResult> {
    const receipt = input as Receipt;
    const policy = this.opts.policy ?? "all";
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
      timestamps: [],
      attestations: [],
      policy: { policy, required: 0, verified: 0, witnesses: 0 },
    };
    const offlineFailure = result.steps.find((s) => !s.ok);
    if (offlineFailure) return finish(result, offlineFailure.code, offlineFailure.message!);
    result.attestations = (receipt.attestations ?? []).map(checkAttestation);
    const forged = result.attestations.find((a) => !a.ok);
    if (isPendingReceipt(input)) {
      if (forged) return finish(result, forged.code, `${forged.role} attestation: ${forged.message}`);
      const acks = result.attestations.filter((a) => a.role === "calendar");
      result.status = "pending";
      result.code = "RECEIPT_PENDING";
      result.message = `pending: ${acks.length} calendar(s) acknowledged the leaf (${acks.map((a) => a.message).join("; ")}), but it is not anchored yet — this is not a verified timestamp; complete the receipt from its calendar(s)`;
      return result;
    }
    [result.anchors, result.timestamps] = await Promise.all([
      Promise.all(receipt.anchors.map((a) => this.verifyAnchor(receipt, a))),
      Promise.all((receipt.timestamps ?? []).map((t) => this.verifyTimestamp(receipt, t))),
    ]);
    const witnesses: Array<{
      kind: "anchor" | "timestamp";
      ok: boolean;
      status: VerdictStatus;
      code?: ErrorCode;
      message: string;
      name: string;
    }> = [
      ...result.anchors.map((a) => ({ ...a, kind: "anchor" as const, name: `chain ${a.anchor.chainId}` })),
      ...result.timestamps.map((t) => ({
        ...t,
        kind: "timestamp" as const,
        name: `TSA ${t.info?.tsa ?? t.timestamp.tsa}`,
      })),
    ];
    const verified = witnesses.filter((w) => w.ok).length;
    const required = policy === "all" ? witnesses.length : policy === "any" ? 1 : policy;
    result.policy = { policy, required, verified, witnesses: witnesses.length };
    const contradiction = witnesses.find((w) => w.status === "mismatch");
    if (contradiction)
      // an anchor's message names its chain already; a token's is prefixed with its TSA
      return finish(
        result,
        contradiction.code,
        contradiction.kind === "anchor" ? contradiction.message : `${contradiction.name}: ${contradiction.message}`,
      );
    if (forged) return finish(result, forged.code, `${forged.role} attestation: ${forged.message}`);
    if (verified < required || witnesses.length === 0) {
      const bad = witnesses.find((w) => !w.ok);
      if (required === witnesses.length && bad) return finish(result, bad.code, bad.message);
      return finish(
        result,
        "POLICY_NOT_MET",
        `${verified} of ${witnesses.length} witness(es) verified, the policy (${policy}) requires ${required}; not verified: ${witnesses
          .filter((w) => !w.ok)
          .map((w) => `${w.name} (${w.code}: ${w.message})`)
          .join("; ")}`,
      );
    }
    result.ok = true;
    result.status = resultStatus(result);
    const okAnchors = result.anchors.filter((x) => x.ok);
    const notFinal = okAnchors.find((x) => x.final === false);
    const skipped = witnesses.filter((w) => !w.ok);
    const also = skipped.length
      ? `; NOT CHECKED (the policy ${policy} allowed it): ${skipped.map((w) => `${w.name} — ${w.code}: ${w.message}`).join("; ")}`
      : "";
    const a = okAnchors[0];
    const t = result.timestamps.find((x) => x.ok);
    const what = a
      ? `its root was anchored on chain ${a.anchor.chainId} in block ${a.anchor.blockNumber} at ${new Date(a.anchor.timestamp * 1000).toISOString()} (${a.confirmations} confirmation${a.confirmations === 1 ? "" : "s"})`
      : `its root was time-stamped by ${t!.info!.tsa} at ${t!.info!.genTime}`;
    const count = witnesses.length > 1 ? ` — ${verified} of ${witnesses.length} witnesses verified` : "";
    result.message = notFinal
      ? `not yet final: ${file ? "the file matches the receipt and " : ""}its root is anchored on chain ${notFinal.anchor.chainId} in block ${notFinal.anchor.blockNumber}, which is not final yet (${notFinal.confirmations} confirmation(s)); verify again later${count}${also}`
      : `verified: ${file ? "the file matches the receipt and " : ""}${what}${count}${also}`;
    return result;
  }

  /** One RFC 3161 token over the root, through the adapter (offline; trust from the verifier's configuration). */
  private async verifyTimestamp(receipt: Receipt, t: ReceiptTimestamp): Promise<TimestampVerdict> {
    if (!this.opts.checkTimestamp) {
      const why = this.opts.timestampsNotChecked ?? "no RFC 3161 verifier is configured in this verifier";
      return {
        timestamp: t,
        status: "unverifiable",
        ok: false,
        code: "TIMESTAMP_UNTRUSTED",
        message: `the RFC 3161 token from ${t.tsa} was NOT CHECKED here: ${why}`,
        unchecked: [`RFC 3161 token from ${t.tsa}: ${why}`],
      };
    }
    try {
      const info = await this.opts.checkTimestamp(t, receipt.proof.root);
      return {
        timestamp: t,
        status: "verified",
        ok: true,
        message: `time-stamped by ${info.tsa} at ${info.genTime}${info.trustNote ? ` (${info.trustNote})` : ""}`,
        info,
        unchecked: info.notChecked,
      };
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      return {
        timestamp: t,
        status: statusOfCode(e.code),
        ok: false,
        code: e.code,
        message: e.message,
        unchecked: [],
      };
    }
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
export function resultStatus(
  result: Pick<VerificationResult, "ok" | "code" | "anchors"> & { timestamps?: TimestampVerdict[] },
): VerdictStatus {
  if (!result.ok) {
    const s = statusOfCode(result.code);
    return s === "verified" ? "unverifiable" : s;
  }
  const okAnchors = result.anchors.filter((a) => a.ok);
  if (okAnchors.length === 0 && !(result.timestamps ?? []).some((t) => t.ok)) return "unverifiable";
  return okAnchors.some((a) => a.final === false) ? "not-final" : "verified";
}

/** One attestation's own verdict; a calendar acknowledgement's path folds with the Merkle tree of batches. */
function checkAttestation(a: Attestation): AttestationResult {
  const v = verifyAttestation(a, { foldPath: (leaf, path) => processProof(leaf, path as Hex[]).root });
  return {
    attestation: a,
    role: a.type,
    status: v.valid ? "verified" : "mismatch",
    ok: v.valid,
    code: v.code,
    message: v.summary,
    signer: v.signer,
  };
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
  receipt: Receipt | PendingReceipt,
  file: { path?: string; sha256: string; size: number } | undefined,
  opts: EngineOptions,
): Promise<VerificationResult> {
  return new Verifier(opts).verify(receipt, file);
}
