// `npm run bench`: measures Proofmark side by side with its peers in one run and prints a table
// (also written to bench-results/latest.json). A benchmark, not a test: it reports, it does not fail.
// Each area has its own module in scripts/bench/ exporting `run(): Promise<BenchRow[]>`;
// `npm run bench -- evidence store` runs only those areas (BENCH_ONLY=evidence,store also works).
import * as fs from "node:fs";
import * as path from "node:path";
import type { BenchRow } from "./bench/types";

const AREAS = [
  "evidence",
  "verify",
  "store",
  "provenance",
  "portal",
  "epcis",
  "calendar",
  "chain",
  "capture",
  "fingerprint",
  "coop",
];

async function main(): Promise<void> {
  const only = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);
  const all: BenchRow[] = [];
  for (const area of AREAS) {
    if (only.length > 0 && !only.includes(area)) continue;
    const file = path.join(__dirname, "bench", `${area}.ts`);
    if (!fs.existsSync(file)) continue;
    process.stderr.write(`bench: ${area}…\n`);
    const mod = require(file) as { run(): Promise<BenchRow[]> };
    const rows = await mod.run();
    all.push(...rows);
    print(rows);
  }
  fs.mkdirSync(path.join(__dirname, "..", "bench-results"), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, "..", "bench-results", "latest.json"),
    `${JSON.stringify({ at: new Date().toISOString(), rows: all }, null, 2)}\n`,
  );
}

function print(rows: BenchRow[]): void {
  const table = rows.map((r) => [
    r.section,
    r.name,
    `${r.value.toLocaleString("en")} ${r.unit}`,
    r.peer ? `${r.peer.value.toLocaleString("en")} ${r.unit} (${r.peer.name})` : "",
    r.target ?? "",
    r.pass === undefined ? "" : r.pass ? "yes" : "NO",
    r.note ?? "",
  ]);
  const head = ["area", "measure", "Proofmark", "peer, same run", "target", "met", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table) console.log(line(row));
  console.log();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
