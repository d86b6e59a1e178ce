// Robustness of the invisible watermark (issue 15): embeds a random 64-bit id in N photos of the
// corpus (node scripts/corpus/build.js), applies the edits a re-poster makes, and reads the id back;
// also reads every corpus image unmarked (a false id there would be a false accusation).
//   npx ts-node --transpile-only scripts/watermark-robustness.ts [--sample N] [--corpus DIR]
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { embedWatermark, readImageWatermark } from "../packages/sdk/src/fingerprint";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};

const EDITS: Array<[string, (b: Buffer, w: number, h: number) => Promise<Buffer>]> = [
  ["none (the marked JPEG as written)", async (b) => b],
  ["JPEG quality 75", (b) => sharp(b).jpeg({ quality: 75 }).toBuffer()],
  ["JPEG quality 50", (b) => sharp(b).jpeg({ quality: 50 }).toBuffer()],
  [
    "resize to 50 %",
    (b, w) =>
      sharp(b)
        .resize(Math.round(w / 2))
        .jpeg({ quality: 85 })
        .toBuffer(),
  ],
  [
    "crop 10 % from one side",
    (b, w, h) =>
      sharp(b)
        .extract({ left: Math.round(w * 0.1), top: 0, width: w - Math.round(w * 0.1), height: h })
        .jpeg({ quality: 90 })
        .toBuffer(),
  ],
  ["brightness +20 %", (b) => sharp(b).modulate({ brightness: 1.2 }).jpeg({ quality: 90 }).toBuffer()],
  ["brightness −20 %", (b) => sharp(b).modulate({ brightness: 0.8 }).jpeg({ quality: 90 }).toBuffer()],
];

async function main() {
  const dir = arg("--corpus", "corpus");
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();
  const sample = Number(arg("--sample", "40"));
  const step = Math.max(1, Math.floor(files.length / sample));
  const chosen = files.filter((_, i) => i % step === 0).slice(0, sample);
  const found = new Map<string, { ok: number; none: number; wrong: number }>(
    EDITS.map(([n]) => [n, { ok: 0, none: 0, wrong: 0 }]),
  );
  const psnrs: number[] = [];
  let failed = 0;
  for (const f of chosen) {
    const id = crypto.randomBytes(8);
    let marked;
    try {
      marked = await embedWatermark(path.join(dir, f), id, "jpeg");
    } catch {
      failed++;
      continue;
    }
    psnrs.push(marked.psnr);
    for (const [name, edit] of EDITS) {
      const r = await readImageWatermark(await edit(marked.bytes, marked.width, marked.height));
      const c = found.get(name)!;
      if (!r.id) c.none++;
      else if (Buffer.from(r.id).equals(id)) c.ok++;
      else c.wrong++;
    }
  }
  let falseIds = 0;
  for (const f of files) if ((await readImageWatermark(path.join(dir, f))).id) falseIds++;
  psnrs.sort((a, b) => a - b);
  const n = psnrs.length;
  console.log(`| Edit | id read back | no watermark read | wrong id |`);
  console.log(`|---|---|---|---|`);
  for (const [name] of EDITS) {
    const c = found.get(name)!;
    console.log(`| ${name} | ${c.ok}/${n} (${((100 * c.ok) / n).toFixed(0)} %) | ${c.none} | ${c.wrong} |`);
  }
  console.log(
    `\n${n} corpus photos marked (${failed} refused), PSNR median ${psnrs[n >> 1].toFixed(1)} dB (min ${psnrs[0].toFixed(1)}, max ${psnrs[n - 1].toFixed(1)}); unmarked corpus images read as a watermark: ${falseIds}/${files.length}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
