import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Command } from "commander";
import {
  EmbeddedStore,
  KuboStore,
  ProofmarkError,
  collectFiles,
  fetchFromStore,
  keepInStore,
  parseCid,
  parseReceipt,
  serveStore,
  type AddResult,
  type KeptFile,
} from "@proofmark/sdk";
import { commandEnv, port, type CommandEnv } from "../options";
import { listenError } from "./serve";
import { formatBytes, rows } from "../output";

const SMALL_FILE = 4 << 20;

/** The embedded store of the data folder (`<data-dir>/store`). */
function openStore(env: CommandEnv): EmbeddedStore {
  return new EmbeddedStore(env.dataDir);
}

/** Runs `fn` with the data folder's store; however it ends, the progress line is cleared and the store closed. */
async function withStore<T>(env: CommandEnv, fn: (store: EmbeddedStore) => Promise<T>): Promise<T> {
  const store = openStore(env);
  try {
    return await fn(store);
  } finally {
    env.out.progressDone();
    await store.close();
  }
}

function ipfsApi(url: string | undefined): string {
  const api = url ?? process.env.PROOFMARK_IPFS_API;
  if (!api)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      "give the Kubo RPC API with --ipfs-api URL (e.g. http://127.0.0.1:5001) or PROOFMARK_IPFS_API",
    );
  return api;
}

/** Writes a stream to `file` atomically: a temporary file renamed into place only when complete. */
async function writeAtomically(file: string, source: AsyncIterable<Uint8Array>): Promise<number> {
  const tmp = `${file}.${process.pid}.part`;
  let bytes = 0;
  const counted = (async function* () {
    for await (const c of source) {
      bytes += c.length;
      yield c;
    }
  })();
  try {
    await pipeline(Readable.from(counted), fs.createWriteStream(tmp, { flags: "wx" }));
    const fd = fs.openSync(tmp, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return bytes;
}

/**
 * Writes a stream to stdout with backpressure. Unlike `pipeline(…, process.stdout)`, an error of the
 * source (a corrupt block) is thrown to the caller as the coded error it is, and stdout stays open
 * for the message; a reader that goes away early (| head) just ends the copy.
 */
async function writeToStdout(source: AsyncIterable<Uint8Array>): Promise<void> {
  const out = process.stdout;
  for await (const chunk of source) {
    if (out.destroyed || out.writableEnded) return;
    if (!out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off("drain", done);
          out.off("close", done);
          out.off("error", done);
          resolve();
        };
        out.on("drain", done);
        out.on("close", done);
        out.on("error", done);
      });
    }
  }
}

