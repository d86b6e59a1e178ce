import type { Command } from "commander";
import { checkDigitalLink, issueScanCodes, ProofmarkError } from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";
import { rows } from "../output";

interface IssueCliOptions {
  count: number;
  gtin: string;
  out: string;
  resolver?: string;
  png?: boolean;
}

/** `proofmark codes issue <lot>` and `proofmark codes check <url>`: GS1 Digital Link scan codes for packed lots. */
export function register(program: Command): void {
  const codes = program.command("codes").description("consumer scan codes (GS1 Digital Link QR codes) for packed lots");
  codes
    .command("issue")
    .description(
      "issue scan codes for a packed lot: serials, on-chain commitment, QR codes (SVG, PNG), an A4 label sheet and a CSV",
    )
    .argument("<lot>", "the packed lot id")
    .requiredOption("--count <n>", "how many codes (at most the lot's packages not yet coded)", positiveInt)
    .requiredOption("--gtin <gtin>", "the trade item's GTIN-8/12/13/14 (check digit verified)")
    .requiredOption("--out <dir>", "folder for the QR codes, label sheet, CSV and manifest")
    .option(
      "--resolver <url>",
      "public base URL the QR codes point at, e.g. https://id.example.org (required unless config.json sets resolver)",
    )
    .option("--no-png", "skip the PNG files")
    .action(async (lotArg: string, o: IssueCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      if (!/^[1-9][0-9]*$/.test(lotArg))
        throw new ProofmarkError("INVALID_ARGUMENT", `lot must be a lot id (a whole number ≥ 1), got "${lotArg}"`);
      if (o.count === 0) throw new ProofmarkError("INVALID_ARGUMENT", "--count must be at least 1");
      const chain = await env.chain();
      try {
        const r = await issueScanCodes({
          chain,
          lot: Number(lotArg),
          count: o.count,
          gtin: o.gtin,
          outDir: o.out,
          resolver: o.resolver,
          png: o.png,
          onProgress: (done, total) => env.out.progress(`writing QR codes ${done}/${total}`),
        });
        env.out.progressDone();
        env.out.result({
          lot: r.manifest.lot,
          count: r.manifest.serials.length,
          issuedTotal: r.issuedTotal,
          packages: r.packages,
          gtin: r.manifest.gtin,
          commitment: r.manifest.commitment,
          txHash: r.manifest.txHash,
          blockNumber: r.manifest.blockNumber,
          files: r.files,
          first: r.manifest.serials[0]?.uri,
        });
        env.out.line(
          `issued ${r.manifest.serials.length} codes for lot ${r.manifest.lot} (${r.issuedTotal} of ${r.packages} packages now coded)`,
        );
        for (const line of rows([
          ["product", `${r.product.name}${r.product.nameEn ? ` / ${r.product.nameEn}` : ""}`],
          ["commitment", r.manifest.commitment],
          ["transaction", `${r.manifest.txHash} (block ${r.manifest.blockNumber})`],
          ["labels", r.files.labels],
          ["csv", r.files.csv],
          ["manifest", r.files.manifest],
          ["QR codes", `${r.files.svgDir}${r.files.pngDir ? `, ${r.files.pngDir}` : ""}`],
          ["first code", r.manifest.serials[0]?.uri],
        ]))
          env.out.line(line);
      } finally {
        chain.close();
      }
    });

  codes
    .command("check")
    .description(
      "tell whether a printed code is a well-formed GS1 Digital Link of one package (GTIN check digit, lot and serial character sets), and whether it is canonical",
    )
    .argument("<url>", "the code's URL, as read from the QR code")
    .action(async (url: string, _o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      const r = checkDigitalLink(url);
      if (!r.ok) {
        throw new ProofmarkError(
          "CODE_MALFORMED",
          `${JSON.stringify(url.slice(0, 200))} is not a well-formed GS1 Digital Link of a package: ${r.problems.join("; ")}`,
          { url, problems: r.problems },
        );
      }
      env.out.result({
        url,
        ok: r.ok,
        canonical: r.canonical,
        canonicalUri: r.canonicalUri,
        ...r.link,
        problems: r.problems,
      });
      env.out.line(
        `${r.canonical ? "well-formed" : "well-formed, not canonical"}  ${JSON.stringify(url).slice(1, -1)}`,
      );
      for (const line of rows([
        ["resolver", r.link!.resolver],
        ["GTIN", r.link!.gtin],
        ["lot", JSON.stringify(r.link!.lot)],
        ["serial", JSON.stringify(r.link!.serial)],
        ...(r.canonical
          ? []
          : ([["canonical", r.canonicalUri!], ...r.problems.map((p) => ["note", p] as [string, string])] as [
              string,
              string,
            ][])),
      ]))
        env.out.line(line);
    });
}
