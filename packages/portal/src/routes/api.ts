import type * as http from "node:http";
import { EvidenceRegistryClient, parseDigitalLinkPath, type Hex } from "@proofmark/sdk";
import { BoundedCache } from "../cache";
import { parseLotId } from "../lot-id";
import { API_HEADERS, HttpError, json, send } from "../respond";
import type { PortalContext } from "./context";
import type { ScanRoute } from "./scan";

const ROOT_RE = /^0x[0-9a-f]{64}$/;
const SERIAL_RE = /^[0-9A-Z]{1,20}$/;

/**
 * The JSON API under /api/: health, lots and their traces (with the SDK's verdict), products,
 * serials, scans (not counted), and anchors (`/api/anchors/<root>` also reads the chain: that is
 * its job, for the verify page).
 */
export class ApiRoute {
  /** Trace API bodies per lot, rebuilt when the index or the chain view changes. */
  private readonly traceBodies = new BoundedCache<number, { key: string; body: Buffer }>(5_000);
  private readonly evidence?: EvidenceRegistryClient;

  constructor(
    private readonly ctx: PortalContext,
    private readonly scan: ScanRoute,
  ) {
    this.evidence = ctx.opts.evidenceRegistry
      ? new EvidenceRegistryClient(ctx.opts.evidenceRegistry, ctx.opts.provider)
      : undefined;
  }

  private traceBody(id: number): Buffer | undefined {
    const { ctx } = this;
    const chain = JSON.stringify(ctx.chainView());
    const key = `${ctx.opts.status.version}|${chain}`;
    const hit = this.traceBodies.get(id);
    if (hit?.key === key) return hit.body;
    const trace = ctx.q.trace(id, ctx.opts.status.version);
    if (trace === undefined) return undefined;
    const body = Buffer.from(`{"chain":${chain},${JSON.stringify(trace).slice(1)}`, "utf8");
    this.traceBodies.set(id, { key, body });
    return body;
  }

  async handle(res: http.ServerResponse, p: string): Promise<void> {
    const { ctx } = this;
    const opts = ctx.opts;
    let m: RegExpExecArray | null;
    if (p === "/api/health") {
      json(res, 200, {
        ok: true,
        chainId: opts.chainId,
        evidenceRegistry: opts.evidenceRegistry ?? null,
        provenanceRegistry: opts.provenanceRegistry ?? null,
        chain: ctx.chainView(),
      });
      return;
    }
    if ((m = /^\/api\/lots\/([^/]+)(\/trace)?$/.exec(p))) {
      const id = parseLotId(m[1]);
      if (id === undefined) throw new HttpError(400, "lot must be a decimal lot id ≥ 1");
      const trace = ctx.q.trace(id, opts.status.version);
      if (!trace) throw new HttpError(404, `lot ${id} is not in the index`);
      if (m[2]) send(res, 200, API_HEADERS, this.traceBody(id)!);
      else
        json(res, 200, {
          lot: trace.lot,
          product: trace.product,
          status: trace.status,
          findings: trace.findings,
          recall: trace.recall,
          codes: trace.codes,
          chain: ctx.chainView(),
        });
      return;
    }
    if ((m = /^\/api\/products\/([^/]+)$/.exec(p))) {
      const id = /^[1-9][0-9]{0,9}$/.test(m[1]) ? Number(m[1]) : undefined;
      if (id === undefined) throw new HttpError(400, "product must be a decimal product id ≥ 1");
      const product = ctx.q.product(id);
      if (!product) throw new HttpError(404, `product ${id} is not in the index`);
      json(res, 200, product);
      return;
    }
    if ((m = /^\/api\/serials\/([^/]+)$/.exec(p))) {
      if (!SERIAL_RE.test(m[1])) throw new HttpError(400, "serial must be 1–20 characters 0-9 A-Z");
      const issued = ctx.q.serial(m[1]);
      json(res, 200, {
        serial: m[1],
        known: Boolean(issued),
        gtin: issued?.gtin,
        lot: issued?.lot,
        commitment: issued?.commitment,
        scans: (await ctx.counter.read(m[1])) ?? { count: 0 },
      });
      return;
    }
    if (p.startsWith("/api/scan/")) {
      const model = await this.scan.model(parseDigitalLinkPath(p.slice("/api/scan".length)), undefined);
      json(res, 200, {
        gtin: model.gtin,
        lot: model.lot,
        serial: model.serial,
        verdict: model.verdict,
        status: model.trace?.status,
        findings: model.trace?.findings,
        recall: model.trace?.recall,
        scans: model.scans ?? { count: 0 },
        manyScans: model.manyScans,
        chain: model.chain,
      });
      return;
    }
    if ((m = /^\/api\/anchors\/([^/]+)$/.exec(p))) {
      await this.anchor(res, m[1]);
      return;
    }
    throw new HttpError(404, "no such API");
  }

  /** `/api/anchors/<root>`: what the verify page asks (the index's row and the chain's answer). */
  private async anchor(res: http.ServerResponse, rootParam: string): Promise<void> {
    const { ctx } = this;
    const opts = ctx.opts;
    const evidence = this.evidence;
    const root = rootParam.toLowerCase();
    if (!ROOT_RE.test(root)) throw new HttpError(400, "root must be 0x followed by 64 hex digits");
    const indexed = ctx.q.anchor(root);
    let chain: Record<string, unknown>;
    if (!evidence) chain = { reachable: false, error: "no EvidenceRegistry is configured" };
    else {
      try {
        const timeout = new Promise<never>((_r, reject) =>
          setTimeout(() => reject(new Error("timeout")), 4_000).unref(),
        );
        const [a, head] = await Promise.race([
          Promise.all([evidence.anchorOf(root as Hex), opts.provider.getBlockNumber()]),
          timeout,
        ]);
        chain = {
          reachable: true,
          anchoredAt: a.anchoredAt,
          blockNumber: a.blockNumber,
          submitter: a.submitter,
          confirmations: a.anchoredAt ? head - a.blockNumber + 1 : 0,
        };
      } catch {
        chain = { reachable: false };
      }
    }
    json(res, chain.reachable ? 200 : 503, {
      root,
      chainId: opts.chainId,
      registry: opts.evidenceRegistry?.toLowerCase() ?? null,
      indexed: indexed ?? null,
      chain,
    });
  }
}
