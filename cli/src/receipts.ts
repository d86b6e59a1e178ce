import * as fs from "node:fs";
import { parseReceipt, ProofmarkError, type Receipt } from "@proofmark/sdk";

/** Reads and strictly parses a receipt file; RECEIPT_NOT_FOUND / RECEIPT_INVALID name the file. */
export function readReceiptFile(file: string): Receipt {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new ProofmarkError("RECEIPT_NOT_FOUND", `no receipt at ${file}; stamp the file first, or pass its receipt with --proof`, { path: file });
  }
  try {
    return parseReceipt(text);
  } catch (e) {
    const err = e as ProofmarkError;
    throw new ProofmarkError(err.code ?? "RECEIPT_INVALID", `${file}: ${err.message}`, { ...(err.details ?? {}), path: file }, { cause: e });
  }
}
