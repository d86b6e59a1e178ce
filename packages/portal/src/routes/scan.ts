import type * as http from "node:http";
import { isProofmarkError, parseDigitalLinkPath } from "@proofmark/sdk";
import { BoundedCache } from "../cache";
import { t, type Lang } from "../i18n";
import { fillScanSlots, messagePage, SCAN_SLOTS, scanPage, type ScanModel } from "../pages";
import { asPage, HttpError, page, pageHeaders, renderHtml, sendPage, type RenderedPage } from "../respond";
import { parseLotId } from "../lot-id";
import type { PortalContext, Target } from "./context";

/** A scan page rendered without its counts: byte pieces around the SCAN_SLOTS, and what it showed. */
interface ScanTemplate {
  version: number;
  verdict: ScanModel["verdict"];
  reachable: boolean;
  lastSync: number;
  pieces: Buffer[];
  /** The slot between pieces[i] and pieces[i + 1]. */
  slots: Array<keyof typeof SCAN_SLOTS>;
  /** Headers without content-length. */
  headers: string[];
}

/** The scan page last sent for a URL: its template, the counts it was filled with, and its bytes. */
interface ShownScan {
  template: ScanTemplate;
  count: number;
  firstSeen: number;
  manyScans: boolean;
  page: RenderedPage;
}

/** What a scan URL keeps between requests (on its {@link Target}). */
interface ScanState {
  link?: ReturnType<typeof parseDigitalLinkPath>;
  /** Per language: the page template for the current trace, and the page last sent. */
  templates: Partial<Record<Lang, ScanTemplate>>;
  shown: Partial<Record<Lang, ShownScan>>;
}

/** The slot marks of a scan page (pages.ts), as a splitting pattern with one capture. */
const SLOT_NAMES: Record<string, keyof typeof SCAN_SLOTS> = Object.fromEntries(
  Object.entries(SCAN_SLOTS).map(([name, mark]) => [mark, name as keyof typeof SCAN_SLOTS]),
);
const SLOT_RE = new RegExp(`(${Object.values(SCAN_SLOTS).join("|")})`);

/**
 * The consumer scan pages (`/01/<gtin>/10/<lot>/21/<serial>`): the lot's trace from the index with
 * the SDK's verdict, whether the serial was issued for it, and how often it was scanned.
 */
export class ScanRoute {
  /** Serial lookups, per index version (serials only change when the index does). */
  private readonly serials = new BoundedCache<string, ReturnType<PortalContext["q"]["serial"]> | null>(100_000);

  constructor(private readonly ctx: PortalContext) {}

  private issuedSerial(serial: string): ReturnType<PortalContext["q"]["serial"]> {
    const version = this.ctx.opts.status.version;
    return this.serials.getOrSet(serial, () => this.ctx.q.serial(serial) ?? null, version) ?? undefined;
  }

  /** What the page (or `/api/scan/…`) shows; `client` set: this request is a scan to count. */
  async model(parsed: ReturnType<typeof parseDigitalLinkPath>, client: string | undefined): Promise<ScanModel> {
    const { ctx } = this;
    if (parsed.prefix !== "") throw new HttpError(404, "not found");
    const chain = ctx.chainView();
    const lotId = parseLotId(parsed.lot);
    const trace = lotId === undefined ? undefined : ctx.q.trace(lotId, ctx.opts.status.version);
    const model: ScanModel = {
      gtin: parsed.gtin,
      lot: parsed.lot,
      serial: parsed.serial,
      verdict: "lot-not-found",
      trace: undefined,
      scans: undefined,
      manyScans: false,
      chain,
    };
    if (!trace || !trace.product) return model;
    model.trace = trace;
    const issued = this.issuedSerial(parsed.serial);
    if (!issued || issued.lot !== lotId || issued.gtin !== parsed.gtin) {
      model.verdict = "unknown-serial";
      return model;
    }
    model.verdict = "ok";
    model.scans =
      client !== undefined ? await ctx.counter.record(parsed.serial, client) : await ctx.counter.read(parsed.serial);
    model.manyScans = (model.scans?.count ?? 0) > ctx.warnAfter;
    return model;
  }

  /** Serves a scan page; `client` is undefined for requests that are not scans (HEAD). */
  async handle(
    res: http.ServerResponse,
    target: Target,
    lang: Lang,
    cookie: string | undefined,
    client: string | undefined,
  ): Promise<void> {
    const state = (target.scan ??= { templates: {}, shown: {} }) as ScanState;
    let model: ScanModel;
    try {
      state.link ??= parseDigitalLinkPath(target.pathname);
      model = await this.model(state.link, client);
    } catch (e) {
      if (isProofmarkError(e, "INVALID_ARGUMENT")) {
        return page(
          res,
          400,
          lang,
          target.pathname,
          t(lang, "badCode"),
          messagePage(t(lang, "badCode"), t(lang, "badCodeNote")),
          undefined,
          cookie,
        );
      }
      throw e;
    }
    sendPage(res, 200, this.rendered(lang, target.pathname, state, model), cookie);
  }

  /**
   * The scan page in `lang`. The page is rendered once per trace version, verdict and chain
   * state, with slots for the counts (pages.ts SCAN_SLOTS); a counted scan only fills the slots,
   * and a scan that changed no count re-sends the last page's bytes.
   */
  private rendered(lang: Lang, pathname: string, state: ScanState, model: ScanModel): RenderedPage {
    const version = this.ctx.opts.status.version;
    const chain = model.chain;
    let template = state.templates[lang];
    if (
      template === undefined ||
      template.version !== version ||
      template.verdict !== model.verdict ||
      template.reachable !== chain.reachable ||
      (!chain.reachable && template.lastSync !== chain.lastSync)
    ) {
      const html = renderHtml(lang, pathname, t(lang, "title"), scanPage(lang, model));
      const parts = html.split(SLOT_RE);
      template = {
        version,
        verdict: model.verdict,
        reachable: chain.reachable,
        lastSync: chain.lastSync,
        pieces: parts.filter((_p, i) => i % 2 === 0).map((p) => Buffer.from(p, "utf8")),
        slots: parts.filter((_p, i) => i % 2 === 1).map((name) => SLOT_NAMES[name]),
        headers: pageHeaders(lang),
      };
      state.templates[lang] = template;
    }
    const count = model.scans?.count ?? -1;
    const firstSeen = model.scans?.firstSeen ?? -1;
    const last = state.shown[lang];
    if (
      last !== undefined &&
      last.template === template &&
      last.count === count &&
      last.firstSeen === firstSeen &&
      last.manyScans === model.manyScans
    ) {
      return last.page;
    }
    let body: Buffer;
    if (template.slots.length === 0) body = template.pieces[0];
    else {
      const filled = fillScanSlots(lang, model);
      const pieces: Buffer[] = [template.pieces[0]];
      for (let i = 0; i < template.slots.length; i++)
        pieces.push(Buffer.from(filled[template.slots[i]], "utf8"), template.pieces[i + 1]);
      body = Buffer.concat(pieces);
    }
    const rendered = asPage(body, template.headers);
    state.shown[lang] = { template, count, firstSeen, manyScans: model.manyScans, page: rendered };
    return rendered;
  }
}
