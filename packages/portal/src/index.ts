/**
 * @proofmark/portal — consumer scan pages on GS1 Digital Link paths, an in-browser verify page, a
 * JSON API under /api/, and an indexer that follows the registries into SQLite.
 */
import * as http from "node:http";
import * as path from "node:path";
import {
  codesDir,
  EmbeddedStore,
  ProofmarkError,
  EventDocuments,
  openChain,
  readDeployments,
  type ChainContext,
} from "@proofmark/sdk";
import { openDb, startCheckpointer } from "./db";
import { PostgresIndexLog } from "./index-log";
import { Indexer } from "./indexer";
import { importManifests, manifestFiles } from "./queries";
import { SharedManifests } from "./shared-manifests";
import { PostgresScanCounts } from "./scan-counts";
import { createHandler, scanBudget } from "./server";

export { openDb, startCheckpointer } from "./db";
export { Indexer, REORG_DEPTH, type ChainStatus, type SyncResult } from "./indexer";
export {
  clientAddress,
  createHandler,
  parseLotId,
  SCAN_BUDGET_PER_CLIENT,
  scanBudget,
  type HandlerOptions,
  type PortalHandler,
} from "./server";
export { BoundedCache } from "./cache";
export { PostgresIndexLog, IndexRecorder, applyPage, appliedPage, type IndexOp } from "./index-log";
export { PostgresScanCounts, sqliteScanCounts, type ScanCounts, type SerialScans } from "./scan-counts";
export {
  PortalQueries,
  ScanCounter,
  accountLabel,
  importManifests,
  manifestFiles,
  type ManifestSource,
} from "./queries";
export { SharedManifests } from "./shared-manifests";
export { pickLang } from "./i18n";

export interface PortalOptions {
  /** The data folder (chain, deployments, codes manifests); the index lives in `<dataDir>/portal/`. */
  dataDir: string;
  /** Port (default 8080; 0 = any free port). */
  port?: number;
  /** Host to listen on (default 127.0.0.1). */
  host?: string;
  /** A configured network name or RPC URLs (default: the embedded local chain). */
  network?: string;
  rpc?: string[];
  /** Indexer poll interval, ms (default 500). */
  pollMs?: number;
  scanWarnAfter?: number;
  scanWindowMs?: number;
  trustProxy?: boolean;
  /**
   * A PostgreSQL URL (postgres://…): the index and the scan counts are kept there, shared by every
   * portal instance on that database; one instance (elected by a PostgreSQL advisory lock) indexes
   * the chain, the others serve what it committed and take over when it stops (default: the SQLite
   * index of the data folder).
   */
  database?: string;
  log?: (message: string) => void;
}

