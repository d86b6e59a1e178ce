import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import {
  eventLocationName,
  importEpcisDocument,
  BIZ_STEPS,
  DISPOSITIONS,
  GiSession,
  PARTICIPANT_KINDS,
  participantLabel,
  PRODUCT_ROLES,
  ProofmarkError,
  formatQuantity,
  isProofmarkError,
  parseQuantity,
  parseYield,
  splitQuantityList,
  type BizStep,
  type Disposition,
  type DocumentInput,
  type Lang,
  type LotResult,
  type LotTrace,
  type ParticipantInfo,
  type ParticipantView,
  type ProductRole,
} from "@proofmark/sdk";
import { readFileBounded, READ_LIMIT_BYTES } from "@proofmark/sdk/internal";
import { commandEnv, type CommandEnv } from "../options";
import { formatAddress, rows } from "../output";

/**
 * `proofmark gi …`: geographical-indication provenance. Products, roles, licences, harvests,
 * events, split / merge / transform / pack, recalls, traces and bulk imports, each a thin call
 * into the SDK's GiSession. Every lot-creating command prints the lot id (`--json`: `{ "lot": … }`).
 */
export function register(program: Command): void {
  const gi = program
    .command("gi")
    .description("geographical-indication provenance: products, licences, lots, events, traces");

  const product = gi.command("product").description("GI products");
  product
    .command("create")
    .description("register a GI product (registrar only); prints its id")
    .requiredOption("--name <name>", "name in the original language, e.g. 砀山酥梨")
    .option("--name-en <name>", "English name")
    .requiredOption("--gi-number <number>", "GI registration number, e.g. AGI00001")
    .requiredOption("--region <region>", "region of origin")
    .requiredOption("--unit <unit>", "base unit of every quantity (g, kg, ml, l, pcs)")
    .option("--max-yield <percent>", "maximum processing yield, e.g. 25% (default 100%)", "100%")
    .requiredOption("--admin <account>", "the product's admin (account name or address)")
    .option("--standard <file>", "the product standard / specification document (its SHA-256 goes on chain)")
    .action((o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const maxYieldBps = argument("--max-yield", () => parseYield(o.maxYield));
        const r = await s.createProduct({
          name: o.name,
          nameEn: o.nameEn,
          giNumber: o.giNumber,
          region: o.region,
          unit: o.unit,
          maxYieldBps,
          admin: o.admin,
          standard: o.standard ? readDocument(o.standard) : undefined,
        });
        env.out.result({ product: r.product, txHash: r.txHash, blockNumber: r.blockNumber, standard: r.standard });
        env.out.line(String(r.product));
        env.out.line(
          `created product ${r.product}: ${o.name}${o.nameEn ? ` / ${o.nameEn}` : ""} (transaction ${r.txHash})`,
        );
      }),
    );
  product
    .command("show")
    .description("show a product")
    .argument("<product>", "product id", id("product"))
    .action((productId: number, _o, cmd: Command) =>
      withSession(
        cmd,
        async (s, env) => {
          const p = await s.product(productId);
          env.out.result({ product: p.id, ...p, id: undefined });
          for (const line of rows([
            ["product", String(p.id)],
            ["name", p.name],
            ["name (en)", p.nameEn],
            ["GI number", p.giNumber],
            ["region", p.region],
            ["unit", p.unit],
            ["max yield", `${p.maxYieldBps / 100} %`],
            ["standard", p.standard],
          ]))
            env.out.line(line);
        },
        { readOnly: true },
      ),
    );

  gi.command("role")
    .description("grant or revoke a product role (the product's admin only)")
    .argument("<action>", "grant | revoke", choice(["grant", "revoke"]))
    .argument("<product>", "product id", id("product"))
    .argument("<role>", PRODUCT_ROLES.join(" | "), choice(PRODUCT_ROLES))
    .argument("<account>", "account name or address")
    .action((action: string, productId: number, role: ProductRole, account: string, _o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const r =
          action === "grant"
            ? await s.grantRole(productId, role, account)
            : await s.revokeRole(productId, role, account);
        env.out.result({ product: productId, role, account, action, txHash: r.txHash });
        env.out.line(
          `${action === "grant" ? "granted" : "revoked"} ${role} of product ${productId} ${action === "grant" ? "to" : "from"} ${account}`,
        );
      }),
    );

  gi.command("licence")
    .description("licences: a producer's quota for a season")
    .command("grant")
    .description("set a producer's quota for a season (the product's admin only)")
    .argument("<product>", "product id", id("product"))
    .argument("<account>", "the producer (account name or address)")
    .requiredOption("--quota <quantity>", "quota with a unit, e.g. 50000kg")
    .requiredOption("--season <year>", "season, e.g. 2026", id("season"))
    .action((productId: number, account: string, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const quota = quantity("--quota", o.quota, await s.unitOf(productId));
        const r = await s.grantLicence(productId, account, quota, o.season);
        env.out.result({
          product: productId,
          account,
          season: o.season,
          quota: r.quota.toString(),
          unit: r.unit,
          txHash: r.txHash,
        });
        env.out.line(
          `licensed ${account} for product ${productId}, season ${o.season}: quota ${formatQuantity(r.quota, r.unit)}`,
        );
      }),
    );

  const participant = gi
    .command("participant")
    .description(
      "named participants: what a product's admin registers about a farm, inspector, packer, carrier or retailer",
    );
  participant
    .command("set")
    .description("register (or replace) an account's participant record for a product (the product's admin only)")
    .argument("<product>", "product id", id("product"))
    .argument("<account>", "the participant (account name or address)")
    .requiredOption("--name <name>", "display name in the original language, e.g. 砀山县李庄果园")
    .option("--name-en <name>", "English display name")
    .requiredOption("--kind <kind>", PARTICIPANT_KINDS.join(" | "), choice(PARTICIPANT_KINDS))
    .option("--licence <number>", "licence or registration number")
    .option("--region <region>", "region")
    .action((productId: number, account: string, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const r = await s.setParticipant(productId, account, {
          kind: o.kind,
          name: o.name,
          nameEn: o.nameEn,
          licence: o.licence,
          region: o.region,
        });
        env.out.result({ product: productId, account, ...r.participant, txHash: r.txHash });
        env.out.line(
          `registered ${account} for product ${productId}: ${participantLabel(r.participant, account, "zh")} (${r.participant.kind}; transaction ${r.txHash})`,
        );
      }),
    );
  participant
    .command("show")
    .description("an account's participant record for a product")
    .argument("<product>", "product id", id("product"))
    .argument("<account>", "account name or address")
    .action((productId: number, account: string, _o, cmd: Command) =>
      withSession(
        cmd,
        async (s, env) => {
          const p = await s.participant(productId, account);
          if (!p)
            throw new ProofmarkError(
              "PARTICIPANT_NOT_FOUND",
              `${account} is not a registered participant of product ${productId}`,
              { product: productId, account },
            );
          env.out.result(p);
          for (const line of participantRows(p)) env.out.line(line);
        },
        { readOnly: true },
      ),
    );
  participant
    .command("list")
    .description("every participant registered for a product")
    .argument("<product>", "product id", id("product"))
    .action((productId: number, _o, cmd: Command) =>
      withSession(
        cmd,
        async (s, env) => {
          const all = await s.participants(productId);
          env.out.result({ product: productId, participants: all });
          if (all.length === 0) env.out.line(`no participant registered for product ${productId}`);
          for (const p of all)
            env.out.line(`${formatAddress(p.account)}  ${p.kind.padEnd(9)} ${participantLabel(p, p.account, "zh")}`);
        },
        { readOnly: true },
      ),
    );

  gi.command("harvest")
    .description("harvest a lot against your licence (producer); prints the lot id")
    .argument("<product>", "product id", id("product"))
    .requiredOption("--quantity <quantity>", "harvested quantity with a unit, e.g. 1200kg")
    .requiredOption("--plot <plot>", "the plot / orchard it came from")
    .requiredOption("--date <date>", "harvest date or date-time (ISO 8601), e.g. 2026-09-01")
    .option("--season <year>", "licence season (default: the year of --date)", id("season"))
    .option("--location <id>", "location identifier (default: a URN of the plot)")
    .action((productId: number, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const amount = quantity("--quantity", o.quantity, await s.unitOf(productId));
        const r = await s.harvest({
          product: productId,
          quantity: amount,
          plot: o.plot,
          date: o.date,
          season: o.season,
          location: o.location,
        });
        env.out.result({
          lot: r.lot,
          product: r.product,
          quantity: r.quantity.toString(),
          unit: r.unit,
          season: r.season,
          licence: { quota: r.licence.quota.toString(), harvested: r.licence.harvested.toString() },
          cid: r.cid,
          txHash: r.txHash,
        });
        env.out.line(String(r.lot));
        env.out.line(
          `harvested lot ${r.lot}: ${formatQuantity(r.quantity, r.unit)} of product ${r.product}, season ${r.season} ` +
            `(licence: ${formatQuantity(r.licence.harvested, r.unit)} of ${formatQuantity(r.licence.quota, r.unit)} used)`,
        );
      }),
    );

  gi.command("event")
    .description("record a supply-chain event on a lot (inspecting, shipping, receiving, retail_selling, …)")
    .argument("<lot>", "lot id", id("lot"))
    .requiredOption("--step <step>", `CBV 2.0 business step: ${BIZ_STEPS.join(", ")}`, choice(BIZ_STEPS))
    .option(
      "--disposition <disposition>",
      `CBV 2.0 disposition (default: the step's usual one): ${DISPOSITIONS.join(", ")}`,
      choice(DISPOSITIONS),
    )
    .requiredOption(
      "--location <id>",
      "where it happened: a GLN, an SGLN / Digital Link / geo: URI or a registered location id (kept as is), or an address (recorded as a stable urn:proofmark:place: URI with the text kept)",
    )
    .option("--time <time>", "when (ISO 8601; default now)")
    .option("--doc <file>", "a document to attach (certificate, waybill); kept in the store, its CID in the event")
    .option("--quantity <quantity>", "quantity observed, with a unit")
    .option("--note <text>", "free text kept in the event document")
    .action((lot: number, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const observed =
          o.quantity !== undefined ? quantity("--quantity", o.quantity, await s.unitOfLot(lot)) : undefined;
        const r = await s.event({
          lot,
          step: o.step as BizStep,
          disposition: o.disposition as Disposition | undefined,
          location: o.location,
          time: o.time,
          attachment: o.doc ? readDocument(o.doc) : undefined,
          quantity: observed,
          note: o.note,
        });
        env.out.result({ lot: r.lot, step: o.step, cid: r.cid, attachment: r.attachment, txHash: r.txHash });
        env.out.line(
          `recorded ${o.step} on lot ${r.lot} (document ${r.cid}${r.attachment ? `, attachment ${r.attachment}` : ""})`,
        );
      }),
    );

  gi.command("split")
    .description("split quantities off a lot into new lots; prints their ids")
    .argument("<lot>", "lot id", id("lot"))
    .requiredOption("--into <quantity>", "quantity of a new lot (repeat, or comma-separate)", list, [])
    .option("--location <id>", "where it happened")
    .option("--time <time>", "when (ISO 8601; default now)")
    .action((lot: number, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const unit = await s.unitOfLot(lot);
        const r = await s.split({
          lot,
          quantities: quantities("--into", o.into, unit),
          location: o.location,
          time: o.time,
        });
        env.out.result({
          lot: r.lots[0],
          lots: r.lots,
          parent: lot,
          quantities: r.quantities.map(String),
          unit: r.unit,
          cid: r.cid,
          txHash: r.txHash,
        });
        env.out.line(r.lots.join(" "));
        env.out.line(
          `split lot ${lot} into ${r.lots.map((l, i) => `lot ${l} (${formatQuantity(r.quantities[i], r.unit)})`).join(", ")}`,
        );
      }),
    );

  gi.command("merge")
    .description("merge the whole remaining quantity of several lots into a new lot; prints its id")
    .argument("<lots...>", "lot ids")
    .option("--location <id>", "where it happened")
    .option("--time <time>", "when (ISO 8601; default now)")
    .action((lots: string[], o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const r = await s.merge({ lots: lots.map((l) => id("lot")(l)), location: o.location, time: o.time });
        printCombined(env, "merged", lots, r);
      }),
    );

  gi.command("transform")
    .description("process input lots into a new lot (output ≤ inputs × the product's maximum yield); prints its id")
    .argument("<lots...>", "input lot ids")
    .requiredOption(
      "--amount <quantity>",
      "quantity taken from each input lot, in order (repeat, or comma-separate)",
      list,
      [],
    )
    .requiredOption("--output <quantity>", "output quantity")
    .option("--location <id>", "where it happened")
    .option("--time <time>", "when (ISO 8601; default now)")
    .action((lots: string[], o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const ids = lots.map((l) => id("lot")(l));
        const unit = await s.unitOfLot(ids[0]);
        const r = await s.transform({
          lots: ids,
          amounts: quantities("--amount", o.amount, unit),
          output: quantity("--output", o.output, unit),
          location: o.location,
          time: o.time,
        });
        printCombined(env, "transformed", lots, r);
      }),
    );

  gi.command("pack")
    .description("pack N packages of size S from a lot into a new packed lot; prints its id")
    .argument("<lot>", "lot id", id("lot"))
    .requiredOption("--packages <n>", "number of packages", id("packages"))
    .requiredOption("--size <quantity>", "quantity per package, e.g. 5kg")
    .option("--location <id>", "where it happened")
    .option("--time <time>", "when (ISO 8601; default now)")
    .action((lot: number, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const r = await s.pack({
          lot,
          packages: o.packages,
          size: quantity("--size", o.size, await s.unitOfLot(lot)),
          location: o.location,
          time: o.time,
        });
        env.out.result({
          lot: r.lot,
          parent: lot,
          packages: r.packages,
          size: r.size.toString(),
          quantity: r.quantity.toString(),
          unit: r.unit,
          cid: r.cid,
          txHash: r.txHash,
        });
        env.out.line(String(r.lot));
        env.out.line(
          `packed lot ${r.lot}: ${r.packages} × ${formatQuantity(r.size, r.unit)} = ${formatQuantity(r.quantity, r.unit)} from lot ${lot}`,
        );
      }),
    );

  gi.command("recall")
    .description("recall a lot (the product's admin or an inspector); its descendants trace as recalled")
    .argument("<lot>", "lot id", id("lot"))
    .requiredOption("--reason <text>", "why")
    .option("--location <id>", "where it was decided")
    .option("--time <time>", "when (ISO 8601; default now)")
    .action((lot: number, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        const r = await s.recall({ lot, reason: o.reason, location: o.location, time: o.time });
        env.out.result({ lot: r.lot, reason: o.reason, cid: r.cid, txHash: r.txHash });
        env.out.line(`recalled lot ${r.lot}: ${o.reason}`);
      }),
    );

  gi.command("trace")
    .description("a lot's history: ancestors back to the harvests, descendants, every event checked against the chain")
    .argument("<lot>", "lot id", id("lot"))
    .option("--lang <zh|en>", "language of participant names and labels", choice(["zh", "en"] as const), "en")
    .action((lot: number, o: { lang: Lang }, cmd: Command) =>
      withSession(
        cmd,
        async (s, env) => {
          const t = await s.trace(lot);
          env.out.result(t);
          if (!env.out.json) printTrace(env, t, o.lang);
          if (t.status === "unknown") throw new ProofmarkError("LOT_NOT_FOUND", t.reasons.join("; "), { lot });
          if (t.status === "broken")
            throw new ProofmarkError(
              "TRACE_BROKEN",
              `the trace of lot ${lot} does not check out: ${t.reasons.join("; ")}`,
              { lot, reasons: t.reasons },
            );
          if (t.status === "unverifiable")
            throw new ProofmarkError(
              "TRACE_UNVERIFIABLE",
              `the trace of lot ${lot} could not be fully checked: ${t.unchecked.join("; ")}`,
              { lot, unchecked: t.unchecked },
            );
        },
        { readOnly: true },
      ),
    );

  gi.command("import")
    .description(
      "record many events from a CSV or JSON Lines file (docs/gi-import.md), or a partner's EPCIS 2.0 JSON-LD document (.jsonld/.json, docs/epcis.md); everything is checked first, nothing is recorded unless all is valid",
    )
    .argument("<file>", "file.csv or file.jsonl")
    .option("--dry-run", "only check the rows")
    .option(
      "--batch <n>",
      "events per transaction (default 1000; smaller if a batch would not fit a block)",
      id("batch"),
    )
    .action((file: string, o, cmd: Command) =>
      withSession(cmd, async (s, env) => {
        if (/\.json(ld)?$/i.test(file)) {
          const e = await importEpcisDocument(s, file, { dryRun: o.dryRun });
          env.out.result(e);
          env.out.line(
            e.dryRun
              ? `${e.events} EPCIS event(s) valid for ${e.lots.length} lot(s); nothing recorded (--dry-run)`
              : `recorded ${e.events} EPCIS event(s) as ${e.recorded} record(s) on lot(s) ${e.lots.join(", ")} in 1 transaction; document kept as ${e.cid}`,
          );
          return;
        }
        const r = await s.importEvents(file, {
          dryRun: o.dryRun,
          batchSize: o.batch,
          onProgress: (phase, done, total) => env.out.progress(`${phase} ${done}/${total}`),
        });
        env.out.progressDone();
        env.out.result(r);
        if (r.dryRun) env.out.line(`${r.rows} row(s) valid for ${r.lots} lot(s); nothing recorded (--dry-run)`);
        else
          env.out.line(
            `recorded ${r.recorded} events on ${r.lots} lot(s) in ${r.transactions.length} transaction(s), ${r.seconds.toFixed(1)} s`,
          );
      }),
    );
}

