import type { Command } from "commander";
import { commandEnv } from "../options";
import { formatAddress, formatTime, rows } from "../output";
import { readReceiptFile } from "../receipts";

/** `proofmark show <proof>`: a readable summary of a receipt (no chain access). */
export function register(program: Command): void {
  program
    .command("show")
    .description("summarize a receipt (<file>.proof.json) without contacting any chain")
    .argument("<proof>", "the receipt file")
    .action(async (proof: string, _o, cmd: Command) => {
      const { out } = commandEnv(cmd);
      const receipt = readReceiptFile(proof);
      out.result(receipt);
      out.line(`receipt ${proof} (${receipt.format} v${receipt.version})`);
      for (const r of rows([
        ["file", `${receipt.subject.name} (name and size are not covered by the commitment)`],
        ["size", `${receipt.subject.size} bytes`],
        ["sha256", receipt.subject.sha256],
        ["cid", receipt.subject.cid],
        ...Object.entries(receipt.commitment.meta).map(([k, v]): [string, string] => [k, JSON.stringify(v)]),
        ["leaf", receipt.commitment.leaf],
        ["root", `${receipt.proof.root} (${receipt.proof.leafCount} item(s), path of ${receipt.proof.path.length})`],
        [
          "encrypted",
          receipt.encryption ? `${receipt.encryption.alg} (key in this receipt: keep it private)` : undefined,
        ],
      ]))
        out.line(r);
      for (const [i, a] of receipt.anchors.entries()) {
        out.line(`anchor ${i + 1}: chain ${a.chainId}`);
        for (const r of rows([
          ["time", formatTime(a.timestamp)],
          ["block", `${a.blockNumber} (${a.blockHash})`],
          ["transaction", a.txHash],
          ["registry", a.registry],
          ["submitter", formatAddress(a.submitter)],
        ]))
          out.line(r);
      }
      out.line("(not checked against the chain; run `proofmark verify` for that)");
    });
}