export interface Portal {
  url: string;
  port: number;
  indexer: Indexer;
  chain: ChainContext;
  /** Indexes up to the chain head now and loads new codes manifests (tests, demos). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the portal: connects to the chain (starting the embedded one when needed), opens the
 * index, follows the registries and serves the pages and API.
 *
 * @example
 * const portal = await startPortal({ dataDir: ".proofmark", port: 8080 });
 * console.log(`${portal.url}/verify`);
 * await portal.close();
 */
export async function startPortal(opts: PortalOptions): Promise<Portal> {
  const chain = await openChain({ dataDir: opts.dataDir, network: opts.network, rpc: opts.rpc });
  const deployments = readDeployments(chain.dataDir, chain.chainId);
  let evidence = deployments.EvidenceRegistry?.address;
  let provenance = deployments.ProvenanceRegistry?.address;
  if (chain.isLocal) {
    // The embedded chain deploys registries on first use; do so now so the portal has something to follow.
    evidence ??= await chain.registryAddress("EvidenceRegistry").catch(() => undefined);
    provenance ??= await chain.registryAddress("ProvenanceRegistry").catch(() => undefined);
  }
  const after = readDeployments(chain.dataDir, chain.chainId);
  const fromBlock = Math.min(
    ...[after.EvidenceRegistry?.blockNumber, after.ProvenanceRegistry?.blockNumber].filter(
      (n): n is number => typeof n === "number",
    ),
    0 + Number.MAX_SAFE_INTEGER,
  );
  if (opts.database !== undefined && !/^postgres(ql)?:\/\//.test(opts.database))
    throw new ProofmarkError("INVALID_ARGUMENT", "the portal's database must be a postgres:// URL", {});
  // With a shared index, this instance's SQLite copy lives in memory and is rebuilt from PostgreSQL on start.
  const db = openDb(
    opts.database !== undefined ? ":memory:" : path.join(chain.dataDir, "portal", `index-${chain.chainId}.sqlite`),
  );
  const report = opts.log ?? ((m: string) => process.stderr.write(`portal: ${m}\n`));
  const checkpointer = opts.database !== undefined ? { stop: () => Promise.resolve() } : startCheckpointer(db, report);
  const scope = `${chain.chainId}:${[evidence, provenance]
    .filter(Boolean)
    .map((a) => a!.toLowerCase())
    .join(",")}`;
  const log = opts.database !== undefined ? await PostgresIndexLog.open(opts.database, scope) : undefined;
  const manifests = codesDir(chain.dataDir);
  // With a shared index, the codes folders of all instances are shared too (see SharedManifests).
  const shared = log && provenance ? new SharedManifests(log, manifests, chain.chainId, provenance) : undefined;
  const settledManifest = db.prepare("SELECT 1 FROM manifests WHERE file = ? AND status != 'pending'");
  // Event documents: the data folder's content store, found by their on-chain commitment.
  const store = new EmbeddedStore(chain.dataDir);
  const documents = provenance
    ? new EventDocuments({ dataDir: chain.dataDir, chainId: chain.chainId, registry: provenance, store })
    : undefined;
  const indexer = new Indexer({
    db,
    provider: chain.provider,
    evidenceRegistry: evidence,
    provenanceRegistry: provenance,
    documents,
    log,
    report,
    fromBlock: Number.isSafeInteger(fromBlock) && fromBlock !== Number.MAX_SAFE_INTEGER ? fromBlock : 0,
    onSync: () => {
      try {
        const sources = [...manifestFiles(manifests), ...(shared?.sources ?? [])];
        const changed = importManifests(db, sources, chain.chainId, provenance).accepted > 0;
        shared?.forget((name) => settledManifest.get(name) !== undefined);
        return changed;
      } catch (e) {
        opts.log?.(`loading codes manifests failed: ${(e as Error).message}`);
        return false;
      }
    },
  });
  const windowMs = opts.scanWindowMs ?? 10 * 60_000;
  let scanCounts;
  if (opts.database !== undefined) {
    scanCounts = await PostgresScanCounts.open(opts.database, windowMs, scanBudget(windowMs));
  }
  // Shared codes manifests are exchanged beside the indexer, every poll.
  shared?.start(opts.pollMs ?? 500, report);
  // A shared index is served while this instance catches up on it (or waits for the indexer lock).
  if (log) void indexer.start(opts.pollMs ?? 500);
  else await indexer.start(opts.pollMs ?? 500);
  const handler = createHandler({
    scanCounts,
    db,
    chainId: chain.chainId,
    provider: chain.provider,
    evidenceRegistry: evidence,
    provenanceRegistry: provenance,
    status: indexer.status,
    scanWarnAfter: opts.scanWarnAfter,
    scanWindowMs: windowMs,
    trustProxy: opts.trustProxy,
    log: opts.log,
  });
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}`,
    port,
    indexer,
    chain,
    async sync() {
      await shared?.exchangeNow(report, opts.pollMs ?? 500);
      await indexer.sync();
    },
    async close() {
      await shared?.stop();
      await indexer.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      handler.flush();
      await handler.close();
      await checkpointer.stop();
      db.close();
      await log?.close();
      await store.close();
      chain.close();
    },
  };
}
export { createEpcisHandler, type EpcisServer, type EpcisServerOptions } from "./epcis/server";
export { startCoop, memberPageHtml, type CoopServer, type CoopServerOptions } from "./coop/server";