/** Opens a GI session for a command, runs it, and always closes the chain and the store. */
async function withSession(
  cmd: Command,
  run: (s: GiSession, env: CommandEnv) => Promise<void>,
  opts: { readOnly?: boolean } = {},
): Promise<void> {
  const env = commandEnv(cmd);
  const chain = await env.chain();
  let session: GiSession | undefined;
  try {
    session = await GiSession.open(chain, { readOnly: opts.readOnly });
    await run(session, env);
  } finally {
    env.out.progressDone();
    await session?.close();
    chain.close();
  }
}

/** Prints the lot a merge or a transform made from `inputs`: its id alone on a line, then a sentence. */
function printCombined(env: CommandEnv, verb: "merged" | "transformed", inputs: string[], r: LotResult): void {
  env.out.result({
    lot: r.lot,
    inputs: inputs.map(Number),
    quantity: r.quantity.toString(),
    unit: r.unit,
    cid: r.cid,
    txHash: r.txHash,
  });
  env.out.line(String(r.lot));
  env.out.line(`${verb} lots ${inputs.join(", ")} into lot ${r.lot} (${formatQuantity(r.quantity, r.unit)})`);
}

function id(what: string): (value: string) => number {
  return (value: string) => {
    if (!/^[1-9][0-9]{0,15}$/.test(value) || !Number.isSafeInteger(Number(value)))
      throw new InvalidArgumentError(`${what} must be a whole number ≥ 1, got "${value}"`);
    return Number(value);
  };
}

