import type { KuboRPCClient } from "kubo-rpc-client";
import { ProofmarkError, isProofmarkError } from "../core/errors";
import { lazyModule } from "../util/lazy";
import { CID, KUBO_CHUNK_SIZE, parseCid, verifyBlock } from "./blocks";
import type { AddOptions, AddResult, ContentSource, ContentStore, GcResult, StoreEntry } from "./types";

// kubo-rpc-client takes ~0.7 s to load: loaded only when a Kubo store is used, not with the SDK.
const kubo = lazyModule<typeof import("kubo-rpc-client")>("kubo-rpc-client");
const unixfsExporter = lazyModule<typeof import("ipfs-unixfs-exporter")>("ipfs-unixfs-exporter");

/**
 * A content store backed by a real IPFS node (Kubo) through its RPC API (`--ipfs-api URL`,
 * usually http://127.0.0.1:5001). Adds with the same settings as the embedded store, pins,
 * and reads trustlessly: blocks are fetched one by one and checked against their CIDs here,
 * so a faulty or hostile node cannot hand back wrong bytes.
 *
 * @example
 * const kubo = new KuboStore("http://127.0.0.1:5001");
 * await kubo.pin(cid);
 */
export class KuboStore implements ContentStore {
  readonly url: string;
  readonly client: KuboRPCClient;
  private readonly view: { get: (cid: CID) => AsyncGenerator<Uint8Array> };

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    try {
      this.url = new URL(url).toString();
    } catch {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `the IPFS API must be the URL of a Kubo RPC API such as http://127.0.0.1:5001, not "${url}"`,
        { url },
      );
    }
    this.client = kubo.create({ url: this.url, timeout: options.timeoutMs ?? 60_000 });
    this.view = {
      get: (cid: CID) => {
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- a generator function has no lexical `this`
        const self = this;
        return (async function* () {
          yield verifyBlock(
            cid,
            await self.call(`block/get ${cid}`, () => self.client.block.get(cid as never)),
            `the IPFS node at ${self.url}`,
          );
        })();
      },
    };
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isProofmarkError(e)) throw e;
      const msg = (e as Error).message ?? String(e);
      if (
        /ECONNREFUSED|fetch failed|ENOTFOUND|EHOSTUNREACH|socket/i.test(
          msg + String((e as { cause?: unknown }).cause ?? ""),
        )
      ) {
        throw new ProofmarkError(
          "STORE_FAILED",
          `cannot reach the IPFS node at ${this.url} (${msg}); start Kubo (ipfs daemon) or check the IPFS API URL`,
          { url: this.url },
          { cause: e },
        );
      }
      throw new ProofmarkError(
        "STORE_FAILED",
        `the IPFS node at ${this.url} failed ${what}: ${msg}`,
        { url: this.url },
        { cause: e },
      );
    }
  }

  /** Node identity (a cheap reachability check). */
  async id(): Promise<{ id: string; agentVersion?: string }> {
    const r = await this.call("id", () => this.client.id());
    return { id: r.id.toString(), agentVersion: r.agentVersion };
  }

  async add(content: ContentSource, options: AddOptions = {}): Promise<AddResult> {
    let size = 0;
    const counted =
      content instanceof Uint8Array
        ? content
        : (async function* () {
            for await (const c of content as AsyncIterable<Uint8Array>) {
              size += c.length;
              options.onBytes?.(size);
              yield c;
            }
          })();
    if (content instanceof Uint8Array) size = content.length;
    const r = await this.call("add", () =>
      this.client.add(counted, {
        cidVersion: 1,
        rawLeaves: true,
        chunker: `size-${KUBO_CHUNK_SIZE}`,
        hashAlg: "sha2-256",
        trickle: false,
        pin: true,
      }),
    );
    return { cid: r.cid.toString(), size };
  }

  async addAll(files: Array<{ content: ContentSource } & AddOptions>): Promise<AddResult[]> {
    const out: AddResult[] = [];
    for (const f of files) out.push(await this.add(f.content, f));
    return out;
  }

  /** Pins `cid` (recursively) on the node, fetching it from the network if needed. */
  async pin(cidText: string): Promise<string> {
    const cid = parseCid(cidText);
    const r = await this.call("pin/add", () => this.client.pin.add(cid as never, { recursive: true }));
    return r.toString();
  }

  /** Bytes as the node serves them (`ipfs cat`): trusts the node. Prefer {@link get}. */
  async *cat(cidText: string): AsyncGenerator<Uint8Array> {
    const cid = parseCid(cidText);
    try {
      yield* this.client.cat(cid as never);
    } catch (e) {
      await this.call("cat", () => Promise.reject(e));
    }
  }

  /** Bytes of a file, every block verified against its CID on this side. */
  async *get(cidText: string): AsyncGenerator<Uint8Array> {
    const cid = parseCid(cidText);
    const entry = await this.call("get", () => unixfsExporter.exporter(cid, this.view));
    if (entry.type === "directory" || entry.type === "object") {
      throw new ProofmarkError("INVALID_ARGUMENT", `${cid} is a ${entry.type}, not a file`, { cid: cid.toString() });
    }
    yield* entry.content() as AsyncGenerator<Uint8Array>;
  }

  async has(cidText: string): Promise<boolean> {
    const cid = parseCid(cidText);
    try {
      const stat = await this.client.files.stat(`/ipfs/${cid}`, { withLocal: true, timeout: 10_000 } as never);
      return (stat as unknown as { local?: boolean }).local !== false;
    } catch {
      return false;
    }
  }

  async list(): Promise<StoreEntry[]> {
    const out: StoreEntry[] = [];
    await this.call("pin/ls", async () => {
      for await (const p of this.client.pin.ls({ type: "recursive" }))
        out.push({ cid: p.cid.toString(), size: 0, addedAt: "" });
    });
    return out;
  }

  async remove(cidText: string): Promise<boolean> {
    const cid = parseCid(cidText);
    try {
      await this.client.pin.rm(cid as never);
      return true;
    } catch {
      return false;
    }
  }

  async gc(): Promise<GcResult> {
    let removedBlocks = 0;
    await this.call("repo/gc", async () => {
      for await (const r of this.client.repo.gc()) if (!r.err) removedBlocks++;
    });
    return { removedBlocks, freedBytes: 0, keptBlocks: 0 };
  }

  async *exportCar(cidText: string): AsyncGenerator<Uint8Array> {
    const cid = parseCid(cidText);
    yield* this.client.dag.export(cid as never);
  }

  async importCar(car: AsyncIterable<Uint8Array>): Promise<string[]> {
    const roots: string[] = [];
    await this.call("dag/import", async () => {
      for await (const r of this.client.dag.import(car, { pinRoots: true })) roots.push(r.root.cid.toString());
    });
    return roots;
  }

  async close(): Promise<void> {}
}
