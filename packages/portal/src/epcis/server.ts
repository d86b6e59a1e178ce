import * as http from "node:http";
import { randomUUID } from "node:crypto";
import {
  documentEvents,
  epcisSchemaProblems,
  importEpcisBytes,
  isProofmarkError,
  parseEventTime,
  epcToDigitalLink,
  cbvUri,
  type EpcisEvent,
  type EpcisImportTarget,
} from "@proofmark/sdk";

/**
 * A subset of the EPCIS 2.0 REST bindings (GS1's `REST Bindings/openapi.yaml`) in front of the
 * provenance registry:
 *
 * - `POST /capture` — an EPCIS 2.0 JSON(-LD) document; schema-validated at once (400,
 *   `application/problem+json` with `epcisException:ValidationException` when invalid), then
 *   `202 Accepted` with `Location: /capture/<id>`; the capture job records the events on chain
 *   all-or-nothing (`GS1-Capture-Error-Behaviour: rollback`), exactly as `proofmark gi import`.
 * - `GET /capture/{captureID}` — the capture job (`running`, `success`, `errors`).
 * - `GET /events` — captured events as an EPCISQueryDocument, filtered by `EQ_bizStep`,
 *   `GE_eventTime`, `LT_eventTime`, `MATCH_epc`, `MATCH_anyEPC`, `EQ_bizLocation` (each may list
 *   several values separated by `|`).
 * - `GET /eventTypes` — the five EPCIS event types.
 *
 * Requests and responses are tested against the OpenAPI document's schemas.
 */

export interface EpcisServerOptions {
  /** Where captured events are recorded (a GiSession of the capturing account). */
  target: EpcisImportTarget;
  /** Largest accepted request body, bytes (default 16 MiB; `GS1-EPCIS-Capture-File-Size-Limit`). */
  maxBytes?: number;
}

/** One capture job (openapi `CaptureJob`). */
interface CaptureJob {
  captureID: string;
  createdAt: string;
  finishedAt?: string;
  running: boolean;
  success: boolean;
  captureErrorBehaviour: "rollback";
  errors: Array<{ type: string; title: string; status: number; detail?: string }>;
}

const CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
const EVENT_TYPES = ["AggregationEvent", "AssociationEvent", "ObjectEvent", "TransactionEvent", "TransformationEvent"];
const VERSION_HEADERS = { "GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0" };

export interface EpcisServer {
  handler: http.RequestListener;
  /** Resolves when every capture job started so far has finished. */
  idle(): Promise<void>;
}

/**
 * The request handler of the EPCIS REST subset.
 *
 * @example
 * const epcis = createEpcisHandler({ target: await GiSession.open(chain) });
 * http.createServer(epcis.handler).listen(8090);
 */