function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`"${value}" is not one of ${allowed.join(", ")}`);
    return value as T;
  };
}

/** Repeated options collect their raw values; each is split and parsed by {@link quantities}. */
function list(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs a parser of an option's value; its INVALID_ARGUMENT names the option. */
function argument<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (isProofmarkError(e, "INVALID_ARGUMENT"))
      throw new ProofmarkError("INVALID_ARGUMENT", `${option}: ${e.message}`, { ...e.details, argument: option });
    throw e;
  }
}

/** A quantity option ("1200kg") in the product's base unit. */
function quantity(option: string, text: string, unit: string): bigint {
  return argument(option, () => parseQuantity(text, unit));
}

/** A repeatable, comma-separable quantity option ("--into 400kg,800kg --into 200kg"); "1,5kg" is refused as ambiguous. */
function quantities(option: string, values: string[], unit: string): bigint[] {
  return values.flatMap((v) => argument(option, () => splitQuantityList(v))).map((q) => quantity(option, q, unit));
}

/** A document named on the command line, read whole (its name is the file's base name). */
function readDocument(file: string): DocumentInput {
  if (!fs.existsSync(file)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${file}`, { path: file });
  return { bytes: readFileBounded(file, READ_LIMIT_BYTES, "an attached document"), name: path.basename(file) };
}

/** Who an actor is: its participant record ("砀山县李庄果园 · licence SC1234"), or its address and "unregistered". */
function actorText(actor: string, p: ParticipantView | undefined, lang: Lang): string {
  return participantLabel(p, formatAddress(actor), lang);
}

function participantRows(p: ParticipantInfo): string[] {
  return rows([
    ["account", formatAddress(p.account)],
    ["product", String(p.product)],
    ["kind", p.kind],
    ["name", p.name],
    ["name (en)", p.nameEn],
    ["licence", p.licence],
    ["region", p.region],
    ["set in", p.setAt ? `block ${p.setAt.blockNumber}, transaction ${p.setAt.txHash}` : ""],
  ]);
}

function printTrace(env: CommandEnv, t: LotTrace, lang: Lang = "en"): void {
  const out = env.out;
  const badge = {
    genuine: "GENUINE",
    recalled: "RECALLED",
    broken: "BROKEN",
    unverifiable: "UNVERIFIABLE",
    unknown: "UNKNOWN",
  }[t.status];
  if (!t.product || !t.self) {
    out.line(`lot ${t.lot}: ${badge}`);
    for (const r of t.reasons) out.line(`  ${r}`);
    return;
  }
  const p = t.product;
  out.line(`lot ${t.lot} · ${p.name}${p.nameEn ? ` / ${p.nameEn}` : ""} (${p.giNumber}, ${p.region})`);
  const summary =
    t.status === "genuine"
      ? "every event matches its document and the chain; hash chains match storage; mass balance holds"
      : t.reasons.join("; ");
  const headsText = t.checks.headsMatch
    ? t.unchecked.length
      ? `not all read (${t.unchecked.length} lot(s) unchecked)`
      : "match storage"
    : "DIFFER FROM STORAGE";
  for (const line of rows([
    ["status", `${badge} — ${summary}`],
    [
      "quantity",
      `${t.quantity!.text}${t.packages ? ` in ${t.packages} packages` : ""} (${t.origin}; ${t.remaining!.text} not yet taken, ${t.lotStatus})`,
    ],
    [
      "harvested",
      `${t.massBalance!.harvested.text} in the harvests it comes from; mass balance ${t.massBalance!.ok ? "holds" : "BROKEN"}`,
    ],
    [
      "documents",
      `${t.checks.documentsVerified} verified, ${t.checks.documentsMissing} not in this store, ${t.checks.documentsMismatched} mismatched`,
    ],
    ["hash chains", headsText],
  ]))
    out.line(line);
  out.line();
  out.line("ancestors");
  if (t.ancestors.length === 0) out.line("  (none: a harvest)");
  for (const a of [...t.ancestors, t.self].filter((l) => l.origin === "harvest")) {
    out.line(
      `  lot ${a.lot}  harvest  ${a.quantity.text}  by ${actorText(a.actor, a.participant, lang)}, season ${a.season}` +
        `${a.licence ? `, licence ${a.licence.harvested.text} of ${a.licence.quota.text} used` : ""}`,
    );
  }
  for (const a of t.ancestors.filter((l) => l.origin !== "harvest"))
    out.line(
      `  lot ${a.lot}  ${a.origin} of lot ${a.parents.join(", ")}  ${a.quantity.text}${a.recall ? `  RECALLED: ${a.recall.reason}` : ""}`,
    );
  if (t.descendants.length > 0) {
    out.line("descendants");
    for (const d of t.descendants)
      out.line(
        `  lot ${d.lot}  ${d.origin} of lot ${d.parents.join(", ")}  ${d.quantity.text}${d.packages ? ` (${d.packages} packages)` : ""}  ${d.status}`,
      );
  }
  out.line();
  out.line("timeline");
  for (const e of t.events) {
    const when = e.time.replace(".000Z", "Z");
    // Registered: its record; unregistered: its dev-account name (local chain) and address, and "unregistered".
    const who = e.participant
      ? participantLabel(e.participant, e.actor, lang)
      : participantLabel(undefined, e.actorName ? `${e.actorName} ${e.actor}` : e.actor, lang);
    const mark = e.verified
      ? "✓ verified"
      : e.check === "document-missing"
        ? "? document not in this store"
        : "✗ DOCUMENT MISMATCH";
    out.line(
      `  ${when}  lot ${String(e.lot).padEnd(4)} ${e.step.padEnd(16)} ${e.disposition.padEnd(23)} ${who.padEnd(10)} ${(e.epcis && eventLocationName(e.epcis)) ?? e.location ?? e.locationDigest.slice(0, 18) + "…"}  ${mark}`,
    );
  }
}
