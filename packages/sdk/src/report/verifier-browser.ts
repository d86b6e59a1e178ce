/**
 * The standalone verifier's logic, written to run in a browser with no library and no server:
 * these functions are inlined verbatim (`Function.prototype.toString`) into the exported HTML
 * page, and the same code is tested in Node against the SDK (test/report/verifier.test.ts).
 *
 * Rules for this file: only `export function` declarations, self-contained (no imports, no
 * module-level values); they may call each other by name. Plain ES2022.
 */

/** keccak-256 (Ethereum's, not NIST SHA3-256) of `data`. 64-bit lanes as BigInt: small and clear; fast enough for a few hundred hashes. */
export function keccak256(data: Uint8Array): Uint8Array {
  const M = (1n << 64n) - 1n;
  const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  const RC: bigint[] = [];
  let R = 1;
  for (let round = 0; round < 24; round++) {
    let t = 0n;
    for (let j = 0; j < 7; j++) {
      R = ((R << 1) ^ ((R >> 7) * 0x71)) % 256;
      if (R & 2) t ^= 1n << ((1n << BigInt(j)) - 1n);
    }
    RC.push(t);
  }
  const rotl = (x: bigint, n: number) => (n === 0 ? x : ((x << BigInt(n)) | (x >> BigInt(64 - n))) & M);
  const rate = 136;
  const padded = new Uint8Array((Math.floor(data.length / rate) + 1) * rate);
  padded.set(data);
  padded[data.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s: bigint[] = new Array(25).fill(0n);
  const B: bigint[] = new Array(25).fill(0n);
  const C: bigint[] = new Array(5).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let b = 7; b >= 0; b--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + b]);
      s[i] ^= lane;
    }
    for (let round = 0; round < 24; round++) {
      for (let x = 0; x < 5; x++) C[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
      for (let x = 0; x < 5; x++) {
        const d = C[(x + 4) % 5] ^ rotl(C[(x + 1) % 5], 1);
        for (let y = 0; y < 25; y += 5) s[x + y] ^= d;
      }
      for (let x = 0; x < 5; x++) {
        for (let y = 0; y < 5; y++) B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x + 5 * y]);
      }
      for (let x = 0; x < 5; x++) {
        for (let y = 0; y < 25; y += 5) s[x + y] = B[x + y] ^ (~B[((x + 1) % 5) + y] & M & B[((x + 2) % 5) + y]);
      }
      s[0] ^= RC[round];
    }
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) {
    let lane = s[i];
    for (let b = 0; b < 8; b++) {
      out[8 * i + b] = Number(lane & 0xffn);
      lane >>= 8n;
    }
  }
  return out;
}

/** A streaming SHA-256 (FIPS 180-4): `sha256Init()`, `sha256Update(st, bytes)` any number of times, `sha256Final(st)`. */
export function sha256Init(): { h: Uint32Array; buf: Uint8Array; bufLen: number; total: number; w: Uint32Array; k: Uint32Array } {
  // FIPS 180-4 round constants.
  const k = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  return { h, buf: new Uint8Array(64), bufLen: 0, total: 0, w: new Uint32Array(64), k };
}

/** Feeds `data` into a SHA-256 state. */
export function sha256Update(st: { h: Uint32Array; buf: Uint8Array; bufLen: number; total: number; w: Uint32Array; k: Uint32Array }, data: Uint8Array): void {
  const { h, w, k, buf } = st;
  const block = (p: Uint8Array, o: number) => {
    for (let i = 0; i < 16; i++) w[i] = (p[o + 4 * i] << 24) | (p[o + 4 * i + 1] << 16) | (p[o + 4 * i + 2] << 8) | p[o + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let A = h[0], Bv = h[1], Cv = h[2], D = h[3], E = h[4], F = h[5], G = h[6], H = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((E >>> 6) | (E << 26)) ^ ((E >>> 11) | (E << 21)) ^ ((E >>> 25) | (E << 7));
      const t1 = (H + S1 + ((E & F) ^ (~E & G)) + k[i] + w[i]) | 0;
      const S0 = ((A >>> 2) | (A << 30)) ^ ((A >>> 13) | (A << 19)) ^ ((A >>> 22) | (A << 10));
      const t2 = (S0 + ((A & Bv) ^ (A & Cv) ^ (Bv & Cv))) | 0;
      H = G; G = F; F = E; E = (D + t1) | 0; D = Cv; Cv = Bv; Bv = A; A = (t1 + t2) | 0;
    }
    h[0] += A; h[1] += Bv; h[2] += Cv; h[3] += D; h[4] += E; h[5] += F; h[6] += G; h[7] += H;
  };
  let i = 0;
  st.total += data.length;
  if (st.bufLen > 0) {
    const take = Math.min(64 - st.bufLen, data.length);
    buf.set(data.subarray(0, take), st.bufLen);
    st.bufLen += take;
    i = take;
    if (st.bufLen < 64) return;
    block(buf, 0);
    st.bufLen = 0;
  }
  for (; i + 64 <= data.length; i += 64) block(data, i);
  if (i < data.length) {
    buf.set(data.subarray(i), 0);
    st.bufLen = data.length - i;
  }
}

