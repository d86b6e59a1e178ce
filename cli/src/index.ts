import { Command, CommanderError } from "commander";
import { isProofmarkError, escapeControlChars } from "@proofmark/sdk";
import { diskFullError } from "@proofmark/sdk/internal";
import { hintFor } from "./hints";
import { addGlobalOptions } from "./options";
import * as accounts from "./commands/accounts";
import * as codes from "./commands/codes";
import * as deploy from "./commands/deploy";
import * as node from "./commands/node";
import * as serve from "./commands/serve";
import * as coop from "./commands/coop";
import * as epcis from "./commands/epcis";
import * as show from "./commands/show";
import * as stamp from "./commands/stamp";
import * as store from "./commands/store";
import * as verify from "./commands/verify";
import * as report from "./commands/report";
import * as certificate from "./commands/certificate";
import * as verifier from "./commands/verifier";
import * as gi from "./commands/gi";
import * as calendar from "./commands/calendar";
import * as capture from "./commands/capture";
import * as match from "./commands/match";
import * as watermark from "./commands/watermark";
import * as witnesses from "./commands/witnesses";

/** Each command module registers itself on the program. Add new commands here. */
const COMMANDS: Array<{ register(program: Command): void }> = [
  stamp,
  verify,
  witnesses,
  show,
  node,
  accounts,
  deploy,
  store,
  report,
  certificate,
  verifier,
  codes,
  serve,
  coop,
  gi,
  epcis,
  calendar,
  capture,
  match,
  watermark,
];

/** Exit codes: 0 success, 1 a check failed or an operation was refused, 2 bad usage. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** The `proofmark` program (exported for tests and for embedding). */
export function buildProgram(): Command {
  const program = addGlobalOptions(new Command("proofmark"))
    .description(
      "Proofmark: timestamp evidence and trace GI products on EVM chains; verify with nothing but the file, its receipt and a chain RPC",
    )
    .version(require("../package.json").version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const command of COMMANDS) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * Ends the process once its output is flushed. A command has said its last word when `main`
 * returns: a handle still open (a socket of a chain client, a timer, a server that failed to start)
 * must not keep the process alive.
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
  // A stdout whose reader went away never calls back: exit anyway.
  setTimeout(() => process.exit(code), 2000).unref();
}

/**
 * Runs the CLI. Commands throw; this is the one place that turns an error into a message and an
 * exit code. Stack traces are shown only with PROOFMARK_DEBUG=1.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes("--json");
  // `proofmark … | head` closes stdout early: drop the rest of the output instead of crashing on
  // EPIPE; the command still finishes and its exit code still says how it went.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (caught) {
    const e = diskFullError(caught) ?? caught;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        return EXIT.OK;
      return EXIT.USAGE;
    }
    if (isProofmarkError(e)) {
      if (json) process.stderr.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
      else {
        process.stderr.write(`proofmark: ${escapeControlChars(e.message)}${e.code ? ` [${e.code}]` : ""}\n`);
        const hint = hintFor(e.code, e.details);
        if (hint) process.stderr.write(`  hint: ${escapeControlChars(hint)}\n`);
      }
      if (process.env.PROOFMARK_DEBUG === "1" && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.code === "INVALID_ARGUMENT" ? EXIT.USAGE : EXIT.FAILED;
    }
    process.stderr.write(`proofmark: unexpected error: ${escapeControlChars(String((e as Error).message ?? e))}\n`);
    if (process.env.PROOFMARK_DEBUG === "1") process.stderr.write(`${(e as Error).stack}\n`);
    else process.stderr.write("(set PROOFMARK_DEBUG=1 for details, and please report it)\n");
    return EXIT.FAILED;
  }
}