export function createEpcisHandler(opts: EpcisServerOptions): EpcisServer {
  const jobs = new Map<string, CaptureJob>();
  const events: Array<{ event: EpcisEvent; context: unknown }> = [];
  const pending = new Set<Promise<void>>();
  let queue: Promise<void> = Promise.resolve(); // one capture at a time: nonces and all-or-nothing stay simple
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    type = "application/json",
  ) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { ...VERSION_HEADERS, ...(text ? { "content-type": type } : {}), ...headers });
    res.end(text);
  };
  const problem = (res: http.ServerResponse, status: number, type: string, title: string, detail?: string) =>
    send(res, status, { type, title, status, ...(detail ? { detail } : {}) }, {}, "application/problem+json");

  const capture = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const type = String(req.headers["content-type"] ?? "")
      .split(";")[0]
      .trim();
    if (type !== "application/json" && type !== "application/ld+json")
      return problem(
        res,
        415,
        "epcisException:UnsupportedMediaTypeException",
        "Unsupported media type",
        "send application/json or application/ld+json",
      );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > maxBytes)
        return problem(
          res,
          413,
          "epcisException:CapturePayloadTooLargeException",
          "Capture payload too large",
          `at most ${maxBytes} bytes`,
        );
      chunks.push(c as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      return problem(res, 400, "epcisException:ValidationException", "The document is not JSON", (e as Error).message);
    }
    const problems = epcisSchemaProblems(doc);
    if (problems.length > 0)
      return problem(
        res,
        400,
        "epcisException:ValidationException",
        "The document is not a valid EPCIS 2.0 document",
        problems.join("; "),
      );
    const id = randomUUID();
    const job: CaptureJob = {
      captureID: id,
      createdAt: new Date().toISOString(),
      running: true,
      success: true,
      captureErrorBehaviour: "rollback",
      errors: [],
    };
    jobs.set(id, job);
    const run = (queue = queue.then(async () => {
      try {
        await importEpcisBytes(opts.target, bytes, `capture-${id}.jsonld`);
        const context = (doc as { "@context"?: unknown })["@context"];
        for (const event of documentEvents(doc)) events.push({ event, context });
      } catch (e) {
        job.success = false;
        job.errors.push({
          type: isProofmarkError(e, "IMPORT_INVALID")
            ? "epcisException:ValidationException"
            : "epcisException:ImplementationException",
          title: isProofmarkError(e) ? e.code : "capture failed",
          status: isProofmarkError(e, "IMPORT_INVALID") ? 400 : 500,
          detail: (e as Error).message,
        });
      } finally {
        job.running = false;
        job.finishedAt = new Date().toISOString();
      }
    }));
    pending.add(run);
    void run.finally(() => pending.delete(run));
    send(res, 202, undefined, { Location: `/capture/${id}`, "GS1-Capture-Error-Behaviour": "rollback" });
  };

  const query = (url: URL, res: http.ServerResponse) => {
    const list = (name: string) =>
      url.searchParams
        .getAll(name)
        .flatMap((v) => v.split("|"))
        .filter((v) => v !== "");
    const steps = list("EQ_bizStep").map((s) => cbvUri("BizStep", s));
    const places = list("EQ_bizLocation").map(epcToDigitalLink);
    const epcs = list("MATCH_epc").map(epcToDigitalLink);
    const anyEpcs = list("MATCH_anyEPC").map(epcToDigitalLink);
    let ge: number | undefined;
    let lt: number | undefined;
    try {
      if (url.searchParams.has("GE_eventTime")) ge = parseEventTime(url.searchParams.get("GE_eventTime")!);
      if (url.searchParams.has("LT_eventTime")) lt = parseEventTime(url.searchParams.get("LT_eventTime")!);
    } catch (e) {
      return problem(res, 400, "epcisException:QueryParameterException", "Bad query parameter", (e as Error).message);
    }
    const ids = (e: EpcisEvent, keys: Array<"epcList" | "childEPCs" | "inputEPCList" | "outputEPCList">) =>
      keys.flatMap((k) => ((e[k] as string[] | undefined) ?? []).map(epcToDigitalLink));
    const found = events.filter(({ event: e }) => {
      if (steps.length && (e.bizStep === undefined || !steps.includes(cbvUri("BizStep", String(e.bizStep)))))
        return false;
      if (places.length && (e.bizLocation === undefined || !places.includes(epcToDigitalLink(e.bizLocation.id))))
        return false;
      const t = parseEventTime(e.eventTime);
      if (ge !== undefined && !(t >= ge)) return false;
      if (lt !== undefined && !(t < lt)) return false;
      if (epcs.length && !ids(e, ["epcList", "childEPCs"]).some((x) => epcs.includes(x))) return false;
      if (anyEpcs.length) {
        const all = [
          ...ids(e, ["epcList", "childEPCs", "inputEPCList", "outputEPCList"]),
          ...(e.parentID ? [epcToDigitalLink(e.parentID)] : []),
        ];
        if (!all.some((x) => anyEpcs.includes(x))) return false;
      }
      return true;
    });
    const contexts = new Map<string, unknown>();
    for (const { context } of found)
      for (const c of Array.isArray(context) ? context : [context]) contexts.set(JSON.stringify(c), c);
    contexts.delete(JSON.stringify(CONTEXT));
    send(res, 200, {
      "@context": [CONTEXT, ...contexts.values()],
      type: "EPCISQueryDocument",
      schemaVersion: "2.0",
      creationDate: new Date().toISOString(),
      epcisBody: {
        queryResults: { queryName: "SimpleEventQuery", resultsBody: { eventList: found.map((f) => f.event) } },
      },
    });
  };

  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname.replace(/\/+$/, "") || "/";
    const go = async () => {
      if (p === "/capture" && req.method === "POST") return capture(req, res);
      if (p.startsWith("/capture/") && req.method === "GET") {
        const job = jobs.get(decodeURIComponent(p.slice("/capture/".length)));
        return job
          ? send(res, 200, job)
          : problem(res, 404, "epcisException:NoSuchResourceException", "No such capture job");
      }
      if (p === "/events" && req.method === "GET") return query(url, res);
      if (p === "/eventTypes" && req.method === "GET")
        return send(res, 200, { "@context": [CONTEXT], type: "Collection", member: EVENT_TYPES });
      return problem(
        res,
        404,
        "epcisException:NoSuchResourceException",
        "No such resource",
        `${req.method} ${p} is not part of this EPCIS subset`,
      );
    };
    go().catch((e) => {
      if (!res.headersSent)
        problem(res, 500, "epcisException:ImplementationException", "Server error", (e as Error).message);
      else res.destroy();
    });
  };
  return {
    handler,
    idle: async () => {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
