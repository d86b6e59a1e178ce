import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  computeLeaf,
  hashFile,
  LocalNode,
  openChain,
  parseReceipt,
  randomSalt,
  rpcCall,
  stampFiles,
  type ChainContext,
  type Hex,
  type Receipt,
} from "../../packages/sdk/src";
import { ANCHOR_OF_SELECTOR } from "../../packages/sdk/src/report";

/** True when a command-line tool is on PATH. */
export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** The text of a PDF, by poppler's pdftotext (reading order, not layout). */
export function pdfText(pdf: string | Buffer): string {
  let file = pdf as string;
  if (Buffer.isBuffer(pdf)) {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-pdf-")), "r.pdf");
    fs.writeFileSync(file, pdf);
  }
  const r = spawnSync("pdftotext", ["-enc", "UTF-8", file, "-"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pdftotext failed: ${r.stderr}`);
  return r.stdout;
}

/** Text without any white space (Chinese lines wrap anywhere in a PDF). */
export function compact(text: string): string {
  return text.replace(/\s+/g, "");
}

/** A local chain with stamped files, in a fresh temporary data folder. */
export interface ReportFixture {
  dir: string;
  dataDir: string;
  chain: ChainContext;
  rpcUrl: string;
  draft: string;
  receipt: Receipt;
  receiptPath: string;
  other: Receipt;
  stop(): Promise<void>;
}

export async function stampedChain(prefix: string): Promise<ReportFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `proofmark-${prefix}-`));
  const dataDir = path.join(dir, ".proofmark");
  const chain = await openChain({ dataDir });
  const draft = path.join(dir, "contract-draft.txt");
  fs.writeFileSync(
    draft,
    "设计授权合同（草稿）\n甲方：某某设计工作室\n乙方：某某公司\nContract draft v1 — licence of the logo design.\n",
  );
  const other = path.join(dir, "other.txt");
  fs.writeFileSync(other, "another file, anchored under another root\n");
  const a = await stampFiles({ chain, inputs: [draft], meta: { title: "设计授权合同草稿", author: "张三" } });
  const b = await stampFiles({ chain, inputs: [other], meta: {} });
  return {
    dir,
    dataDir,
    chain,
    rpcUrl: chain.rpcUrls[0],
    draft,
    receiptPath: a.files[0].receiptPath,
    receipt: parseReceipt(fs.readFileSync(a.files[0].receiptPath, "utf8")),
    other: parseReceipt(fs.readFileSync(b.files[0].receiptPath, "utf8")),
    async stop() {
      chain.close();
      await new LocalNode(dataDir).stop();
    },
  };
}

/** Mines `n` empty blocks on the local chain (Anvil), so that earlier blocks become final. */
export async function mine(rpcUrl: string, n: number): Promise<void> {
  await rpcCall(rpcUrl, "anvil_mine", [`0x${n.toString(16)}`]);
}

/** A receipt for `file` that was never anchored: a fresh salt, so a fresh leaf and root, with the real anchor fields. */
export async function unanchoredReceipt(file: string, like: Receipt): Promise<Receipt> {
  const { sha256, size } = await hashFile(file);
  const salt = randomSalt();
  const leaf = computeLeaf({ sha256, salt, meta: like.commitment.meta });
  return {
    ...like,
    subject: { ...like.subject, sha256, size },
    commitment: { salt, meta: like.commitment.meta, leaf },
    proof: { root: leaf, path: [], leafCount: 1 },
  };
}

/**
 * A JSON-RPC proxy on 127.0.0.1 in front of `upstream` that lies: every `anchorOf(root)` call is
 * answered with the anchor of `otherRoot` instead. Everything else is passed through.
 */
export async function lyingProxy(
  upstream: string,
  otherRoot: Hex,
): Promise<{ url: string; close(): Promise<void>; rewrites: () => number }> {
  let rewrites = 0;
  const rewrite = (msg: { method?: string; params?: Array<{ data?: string }> }) => {
    const call = msg.method === "eth_call" ? msg.params?.[0] : undefined;
    if (call?.data?.startsWith(ANCHOR_OF_SELECTOR)) {
      call.data = `${ANCHOR_OF_SELECTOR}${otherRoot.slice(2)}`;
      rewrites++;
    }
    return msg;
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const parsed = JSON.parse(body);
        const sent = Array.isArray(parsed) ? parsed.map(rewrite) : rewrite(parsed);
        const answer = await fetch(upstream, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(sent),
        });
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(await answer.text());
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rewrites: () => rewrites,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
