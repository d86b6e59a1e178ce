import {
  BIZ_STEPS,
  DEFAULT_DISPOSITION,
  DISPOSITIONS,
  parseEventTime,
  type BizStep,
  type Disposition,
} from "../core/epcis";
import { ProofmarkError } from "../core/errors";

/**
 * Bulk GI events from a spreadsheet (CSV, RFC 4180) or JSON Lines. Columns / keys (docs/gi-import.md):
 *
 *   lot, step, disposition, time, location, quantity, note
 *
 * `lot`, `step`, `time` and `location` are required; `disposition` defaults to the step's usual
 * one; `quantity` has a unit ("500kg"); `note` is free text kept in the event document.
 * Parsing here is pure; checks against the chain (lot exists and is active, signer's role) are
 * done by {@link GiSession.importEvents}.
 */

/** One parsed row, with the line of the file it starts on. */
export interface ImportRow {
  line: number;
  lot: number;
  step: BizStep;
  disposition: Disposition;
  /** Event time as written (ISO 8601). */
  time: string;
  location: string;
  /** Quantity as written, parsed later in the product's unit. */
  quantity?: string;
  note?: string;
}

/** A row that cannot be recorded, and why. */
export interface ImportProblem {
  line: number;
  reason: string;
}

/** The columns of the import format. */
export const IMPORT_COLUMNS = ["lot", "step", "disposition", "time", "location", "quantity", "note"] as const;
const REQUIRED = ["lot", "step", "time", "location"];

/** Steps that change quantities: they have their own commands, not rows of an import. */
const OPERATION_STEPS: Partial<Record<BizStep, string>> = {
  commissioning: "harvest",
  packing: "pack",
  repackaging: "split / merge",
  creating_class_instance: "transform",
};

/**
 * The text of an import file: strict UTF-8 (a byte-order mark is allowed). Invalid bytes are never
 * replaced: the problem names the line and byte where they are.
 */
export function decodeImportText(bytes: Uint8Array): string | ImportProblem {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    return {
      line,
      reason: `is not valid UTF-8 (byte ${at} of the file, 0x${bytes[at]?.toString(16).padStart(2, "0")}); save the file as UTF-8 (Excel: "CSV UTF-8")`,
    };
  }
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let min = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length && n > 0) return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      if ((b[i + k] & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if (n > 1 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) return i;
    i += n + 1;
  }
  return b.length;
}

/** Records of a CSV text, each with the (1-based) line it starts on. Handles quotes, "" escapes, CRLF and newlines in quotes. */
export function parseCsv(text: string): Array<{ line: number; cells: string[] }> {
  const out: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let atCellStart = true;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && atCellStart) {
      quoted = true;
      atCellStart = false;
    } else if (c === ",") {
      cells.push(cell);
      cell = "";
      atCellStart = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      cells.push(cell);
      if (!(cells.length === 1 && cells[0].trim() === "")) out.push({ line: start, cells });
      cells = [];
      cell = "";
      atCellStart = true;
      line++;
      start = line;
    } else {
      cell += c;
      atCellStart = false;
    }
  }
  if (quoted) out.push({ line: start, cells: [...cells, cell, "\u0000unterminated"] });
  else if (cell !== "" || cells.length > 0) {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0].trim() === "")) out.push({ line: start, cells });
  }
  return out;
}

/**
 * Parses and checks an import file's text (format by `name`'s extension: .csv or .jsonl/.ndjson).
 * Never throws for bad rows: every problem is returned with its line number.
 *
 * @example
 * const { rows, problems } = parseImport("season.csv", fs.readFileSync("season.csv", "utf8"));
 */
export function parseImport(name: string, text: string): { rows: ImportRow[]; problems: ImportProblem[] } {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return parseCsvImport(text);
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return parseJsonlImport(text);
  throw new ProofmarkError("INVALID_ARGUMENT", `cannot tell the format of "${name}": name it .csv or .jsonl`, {
    file: name,
  });
}

function parseCsvImport(text: string): { rows: ImportRow[]; problems: ImportProblem[] } {
  const records = parseCsv(text);
  const problems: ImportProblem[] = [];
  if (records.length === 0)
    return {
      rows: [],
      problems: [
        {
          line: 1,
          reason:
            "the file is empty; the first line must name the columns (lot,step,disposition,time,location,quantity,note)",
        },
      ],
    };
  const header = records[0].cells.map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !(IMPORT_COLUMNS as readonly string[]).includes(h));
  const missing = REQUIRED.filter((r) => !header.includes(r));
  if (unknown.length > 0 || missing.length > 0 || new Set(header).size !== header.length) {
    const parts = [];
    if (missing.length) parts.push(`missing column(s) ${missing.join(", ")}`);
    if (unknown.length) parts.push(`unknown column(s) ${unknown.join(", ")}`);
    if (new Set(header).size !== header.length) parts.push("a column is named twice");
    return {
      rows: [],
      problems: [
        { line: records[0].line, reason: `header: ${parts.join("; ")} (columns: ${IMPORT_COLUMNS.join(", ")})` },
      ],
    };
  }
  const rows: ImportRow[] = [];
  for (const rec of records.slice(1)) {
    if (rec.cells[rec.cells.length - 1] === "\u0000unterminated") {
      problems.push({ line: rec.line, reason: "a quoted cell is never closed" });
      continue;
    }
    if (rec.cells.length !== header.length) {
      problems.push({
        line: rec.line,
        reason: `has ${rec.cells.length} cells but the header has ${header.length} columns`,
      });
      continue;
    }
    // A stray quote opens a cell that runs on over the next rows, which then vanish into it.
    const swallowed = strayQuote(rec, header.length);
    if (swallowed) {
      problems.push({ line: rec.line, reason: swallowed });
      continue;
    }
    const obj: Record<string, string> = {};
    header.forEach((h, i) => (obj[h] = rec.cells[i]));
    checkRow(rec.line, obj, rows, problems);
  }
  return { rows, problems };
}

