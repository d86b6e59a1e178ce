import { InvalidArgumentError, type Command } from "commander";
import {
  allLocal,
  calendarTsaUrls,
  loadCalendarSigner,
  openCalendarChains,
  openCalendarStore,
  localTsaDir,
  ProofmarkError,
  startCalendar,
  startLocalTsa,
  type LocalTsa,
} from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";

interface CalendarServeOptions {
  port?: number;
  host?: string;
  interval: number;
  maxBatch: number;
  maxPending: number;
  chain: string[];
  tsa: string[];
  database?: string;
  publicUrl?: string;
  confirmations?: number;
}

function repeat(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function url(value: string, previous: string[]): string[] {
  if (value !== "local" && !/^https?:\/\/\S+$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not an http(s) URL (or local)`);
  return [...previous, value];
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new InvalidArgumentError(`"${value}" is not a number of seconds between 0 and 86400`);
  return n;
}

function atLeastOne(value: string): number {
  const n = positiveInt(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" must be at least 1`);
  return n;
}

/** `proofmark calendar serve`: the stamping service (docs/calendar.md). */
export function register(program: Command): void {
  const calendar = program
    .command("calendar")
    .description(
      "the stamping service: accepts salted leaves, anchors them in batches on several chains, with RFC 3161 time-stamps",
    );
  calendar
    .command("serve")
    .description(
      "run the calendar HTTP API (POST /v1/leaves, GET /v1/proofs/0x<leaf>, GET /v1/health) until interrupted",
    )
    .option("--port <n>", "port to listen on (default 8090; 0 picks a free one)", positiveInt)
    .option("--host <host>", "address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    .option("--interval <seconds>", "close a batch when its oldest leaf waited this long", seconds, 10)
    .option("--max-batch <n>", "…or when this many leaves wait", atLeastOne, 10_000)
    .option("--max-pending <n>", "leaves waiting for a batch beyond which submissions get 503", atLeastOne, 1_000_000)
    .option(
      "--chain <name|url>",
      "anchor on this chain: local, local2 (a second embedded chain), a network from config.json, or an RPC URL; repeat for several (default: local)",
      repeat,
      [],
    )
    .option(
      "--tsa <url|local>",
      'also time-stamp each batch root at this RFC 3161 TSA; local runs an openssl TSA with its CA in <data-dir>/tsa/; repeatable (a config.json network\'s "tsa" list is added when --chain names it)',
      url,
      [],
    )
    .option(
      "--confirmations <n>",
      "serve a batch's proofs as complete only once each anchor has this many confirmations; an anchor reorganised out before is sent again (default: the network's minConfirmations, else 1)",
      atLeastOne,
    )
    .option(
      "--database <url>",
      "postgres://… to share one store between several instances (default: SQLite in <data-dir>/calendar/)",
    )
    .option(
      "--public-url <url>",
      "the calendar's public URL, signed into every acknowledgement (default: the listening URL)",
    )
    .action(async (o: CalendarServeOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const tsa = calendarTsaUrls(env.dataDir, o.chain, o.tsa);
      const chains = await openCalendarChains(env.dataDir, o.chain, { confirmations: o.confirmations });
      const { signer, note } = await loadCalendarSigner({ allLocal: allLocal(chains) });
      const store = await openCalendarStore(env.dataDir, o.database);
      let service;
      let localTsa: LocalTsa | undefined;
      try {
        if (tsa.includes("local"))
          localTsa = await startLocalTsa({ dir: localTsaDir(env.dataDir), name: "Proofmark Local" });
        service = await startCalendar({
          store,
          signer,
          chains,
          tsa: tsa.map((t) => (t === "local" ? localTsa!.url : t)),
          intervalMs: o.interval * 1000,
          maxBatch: o.maxBatch,
          maxPending: o.maxPending,
          port: o.port ?? 8090,
          host: o.host,
          publicUrl: o.publicUrl,
          keyNote: note,
          log: (m) => process.stderr.write(`calendar: ${m}\n`),
        });
      } catch (e) {
        await store.close();
        await localTsa?.close();
        for (const c of chains) c.context.close();
        if ((e as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw new ProofmarkError("INVALID_ARGUMENT", `port ${o.port ?? 8090} is in use; choose another with --port`, {
            port: o.port ?? 8090,
          });
        throw e;
      }
      const summary = {
        url: service.url,
        signer: service.signer,
        store: store.kind,
        chains: chains.map((c) => ({
          name: c.name,
          chainId: c.context.chainId,
          registry: c.registry.address.toLowerCase(),
          confirmations: c.confirmations ?? 1,
        })),
        tsa: tsa.map((t) => (t === "local" ? localTsa!.url : t)),
        ...(localTsa ? { localTsaCa: localTsa.caFile } : {}),
      };
      if (env.opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      env.out.line(
        `calendar on ${service.url}  (signer ${service.signer}${note ? ", development key" : ""}, ${store.kind} store)`,
      );
      for (const c of summary.chains)
        env.out.line(`  anchors on  ${c.name}: chain ${c.chainId}, registry ${c.registry}`);
      for (const t of summary.tsa) env.out.line(`  time-stamps ${t}`);
      if (localTsa)
        env.out.line(
          `  local TSA: openssl ts, its CA ${localTsa.caFile} (made on this machine: proves nothing to others; verify trusts it for this data folder)`,
        );
      env.out.line("press Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await service.close();
      await store.close();
      await localTsa?.close();
      for (const c of chains) c.context.close();
    });
}
