import type { Command } from "commander";
import {
  buildCertificateModel,
  loadConfig,
  ProofmarkError,
  renderCertificatePdf,
  resolverBase,
  verifyEvidence,
} from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv } from "../options";
import { addVerifyOptions, readReceiptFile, verifierFlags, type VerifyCliFlags } from "../receipts";
import { configuredChainNames } from "./report";

/** `proofmark certificate <proof> --out cert.pdf`: a one-page printable certificate for a creator. */
export function register(program: Command): void {
  addVerifyOptions(
    program
      .command("certificate")
      .description(
        "write a one-page printable certificate (PDF, 简体中文/English) for a receipt whose anchor the chain confirms, with a QR code to the portal's verify page",
      )
      .argument("<proof>", "the receipt (*.proof.json)")
      .requiredOption("--out <cert.pdf>", "where to write the certificate (PDF)"),
  ).action(async (proof: string, o: { out: string } & VerifyCliFlags, cmd: Command) => {
    const env = commandEnv(cmd);
    if (!/\.pdf$/i.test(o.out))
      throw new ProofmarkError("INVALID_ARGUMENT", `--out ${o.out}: the certificate is a PDF; name it *.pdf`);
    const receipt = readReceiptFile(proof);
    const result = await verifyEvidence({ receipt, rpc: env.opts.rpc, dataDir: env.dataDir, ...verifierFlags(o) });
    const resolver = resolverBase(loadConfig(env.dataDir));
    const model = buildCertificateModel(result, { resolver, chainNames: configuredChainNames(env.dataDir) });
    writeFileAtomic(o.out, await renderCertificatePdf(model));
    env.out.result({
      out: o.out,
      verifyUrl: model.verifyUrl,
      sha256: model.sha256,
      anchoredAt: model.anchoredAt,
      chainId: model.chainId,
      txHash: model.txHash,
    });
    env.out.line(`certificate written to ${o.out}`);
    env.out.line(`  QR code → ${model.verifyUrl}`);
  });
}