/** Why a record looks like it swallowed the rows after it (a quoted cell holding whole rows), if it does. */
function strayQuote(rec: { line: number; cells: string[] }, columns: number): string | undefined {
  for (const [i, cell] of rec.cells.entries()) {
    const lines = cell.split(/\r?\n/);
    for (let k = 1; k < lines.length; k++) {
      if (columns > 1 && lines[k].split(",").length >= columns) {
        return (
          `cell ${i + 1} is quoted and runs on to line ${rec.line + k}, which reads as a row of its own ("${lines[k].slice(0, 60)}"): ` +
          'a stray quote? Close the quote on its own line, or double a quote meant as text ("")'
        );
      }
    }
  }
  return undefined;
}

function parseJsonlImport(text: string): { rows: ImportRow[]; problems: ImportProblem[] } {
  const rows: ImportRow[] = [];
  const problems: ImportProblem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      problems.push({ line, reason: "is not valid JSON" });
      return;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      problems.push({ line, reason: "must be a JSON object" });
      return;
    }
    const unknown = Object.keys(obj).filter((k) => !(IMPORT_COLUMNS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      problems.push({ line, reason: `unknown key(s) ${unknown.join(", ")} (keys: ${IMPORT_COLUMNS.join(", ")})` });
      return;
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== "string" && typeof v !== "number") {
        problems.push({ line, reason: `${k} must be a string or a number` });
        return;
      }
      fields[k] = String(v);
    }
    checkRow(line, fields, rows, problems);
  });
  return { rows, problems };
}

function checkRow(line: number, f: Record<string, string>, rows: ImportRow[], problems: ImportProblem[]): void {
  const reasons: string[] = [];
  const get = (k: string) => (f[k] ?? "").trim();
  for (const k of REQUIRED) if (get(k) === "") reasons.push(`${k} is empty`);
  const lotText = get("lot");
  if (lotText !== "" && !/^[1-9][0-9]*$/.test(lotText))
    reasons.push(`lot "${lotText}" is not a lot id (a whole number ≥ 1)`);
  else if (lotText !== "" && !Number.isSafeInteger(Number(lotText)))
    reasons.push(
      `lot "${lotText}" is above 2^53 − 1 (${Number.MAX_SAFE_INTEGER}); no registry has such a lot, check the column`,
    );
  const step = get("step");
  if (step !== "" && !(BIZ_STEPS as readonly string[]).includes(step))
    reasons.push(`step "${step}" is not a CBV 2.0 business step the registry records (${BIZ_STEPS.join(", ")})`);
  else if (step !== "" && OPERATION_STEPS[step as BizStep])
    reasons.push(
      `step "${step}" changes quantities; record it with the ${OPERATION_STEPS[step as BizStep]} operation instead of an import row`,
    );
  const disp = get("disposition");
  if (disp !== "" && !(DISPOSITIONS as readonly string[]).includes(disp))
    reasons.push(`disposition "${disp}" is not one the registry records (${DISPOSITIONS.join(", ")})`);
  const time = get("time");
  if (time !== "") {
    try {
      const ms = parseEventTime(time);
      if (ms < 0 || ms / 1000 >= 2 ** 40) reasons.push(`time "${time}" is out of range`);
    } catch {
      reasons.push(`time "${time}" is not an ISO 8601 date-time such as 2026-09-01T08:00:00+08:00`);
    }
  }
  const quantity = get("quantity");
  if (quantity !== "" && !/^\s*[0-9][0-9_,]*(\.[0-9]+)?\s*\S*\s*$/.test(quantity))
    reasons.push(`quantity "${quantity}" is not a number with a unit such as 500kg`);
  if (reasons.length > 0) {
    problems.push({ line, reason: reasons.join("; ") });
    return;
  }
  const row: ImportRow = {
    line,
    lot: Number(lotText),
    step: step as BizStep,
    disposition: (disp || DEFAULT_DISPOSITION[step as BizStep]) as Disposition,
    time,
    location: get("location"),
  };
  if (quantity !== "") row.quantity = quantity;
  if (get("note") !== "") row.note = f.note;
  rows.push(row);
}