/** `proofmark store …`: the content store (embedded IPFS-compatible store, Kubo pinning). */
export function register(program: Command): void {
  const store = program
    .command("store")
    .description(
      "content store: keep files under their IPFS CIDs in <data-dir>/store, export/import CARs, pin to Kubo, serve /ipfs/<cid>",
    );

  store
    .command("add")
    .description("add files (one atomic batch); prints the CID `ipfs add --cid-version 1` gives for each")
    .argument("<paths...>", "files or folders")
    .option("--encrypt", "store AES-256-GCM ciphertext; prints the key once (it is not kept anywhere else)")
    .action(async (paths: string[], o: { encrypt?: boolean }, cmd: Command) => {
      const env = commandEnv(cmd);
      const files = collectFiles(paths);
      await withStore(env, async (s) => {
        let results: Array<{ file: string } & (AddResult | KeptFile)>;
        if (o.encrypt) {
          results = [];
          for (const [i, file] of files.entries()) {
            env.out.progress(`encrypting ${i + 1}/${files.length} ${path.basename(file)}`);
            results.push({ file, ...(await keepInStore(s, file, { encrypt: true })) });
          }
        } else {
          env.out.progress(`adding ${files.length} file(s)`);
          // Small files are read in one go (fewer async hops: thousands of files per second);
          // large ones are streamed in constant memory.
          const content = (file: string) =>
            fs.statSync(file).size <= SMALL_FILE
              ? fs.readFileSync(file)
              : fs.createReadStream(file, { highWaterMark: 1 << 20 });
          const added = await s.addAll(files.map((file) => ({ content: content(file), name: path.basename(file) })));
          results = added.map((r, i) => ({ file: files[i], ...r }));
        }
        env.out.progressDone();
        env.out.result({ store: s.dir, added: results });
        for (const r of results) {
          const size = "size" in r ? r.size : r.storedSize;
          env.out.line(`added ${r.cid}  ${path.relative(process.cwd(), r.file) || r.file}  (${formatBytes(size)})`);
          if ("encryption" in r && r.encryption)
            env.out.line(
              `      key ${r.encryption.key}  (${r.encryption.alg}; keep it secret: without it the file cannot be read)`,
            );
        }
      });
    });

  store
    .command("get")
    .description(
      "write a file's verified bytes to -o FILE (or stdout); with --receipt, decrypt and check it against the receipt",
    )
    .argument("[cid]", "CID to read (default: the receipt's subject.cid)")
    .option("-o, --output <file>", "write to this file (atomically) instead of stdout")
    .option("--receipt <file>", "a .proof.json receipt: decrypts with its key and checks SHA-256 and size")
    .action(async (cidArg: string | undefined, o: { output?: string; receipt?: string }, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        let source: AsyncIterable<Uint8Array>;
        let cid: string;
        if (o.receipt) {
          if (!fs.existsSync(o.receipt))
            throw new ProofmarkError("RECEIPT_NOT_FOUND", `no receipt at ${o.receipt}`, { path: o.receipt });
          const receipt = parseReceipt(fs.readFileSync(o.receipt, "utf8"));
          if (
            cidArg &&
            receipt.subject.cid &&
            parseCid(cidArg).toV1().toString() !== parseCid(receipt.subject.cid).toV1().toString()
          ) {
            throw new ProofmarkError("INVALID_ARGUMENT", `the receipt names ${receipt.subject.cid}, not ${cidArg}`);
          }
          const subject = { ...receipt.subject, cid: receipt.subject.cid ?? cidArg };
          cid = subject.cid ?? "";
          source = fetchFromStore(s, { subject, encryption: receipt.encryption });
        } else {
          if (!cidArg) throw new ProofmarkError("INVALID_ARGUMENT", "name the CID to get (or give --receipt)");
          cid = parseCid(cidArg).toString();
          source = s.get(cid);
        }
        if (o.output) {
          if (fs.existsSync(o.output))
            throw new ProofmarkError("INVALID_ARGUMENT", `${o.output} exists; choose another -o or remove it first`, {
              path: o.output,
            });
          const bytes = await writeAtomically(o.output, source);
          env.out.result({
            cid,
            output: path.resolve(o.output),
            bytes,
            verified: true,
            checkedAgainstReceipt: Boolean(o.receipt),
          });
          env.out.line(
            `wrote ${o.output} (${formatBytes(bytes)}) from ${cid}${o.receipt ? ", matches the receipt" : ", every block verified"}`,
          );
        } else {
          if (env.out.json)
            throw new ProofmarkError(
              "INVALID_ARGUMENT",
              "with --json, give -o FILE (the bytes cannot go to stdout beside the JSON)",
            );
          await writeToStdout(source);
        }
      });
    });

  store
    .command("export")
    .description("export the DAG under a CID as a CARv1 file (importable by `ipfs dag import`)")
    .argument("<cid>", "root CID")
    .requiredOption("--car <file>", "CAR file to write")
    .action(async (cid: string, o: { car: string }, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        const root = parseCid(cid).toString();
        const bytes = await writeAtomically(o.car, s.exportCar(root));
        env.out.result({ cid: root, car: path.resolve(o.car), bytes });
        env.out.line(`exported ${root} to ${o.car} (${formatBytes(bytes)})`);
      });
    });

  store
    .command("import")
    .description("import a CAR file: every block verified, its roots kept")
    .argument("<file>", "CAR file")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      if (!fs.existsSync(file)) throw new ProofmarkError("FILE_NOT_FOUND", `${file} does not exist`, { path: file });
      await withStore(env, async (s) => {
        const roots = await s.importCar(fs.createReadStream(file, { highWaterMark: 1 << 20 }));
        env.out.result({ car: path.resolve(file), roots });
        for (const r of roots) env.out.line(`imported ${r}`);
      });
    });

  store
    .command("ls")
    .description("list the content kept in the store")
    .action(async (_o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        const entries = fs.existsSync(s.dir) ? await s.list() : [];
        env.out.result({ store: s.dir, entries });
        if (entries.length === 0)
          env.out.line(`the store at ${s.dir} is empty (add files with \`proofmark store add FILE\`)`);
        for (const e of entries) {
          env.out.line(
            `${e.cid}  ${formatBytes(e.size).padStart(10)}  ${e.addedAt.slice(0, 19).replace("T", " ")}  ${e.name ?? ""}${e.encrypted ? "  (encrypted)" : ""}`,
          );
        }
      });
    });

  store
    .command("rm")
    .description("stop keeping a CID (its blocks go at the next gc unless other content uses them)")
    .argument("<cid>", "CID to remove")
    .action(async (cid: string, _o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        const removed = await s.remove(cid);
        env.out.result({ cid, removed });
        env.out.line(
          removed
            ? `removed ${cid} (run \`proofmark store gc\` to free its space)`
            : `${cid} was not kept in the store`,
        );
      });
    });

  store
    .command("gc")
    .description("delete blocks that no kept content uses, and compact the pack files")
    .action(async (_o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        const r = await s.gc();
        env.out.result(r);
        env.out.line(
          `gc: removed ${r.removedBlocks} block(s), freed ${formatBytes(r.freedBytes)}, kept ${r.keptBlocks}`,
        );
      });
    });

  store
    .command("repair")
    .description(
      "rebuild the store's index from its pack files (after STORE_CORRUPT); keeps the old index, removes nothing",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      await withStore(env, async (s) => {
        const r = await s.repair();
        env.out.result(r);
        if (r.damage) env.out.line(`the old index was damaged at offset ${r.damage.offset} (${r.damage.reason})`);
        env.out.line(
          `rebuilt the index from ${r.packs} pack(s): ${r.blocks} block(s), ${r.roots} kept CID(s)${r.olderPacks > 0 ? `; ${r.olderPacks} older pack(s) recovered from the old index only` : ""}`,
        );
        if (r.keptAs) env.out.line(`the old index is kept as ${r.keptAs}`);
        for (const p of r.problems) env.out.line(`could not read ${p.file} at offset ${p.offset}: ${p.reason}`);
      });
    });

  store
    .command("pin")
    .description(
      "pin a CID on a Kubo node: sends the blocks from this store when it has them, else asks the node to fetch them",
    )
    .argument("<cid>", "CID to pin")
    .option("--ipfs-api <url>", "Kubo RPC API (default: $PROOFMARK_IPFS_API), e.g. http://127.0.0.1:5001")
    .action(async (cid: string, o: { ipfsApi?: string }, cmd: Command) => {
      const env = commandEnv(cmd);
      const kubo = new KuboStore(ipfsApi(o.ipfsApi));
      await withStore(env, async (s) => {
        const root = parseCid(cid).toV1().toString();
        let via: "car-import" | "pin-add" = "pin-add";
        if (fs.existsSync(s.dir) && (await s.has(root))) {
          env.out.progress(`sending ${root} to ${kubo.url}`);
          await kubo.importCar(s.exportCar(root));
          via = "car-import";
        }
        env.out.progress(`pinning ${root} on ${kubo.url}`);
        await kubo.pin(root);
        env.out.progressDone();
        env.out.result({ cid: root, ipfsApi: kubo.url, pinned: true, via });
        env.out.line(`pinned ${root} on ${kubo.url}${via === "car-import" ? " (blocks sent from this store)" : ""}`);
      });
    });

  store
    .command("serve")
    .description("serve GET /ipfs/<cid> (add ?format=car for a CAR) from the store until interrupted")
    .option("--port <n>", "port", port, 8080)
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .action(async (o: { port: number; host: string }, cmd: Command) => {
      const env = commandEnv(cmd);
      const s = openStore(env);
      let served: Awaited<ReturnType<typeof serveStore>>;
      try {
        served = await serveStore(s, { port: o.port, host: o.host });
      } catch (e) {
        await s.close();
        throw listenError(e, o.host, o.port) ?? e;
      }
      const { server, url } = served;
      env.out.result({ url, store: s.dir });
      env.out.line(`serving ${s.dir} at ${url}/ipfs/<cid> (Ctrl-C to stop)`);
      for (const r of rows([["example", `${url}/ipfs/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e`]]))
        env.out.line(r);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await s.close();
    });
}
