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
import { Indexer } from "./indexer";
import { importManifests } from "./queries";
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
export { PostgresScanCounts, sqliteScanCounts, type ScanCounts, type SerialScans } from "./scan-counts";
export { PortalQueries, ScanCounter, accountLabel, importManifests } from "./queries";
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
   * A PostgreSQL URL (postgres://…): scan counts are kept there, shared by every portal instance
   * on that database (default: in the SQLite index of the data folder).
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
  const db = openDb(path.join(chain.dataDir, "portal", `index-${chain.chainId}.sqlite`));
  const log = opts.log ?? ((m: string) => process.stderr.write(`portal: ${m}\n`));
  const checkpointer = startCheckpointer(db, log);
  const manifests = codesDir(chain.dataDir);
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
    fromBlock: Number.isSafeInteger(fromBlock) && fromBlock !== Number.MAX_SAFE_INTEGER ? fromBlock : 0,
    onSync: () => {
      try {
        return importManifests(db, manifests, chain.chainId, provenance).accepted > 0;
      } catch (e) {
        opts.log?.(`loading codes manifests failed: ${(e as Error).message}`);
        return false;
      }
    },
  });
  const windowMs = opts.scanWindowMs ?? 10 * 60_000;
  let scanCounts;
  if (opts.database !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(opts.database))
      throw new ProofmarkError("INVALID_ARGUMENT", "the portal's database must be a postgres:// URL", {});
    scanCounts = await PostgresScanCounts.open(opts.database, windowMs, scanBudget(windowMs));
  }
  await indexer.start(opts.pollMs ?? 500);
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
      await indexer.sync();
    },
    async close() {
      await indexer.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      handler.flush();
      await handler.close();
      await checkpointer.stop();
      db.close();
      await store.close();
      chain.close();
    },
  };
}
export { createEpcisHandler, type EpcisServer, type EpcisServerOptions } from "./epcis/server";
export { startCoop, memberPageHtml, type CoopServer, type CoopServerOptions } from "./coop/server";
