import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { embedWatermark, readImageWatermark, watermarkFormat, ProofmarkError } from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv } from "../options";
import { readReceiptFile } from "./match";

/** One embedded mark, as recorded in `<data-dir>/watermarks.jsonl` (so `watermark read` can name the receipt). */
interface WatermarkRecord {
  id: string;
  leaf: string;
  receipt: string;
  image: string;
  out: string;
  embeddedAt: string;
}

function recordsFile(dataDir: string): string {
  return path.join(dataDir, "watermarks.jsonl");
}

function readRecords(dataDir: string): WatermarkRecord[] {
  const file = recordsFile(dataDir);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as WatermarkRecord);
}

/** `proofmark watermark embed|read`: an invisible receipt id in a photo. */
export function register(program: Command): void {
  const wm = program
    .command("watermark")
    .description("hide a short receipt id in a photo (invisible, DCT domain), or read it back from a copy");

  wm.command("embed")
    .description("write a copy of <image> carrying the first 64 bits of its receipt's leaf (with a CRC-16)")
    .argument("<image>", "the photo (JPEG, PNG, WebP…)")
    .requiredOption("--receipt <file>", "the receipt whose id the photo carries")
    .option(
      "--out <file>",
      "where to write the marked copy (default: <name>.marked.<ext>; .png/.webp keep that format, else JPEG)",
    )
    .action(async (image: string, o: { receipt: string; out?: string }, cmd: Command) => {
      const env = commandEnv(cmd);
      const receipt = readReceiptFile(o.receipt);
      const leaf = receipt.commitment.leaf;
      const id = Buffer.from(leaf.slice(2, 18), "hex");
      const ext = path.extname(image);
      const out = o.out ?? path.join(path.dirname(image), `${path.basename(image, ext)}.marked${ext || ".jpg"}`);
      if (path.resolve(out) === path.resolve(image))
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          `--out ${out}: the marked copy must not replace the original (its receipt covers its bytes)`,
        );
      const marked = await embedWatermark(image, id, watermarkFormat(out));
      writeFileAtomic(out, marked.bytes);
      const record: WatermarkRecord = {
        id: id.toString("hex"),
        leaf,
        receipt: path.resolve(o.receipt),
        image: path.resolve(image),
        out: path.resolve(out),
        embeddedAt: new Date().toISOString(),
      };
      fs.mkdirSync(env.dataDir, { recursive: true });
      fs.appendFileSync(recordsFile(env.dataDir), `${JSON.stringify(record)}\n`);
      env.out.result({ ...record, format: marked.format, psnr: Math.round(marked.psnr * 10) / 10 });
      env.out.line(`watermark ${record.id} written to ${out} (PSNR ${marked.psnr.toFixed(1)} dB against ${image})`);
      env.out.line(
        "It survives re-compression (JPEG 50 and up), resizing and brightness changes; a crop or rotation removes it (see the README's table). The marked copy is a new file: its own SHA-256 is not the receipt's.",
      );
    });

  wm.command("read")
    .description("read the receipt id hidden in an image, and name the receipt when this data folder embedded it")
    .argument("<image>", "the suspect image")
    .action(async (image: string, _o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      const reading = await readImageWatermark(image);
      if (!reading.id) {
        env.out.result({ image, watermark: null, confidence: reading.confidence });
        env.out.line(`no watermark in ${image} (nothing with a valid check reads from it)`);
        return;
      }
      const id = Buffer.from(reading.id).toString("hex");
      const known = readRecords(env.dataDir).filter((r) => r.id === id);
      const receipts = [...new Set(known.map((r) => r.receipt))];
      env.out.result({
        image,
        watermark: id,
        confidence: reading.confidence,
        receipts,
        leaves: [...new Set(known.map((r) => r.leaf))],
      });
      env.out.line(`watermark ${id} in ${image}`);
      if (receipts.length === 0)
        env.out.line("no receipt in this data folder carries this id (it was embedded elsewhere)");
      for (const r of receipts) env.out.line(`receipt: ${r} (leaf starts with 0x${id})`);
      env.out.line("The id names a receipt; check the original with `proofmark verify <original> --proof <receipt>`.");
    });
}
