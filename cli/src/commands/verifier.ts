import type { Command } from "commander";
import { ProofmarkError, verifierHtml } from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv } from "../options";

/** `proofmark verifier export verifier.html`: the standalone verifier page (no Proofmark server needed). */
export function register(program: Command): void {
  const verifier = program
    .command("verifier")
    .description(
      "the standalone verifier: one HTML file that checks a file and its receipt in any browser, with only a chain's JSON-RPC URL",
    );
  verifier
    .command("export")
    .description("write the self-contained verifier page")
    .argument("<out.html>", "where to write it")
    .action((out: string, _o: unknown, cmd: Command) => {
      const env = commandEnv(cmd);
      if (!/\.html?$/i.test(out))
        throw new ProofmarkError("INVALID_ARGUMENT", `${out}: the verifier is an HTML page; name it *.html`);
      const html = verifierHtml();
      writeFileAtomic(out, html);
      env.out.result({ out, bytes: Buffer.byteLength(html) });
      env.out.line(`verifier written to ${out} (${Buffer.byteLength(html)} bytes); open it in any browser, offline`);
    });
  verifier.exitOverride();
}
