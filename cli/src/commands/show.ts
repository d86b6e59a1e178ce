import type { Command } from "commander";
import { escapeControlChars, type Receipt } from "@proofmark/sdk";
import { commandEnv } from "../options";
import { formatAddress, formatTime, rows } from "../output";
import { readReceiptText } from "../receipts";
import { readAnyReceipt } from "./witness-report";

/** `proofmark show <proof>`: a readable summary of a receipt (no chain access). */
export function register(program: Command): void {
  program
    .command("show")
    .description("summarize a receipt (<file>.proof.json) without contacting any chain")
    .argument("<proof>", "the receipt file")
    .action(async (proof: string, _o, cmd: Command) => {
      const { out } = commandEnv(cmd);
      const any = readAnyReceipt(proof, readReceiptText);
      const pending = "pending" in any;
      const receipt = any as Receipt;
      out.result(receipt);
      out.line(
        `receipt ${proof} (${receipt.format} v${receipt.version}${pending ? ", PENDING: acknowledged by a calendar, not anchored yet" : ""})`,
      );
      for (const r of rows([
        ["file", `${receipt.subject.name} (name and size are not covered by the commitment)`],
        ["size", receipt.subject.size === undefined ? "(a bare digest: no size)" : `${receipt.subject.size} bytes`],
        ["sha256", receipt.subject.sha256],
        ["cid", receipt.subject.cid],
        ...Object.entries(receipt.commitment.meta).map(([k, v]): [string, string] => [k, JSON.stringify(v)]),
        ["leaf", receipt.commitment.leaf],
        [
          "root",
          receipt.proof
            ? `${receipt.proof.root} (${receipt.proof.leafCount} item(s), path of ${receipt.proof.path.length})`
            : undefined,
        ],
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
      for (const t of receipt.timestamps ?? [])
        out.line(
          `RFC 3161 token from ${escapeControlChars(t.tsa)}, genTime ${t.genTime} (as stated; not verified here)`,
        );
      for (const a of receipt.attestations ?? [])
        out.line(
          a.type === "calendar"
            ? `acknowledged by the calendar ${a.signer} (${escapeControlChars(a.message.calendar)}) at ${new Date(a.message.receivedAt).toISOString()}`
            : `statement by ${a.signer} (submitter): "${escapeControlChars(a.message.statement)}"`,
        );
      for (const c of receipt.calendars ?? []) out.line(`calendar ${escapeControlChars(c)}`);
      out.line("(not checked against the chain; run `proofmark verify` for that)");
    });
}
