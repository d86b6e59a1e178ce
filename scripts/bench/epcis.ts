// EPCIS area of `npm run bench`: the CBV 2.0 event hash over the reference implementation's 43 JSON
// example events, and GS1 Digital Link checking, each beside a naive peer measured in the same run.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import {
  checkDigitalLink,
  contextPrefixes,
  documentEvents,
  epcisEventHash,
  type EpcisEvent,
} from "../../packages/sdk/src/core";
import type { BenchRow } from "./types";

function rate(fn: () => void, minMs = 1500): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    now = performance.now();
  }
  return Math.round((n * 1000) / (now - start));
}

export async function run(): Promise<BenchRow[]> {
  const dir = path.join(__dirname, "..", "..", "test", "vectors", "epcis-hash");
  const events: Array<{ event: EpcisEvent; prefixes: Record<string, string> }> = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".jsonld"))) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    for (const event of documentEvents(doc)) events.push({ event, prefixes: contextPrefixes(doc["@context"]) });
  }
  let i = 0;
  const hashRate = rate(() => {
    const e = events[i++ % events.length];
    epcisEventHash(e.event, { prefixes: e.prefixes });
  });
  i = 0;
  const naive = rate(() => {
    createHash("sha256")
      .update(JSON.stringify(events[i++ % events.length].event))
      .digest("hex");
  });
  const uris = [
    "https://id.example.org/01/09501101530003/10/L%281/21/8K2M4Q9TXV3C6H1R",
    "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345",
    "https://a/01/12312312312333/10/ABC%2d123/21/XYZ%2f987",
  ];
  i = 0;
  const dlRate = rate(() => void checkDigitalLink(uris[i++ % uris.length]));
  i = 0;
  const urlRate = rate(() => void new URL(uris[i++ % uris.length]));
  return [
    {
      section: "epcis",
      name: "CBV 2.0 event hash (the reference's 43 example events, round robin)",
      value: hashRate,
      unit: "events/s",
      peer: { name: "sha256 of JSON.stringify, order-dependent", value: naive },
    },
    {
      section: "epcis",
      name: "checkDigitalLink (parse, GTIN check digit, CSET 82, canonical form)",
      value: dlRate,
      unit: "codes/s",
      peer: { name: "WHATWG new URL() only", value: urlRate },
    },
  ];
}