/** Finishes a SHA-256 state: 64 lower-case hex digits. */
export function sha256Final(st: { h: Uint32Array; buf: Uint8Array; bufLen: number; total: number; w: Uint32Array; k: Uint32Array }): string {
  const bits = st.total * 8;
  const padLen = st.bufLen < 56 ? 56 - st.bufLen : 120 - st.bufLen;
  const pad = new Uint8Array(padLen + 8);
  pad[0] = 0x80;
  const hi = Math.floor(bits / 2 ** 32);
  const lo = bits >>> 0;
  pad.set([hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255], padLen);
  const total = st.total;
  sha256Update(st, pad);
  st.total = total;
  return Array.from(st.h, (x) => x.toString(16).padStart(8, "0")).join("");
}

/** Lower-case 0x-hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Bytes of a 0x-hex string. */
export function hexToBytes(hex: string): Uint8Array {
  const h = hex.replace(/^0x/, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** keccak-256 of a hex string's bytes, as hex. */
export function keccakHex(hex: string): string {
  return bytesToHex(keccak256(hexToBytes(hex)));
}

/** The evidence leaf: keccak256(keccak256(LEAF_DOMAIN ‖ sha256 ‖ salt ‖ keccak256(canonical JSON of meta))). */
export function evidenceLeaf(sha256: string, salt: string, meta: Record<string, string>): { metaJson: string; metaDigest: string; leaf: string } {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(meta).sort()) sorted[key] = meta[key];
  const metaJson = JSON.stringify(sorted);
  const metaDigest = bytesToHex(keccak256(new TextEncoder().encode(metaJson)));
  const domain = bytesToHex(keccak256(new TextEncoder().encode("proofmark.evidence.leaf.v1")));
  const inner = keccakHex(`0x${domain.slice(2)}${sha256}${salt.slice(2)}${metaDigest.slice(2)}`);
  return { metaJson, metaDigest, leaf: keccakHex(inner) };
}

/** Folds a sorted-pair Merkle path onto a leaf; every intermediate node. */
export function foldPath(leaf: string, path: string[]): string[] {
  const nodes: string[] = [];
  let node = leaf.toLowerCase();
  for (const s of path) {
    const sib = s.toLowerCase();
    node = keccakHex(node <= sib ? `${node}${sib.slice(2)}` : `${sib}${node.slice(2)}`);
    nodes.push(node);
  }
  return nodes;
}

/** Calldata of `anchorOf(bytes32)` and of `verify(bytes32,bytes32[],bytes32)`. */
export function registryCalldata(leaf: string, path: string[], root: string): { anchorOf: string; verify: string } {
  const sel = (sig: string) => bytesToHex(keccak256(new TextEncoder().encode(sig))).slice(2, 10);
  const word = (n: number) => n.toString(16).padStart(64, "0");
  const anchorOf = `0x${sel("anchorOf(bytes32)")}${root.slice(2)}`;
  const verify = `0x${sel("verify(bytes32,bytes32[],bytes32)")}${leaf.slice(2)}${word(96)}${root.slice(2)}${word(path.length)}${path.map((p) => p.slice(2)).join("")}`;
  return { anchorOf, verify };
}

/** Checks the shape of a receipt (proofmark-receipt v1). Returns an error message or "". */
export function receiptProblem(r: any): string {
  const isHex = (v: unknown, bytes: number) => typeof v === "string" && new RegExp(`^0x[0-9a-f]{${bytes * 2}}$`).test(v);
  if (!r || typeof r !== "object") return "the receipt is not a JSON object";
  if (r.format !== "proofmark-receipt") return `unknown receipt format ${JSON.stringify(r.format)}`;
  if (r.version !== 1) return `receipt version ${JSON.stringify(r.version)} is not supported (this page reads version 1)`;
  if (!r.subject || !/^[0-9a-f]{64}$/.test(r.subject.sha256) || !Number.isSafeInteger(r.subject.size)) return "subject.sha256 / subject.size are malformed";
  if (!r.commitment || !isHex(r.commitment.salt, 32) || !isHex(r.commitment.leaf, 32) || typeof r.commitment.meta !== "object" || r.commitment.meta === null) return "commitment is malformed";
  for (const v of Object.values(r.commitment.meta)) if (typeof v !== "string") return "commitment.meta values must be strings";
  if (!r.proof || !isHex(r.proof.root, 32) || !Array.isArray(r.proof.path) || !r.proof.path.every((p: unknown) => isHex(p, 32))) return "proof is malformed";
  if (!Array.isArray(r.anchors) || r.anchors.length === 0) return "the receipt has no anchors";
  for (const a of r.anchors) {
    if (!Number.isSafeInteger(a.chainId) || !isHex(a.registry, 20) || !isHex(a.txHash, 32) || !Number.isSafeInteger(a.blockNumber) || !isHex(a.blockHash, 32) || !Number.isSafeInteger(a.timestamp) || !isHex(a.submitter, 20)) return "an anchor is malformed";
  }
  return "";
}

/** One raw JSON-RPC call (the only network access of the verifier). */
export async function jsonRpc(url: string, method: string, params: unknown[]): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * The whole verification: the file (a Blob/File) hashed in 4 MiB slices, the receipt, and the
 * registry read over `rpcUrl`. Never throws; returns a status and each step.
 */
export async function verifyInBrowser(input: { file: Blob; receiptText: string; rpcUrl: string; onProgress?: (done: number, total: number) => void }): Promise<{
  status: "verified" | "mismatch" | "not-anchored" | "not-final" | "unverifiable";
  message: string;
  steps: Array<{ title: string; ok: boolean; detail: string }>;
}> {
  const steps: Array<{ title: string; ok: boolean; detail: string }> = [];
  const done = (status: "verified" | "mismatch" | "not-anchored" | "not-final" | "unverifiable", message: string) => ({ status, message, steps });
  let r: any;
  try {
    r = JSON.parse(input.receiptText);
  } catch (e) {
    steps.push({ title: "receipt / 凭证", ok: false, detail: `not JSON: ${(e as Error).message}` });
    return done("mismatch", "The receipt is not valid JSON. / 凭证不是有效的 JSON。");
  }
  const problem = receiptProblem(r);
  steps.push({ title: "receipt format / 凭证格式", ok: !problem, detail: problem || "proofmark-receipt v1" });
  if (problem) return done("mismatch", `The receipt is malformed: ${problem}. / 凭证格式错误。`);

  // 1. SHA-256 of the file, streamed.
  const st = sha256Init();
  const CHUNK = 4 << 20;
  for (let off = 0; off < input.file.size; off += CHUNK) {
    sha256Update(st, new Uint8Array(await input.file.slice(off, off + CHUNK).arrayBuffer()));
    input.onProgress?.(Math.min(off + CHUNK, input.file.size), input.file.size);
  }
  const sha256 = sha256Final(st);
  const digestOk = sha256 === r.subject.sha256 && input.file.size === r.subject.size;
  steps.push({ title: "1. SHA-256 of the file / 文件的 SHA-256", ok: digestOk, detail: `computed ${sha256} (${input.file.size} B); receipt ${r.subject.sha256} (${r.subject.size} B)` });
  if (!digestOk) return done("mismatch", "DOES NOT MATCH: this file is not the file that was stamped (its SHA-256 differs from the receipt's). / 不一致：该文件不是当初存证的文件。");

  // 2. Leaf and 3. Merkle path.
  const leaf = evidenceLeaf(sha256, r.commitment.salt, r.commitment.meta);
  const leafOk = leaf.leaf === r.commitment.leaf;
  steps.push({ title: "2. leaf from digest, salt, metadata / 叶子", ok: leafOk, detail: `meta ${leaf.metaJson} → metaDigest ${leaf.metaDigest}; leaf ${leaf.leaf}; receipt ${r.commitment.leaf}` });
  const nodes = foldPath(leaf.leaf, r.proof.path);
  const root = nodes.length ? nodes[nodes.length - 1] : leaf.leaf;
  nodes.forEach((n, i) => steps.push({ title: `3.${i + 1}. Merkle step / 默克尔路径`, ok: true, detail: `sibling ${r.proof.path[i]} → ${n}` }));
  const rootOk = leafOk && root === r.proof.root;
  steps.push({ title: "4. root / 根哈希", ok: rootOk, detail: `computed ${root}; receipt ${r.proof.root}` });
  if (!rootOk) return done("mismatch", "DOES NOT MATCH: the receipt was altered: its leaf or Merkle path does not lead to its root. / 不一致：凭证被篡改。");

  // 5. The chain, over the one JSON-RPC URL given.
  const url = input.rpcUrl.trim();
  if (!/^https?:\/\/\S+$/.test(url)) return done("unverifiable", "NOT VERIFIED: enter the JSON-RPC URL of the receipt's chain. / 未能核验：请输入该链的 JSON-RPC 地址。");
  let chainId: number;
  try {
    chainId = Number(BigInt(await jsonRpc(url, "eth_chainId", [])));
  } catch (e) {
    steps.push({ title: "5. eth_chainId", ok: false, detail: `${url}: ${(e as Error).message}` });
    return done("unverifiable", `NOT VERIFIED: the RPC endpoint did not answer (${(e as Error).message}). / 未能核验：RPC 节点无应答。`);
  }
  const anchors = r.anchors.filter((a: any) => a.chainId === chainId);
  steps.push({ title: "5. eth_chainId", ok: anchors.length > 0, detail: `${url} serves chain ${chainId}; the receipt names chain(s) ${r.anchors.map((a: any) => a.chainId).join(", ")}` });
  if (anchors.length === 0) return done("unverifiable", `NOT VERIFIED: the receipt was anchored on chain ${r.anchors.map((a: any) => a.chainId).join(", ")}, but this endpoint serves chain ${chainId}. / 未能核验：RPC 节点属于另一条链。`);
  const calls = registryCalldata(leaf.leaf, r.proof.path, r.proof.root);
  let notFinal = "";
  for (const a of anchors) {
    try {
      const answer: string = await jsonRpc(url, "eth_call", [{ to: a.registry, data: calls.anchorOf }, "latest"]);
      if (!/^0x[0-9a-f]{192}$/i.test(answer)) {
        steps.push({ title: "6. anchorOf(root)", ok: false, detail: `registry ${a.registry} answered ${answer.slice(0, 80)}: no EvidenceRegistry there` });
        return done("not-anchored", `NOT ANCHORED: there is no registry contract at ${a.registry} on chain ${chainId}. / 未锚定：该地址上没有存证合约。`);
      }
      const submitter = `0x${answer.slice(2 + 24, 66).toLowerCase()}`;
      const anchoredAt = Number(BigInt(`0x${answer.slice(66, 130)}`));
      const blockNumber = Number(BigInt(`0x${answer.slice(130, 194)}`));
      steps.push({ title: "6. anchorOf(root) — eth_call", ok: anchoredAt !== 0, detail: `data ${calls.anchorOf} → submitter ${submitter}, time ${anchoredAt}, block ${blockNumber}` });
      if (anchoredAt === 0) return done("not-anchored", `NOT ANCHORED: root ${r.proof.root} is not recorded in registry ${a.registry} on chain ${chainId}. / 未锚定：根哈希未记录在链上。`);
      const block = await jsonRpc(url, "eth_getBlockByNumber", [`0x${a.blockNumber.toString(16)}`, false]);
      const same = submitter === a.submitter.toLowerCase() && anchoredAt === a.timestamp && blockNumber === a.blockNumber && block && block.hash === a.blockHash && Number(BigInt(block.timestamp)) === a.timestamp;
      steps.push({ title: "7. block / 区块 — eth_getBlockByNumber", ok: Boolean(same), detail: `block ${a.blockNumber}: hash ${block?.hash}, timestamp ${block ? Number(BigInt(block.timestamp)) : "?"}; receipt: hash ${a.blockHash}, time ${a.timestamp}, submitter ${a.submitter}` });
      if (!same) return done("mismatch", "DOES NOT MATCH: the chain's record differs from the receipt's anchor (the receipt was altered). / 不一致：链上记录与凭证不符。");
      const verified = Number(BigInt(await jsonRpc(url, "eth_call", [{ to: a.registry, data: calls.verify }, "latest"])));
      steps.push({ title: "8. verify(leaf, path, root) — eth_call", ok: verified === a.timestamp, detail: `→ ${verified}` });
      if (verified !== a.timestamp) return done("mismatch", "DOES NOT MATCH: the registry's own proof check rejects the receipt. / 不一致：合约拒绝该证明。");
      const latest = Number(BigInt(await jsonRpc(url, "eth_blockNumber", [])));
      let finalized: number | undefined;
      try {
        const f = await jsonRpc(url, "eth_getBlockByNumber", ["finalized", false]);
        if (f) finalized = Number(BigInt(f.number));
      } catch {
        finalized = undefined;
      }
      const confirmations = latest - a.blockNumber + 1;
      const final = finalized === undefined ? "unknown / 未知" : a.blockNumber <= finalized ? "final / 已最终确定" : "NOT final / 尚未最终确定";
      steps.push({ title: "9. confirmations / 确认数", ok: finalized === undefined || a.blockNumber <= finalized, detail: `${confirmations} confirmation(s), latest block ${latest}, finalized ${finalized ?? "?"}: ${final}` });
      if (finalized !== undefined && a.blockNumber > finalized) notFinal = `NOT YET FINAL: the anchor is in block ${a.blockNumber}, not final yet (finalized: ${finalized}); verify again later. / 尚未最终确定，请稍后重新核验。`;
    } catch (e) {
      steps.push({ title: "chain / 链上查询", ok: false, detail: (e as Error).message });
      return done("unverifiable", `NOT VERIFIED: the chain query failed (${(e as Error).message}). / 未能核验：链上查询失败。`);
    }
  }
  if (notFinal) return done("not-final", notFinal);
  const a = anchors[0];
  const utc = new Date(a.timestamp * 1000).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
  const cst = new Date((a.timestamp + 8 * 3600) * 1000).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
  return done("verified", `VERIFIED: the file matches the receipt and existed no later than ${utc} (block ${a.blockNumber} on chain ${chainId}). / 核验通过：该文件不晚于 ${cst}（北京时间）已经存在。`);
}

/** Wires the page: inputs, button, result list. */
export function verifierUi(): void {
  const $ = (id: string) => document.getElementById(id) as any;
  const text = (tag: string, content: string, cls?: string) => {
    const el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  };
  try { $("rpc").value = localStorage.getItem("proofmark.rpc") ?? ""; } catch { /* storage unavailable */ }
  $("verify").addEventListener("click", async () => {
    const file: File | undefined = $("file").files[0];
    const receiptFile: File | undefined = $("receipt").files[0];
    const verdict = $("verdict");
    const list = $("steps");
    list.replaceChildren();
    verdict.dataset.status = "running";
    verdict.className = "verdict";
    if (!file || (!receiptFile && !$("receiptText").value.trim())) {
      verdict.textContent = "Choose the file and its receipt. / 请选择文件及其凭证。";
      verdict.dataset.status = "idle";
      return;
    }
    verdict.textContent = "…";
    try { localStorage.setItem("proofmark.rpc", $("rpc").value.trim()); } catch { /* private mode */ }
    const receiptText = receiptFile ? await receiptFile.text() : $("receiptText").value;
    const result = await verifyInBrowser({
      file, receiptText, rpcUrl: $("rpc").value,
      onProgress: (d, t) => { $("progress").textContent = `SHA-256: ${Math.floor((100 * d) / Math.max(t, 1))} %`; },
    });
    for (const s of result.steps) {
      const li = text("li", "", s.ok ? "ok" : "bad");
      li.append(text("b", `${s.ok ? "✔" : "✘"} ${s.title}`), text("div", s.detail, "mono"));
      list.append(li);
    }
    verdict.textContent = result.message;
    verdict.dataset.status = result.status;
    verdict.className = `verdict ${result.status === "verified" ? "ok" : "bad"}`;
  });
}
