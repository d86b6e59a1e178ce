import type Database from "better-sqlite3";
import type { JsonRpcProvider } from "ethers";
import type { ChainStatus } from "../indexer";
import type { PortalQueries } from "../queries";
import type { ScanCounts } from "../scan-counts";

/** Options of the portal's request handler (server.ts). */
export interface HandlerOptions {
  db: Database.Database;
  chainId: number;
  provider: JsonRpcProvider;
  evidenceRegistry?: string;
  provenanceRegistry?: string;
  status: ChainStatus;
  /** A code scanned more than this many times (distinct client windows) shows the warning. Default 5. */
  scanWarnAfter?: number;
  /** Per-client window for scan counting, ms. Default 10 minutes. */
  scanWindowMs?: number;
  /**
   * Behind a trusted reverse proxy: the client is the address that proxy appended to
   * X-Forwarded-For (the right-most entry), not the entries the client itself sent.
   */
  trustProxy?: boolean;
  /** Where scan counts live (default: the SQLite index, `db`); PostgreSQL to share them between instances. */
  scanCounts?: ScanCounts;
  /** Where unexpected errors are reported (never to the client). */
  log?: (message: string) => void;
}

/** The chain as pages show it. */
export interface ChainView {
  reachable: boolean;
  lastSync: number;
  indexedTo: number;
  head: number;
}

/** What every route module shares: the options, the index's queries, the scan counter, the chain view. */
export interface PortalContext {
  opts: HandlerOptions;
  q: PortalQueries;
  counter: ScanCounts;
  warnAfter: number;
  log: (message: string) => void;
  chainView(): ChainView;
}

/** A request target, parsed once per distinct raw URL (kept in a bounded cache by the handler). */
export interface Target {
  pathname: string;
  /** `?lang=` when present. */
  lang: string | null;
  /** Scan pages: what routes/scan.ts keeps per URL (the parsed link, page templates, the page last sent). */
  scan?: unknown;
}
