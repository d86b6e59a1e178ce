import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { Contract, JsonRpcProvider, hexlify, randomBytes } from "ethers";
import Database from "better-sqlite3";
import {
  EmbeddedStore,
  EventDocuments,
  minedReceipt,
  openChain,
  registryArtifact,
  type ChainContext,
} from "../../packages/sdk/src";
import { appliedPage, applyPage, Indexer, openDb, PostgresIndexLog } from "../../packages/portal/src";
import { CHAIN_TABLES, getMeta } from "../../packages/portal/src/db";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";
import { CLI } from "../cli/helpers";
import { seedWorld, stopChain, tempDataDir, type SeededWorld } from "./fixture";

/**
 * Portal instances sharing one index in PostgreSQL, as child processes (`proofmark serve
 * --database … --port 0`): the indexing instance is killed (SIGKILL) mid-catch-up, another takes
 * the indexer lock over from the last committed page, and the shared index equals what a fresh
 * single SQLite indexer builds from the same chain.
 */
describe("portal index in PostgreSQL (two instances + an indexer, the indexer killed)", function () {
  this.timeout(600_000);
  let pg: TestPostgres | undefined;
  let dataDir: string;
  let world: SeededWorld;
  let chain: ChainContext;
  let proxy: http.Server | undefined;
  const children: ChildProcess[] = [];
  let logs = "";
  const scanPath = (uri: string) => new URL(uri).pathname;

  before(async function () {
    pg = await startPostgresOrSkip(this);
    dataDir = tempDataDir("pgindex");
    chain = await openChain({ dataDir });
    // A long history to catch up on: evidence anchors spread over ~2,000 blocks, then the season
    // (last, so that the chain still holds the state of its blocks: the indexer reads lot storage there).
    const evidence = new Contract(
      await chain.registryAddress("EvidenceRegistry"),
      registryArtifact("EvidenceRegistry").abi as never,
      await chain.signer("coop"),
    );
    for (let i = 0; i < 30; i++) {
      await chain.provider.send("anvil_mine", ["0x40"]);
      await minedReceipt(await evidence.getFunction("anchor")(hexlify(randomBytes(32)), i + 1));
    }
    world = await seedWorld(dataDir);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    proxy?.close();
    chain?.close();
    if (dataDir) await stopChain(dataDir);
    pg?.stop();
  });

  /** Starts `proofmark serve --database … --port 0`; resolves with its URL once it listens. */
  function serve(rpc: string): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(
      process.execPath,
      [CLI, "serve", "--port", "0", "--database", pg!.url, "--rpc", rpc, "--json"],
      { env: { ...process.env, PROOFMARK_HOME: dataDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /"url"\s*:\s*"([^"]+)"/.exec(out) ?? /portal on (\S+)/.exec(out);
        if (m) resolve({ child, url: m[1] });
      });
      child.stderr!.on("data", (d) => {
        err += d;
        logs += d;
      });
      child.on("exit", (code) => reject(new Error(`serve exited (${code}): ${out}\n${err}`)));
    });
  }

  async function cursor(): Promise<number | undefined> {
    const pgm = require("pg") as typeof import("pg");
    const c = new pgm.Client({ connectionString: pg!.url });
    await c.connect();
    try {
      const r = await c.query("SELECT to_block FROM portal_index_head").catch(() => ({ rows: [] }));
      return r.rows[0] ? Number(r.rows[0].to_block) : undefined;
    } finally {
      await c.end();
    }
  }

  async function getJson(url: string): Promise<{ status: number; body: unknown; text: string }> {
    const r = await fetch(url);
    const text = await r.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: r.status, body, text };
  }

  it("another instance takes over from the last committed page; the index equals a fresh single indexer's", async () => {
    const upstream = chain.rpcUrls[0];
    // The first indexer reads the chain through a slow proxy (eth_getLogs answered one at a time,
    // each after 600 ms, and ranges over 150 blocks refused), so that its catch-up spans many pages
    // and can be cut (the indexer asks for the next ranges before it has indexed this one).
    let queue = Promise.resolve();
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const calls = Array.isArray(body) ? body : [body];
        const logs = calls.filter((c: { method: string }) => c.method === "eth_getLogs") as Array<{
          id: number;
          params: Array<{ fromBlock: string; toBlock: string }>;
        }>;
        const tooWide = logs.find((c) => Number(c.params[0].toBlock) - Number(c.params[0].fromBlock) + 1 > 150);
        if (tooWide) {
          const error = { code: -32005, message: "query exceeds max block range 150" };
          const reply = calls.map((c: { id: number }) => ({ jsonrpc: "2.0", id: c.id, error }));
          res.end(JSON.stringify(Array.isArray(body) ? reply : reply[0]));
          return;
        }
        const forward = () =>
          fetch(upstream, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          })
            .then((r) => r.text())
            .then(
              (t) => void res.end(t),
              () => void res.destroy(),
            );
        if (logs.length === 0) void forward();
        else queue = queue.then(() => new Promise((r) => setTimeout(r, 600))).then(forward);
      });
    });
    await new Promise<void>((r) => proxy!.listen(0, "127.0.0.1", () => r()));
    const slow = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const head = await chain.provider.getBlockNumber();

    const first = await serve(slow);
    // The first instance holds the lock and has committed at least one page.
    for (let i = 0; (await cursor()) === undefined; i++) {
      if (i === 599) logs += (await getJson(`${first.url}/api/health`)).text;
      expect(i, `the first instance commits a page\n${logs}`).to.be.lessThan(600);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [b, c] = await Promise.all([serve(upstream), serve(upstream)]);
    const atKill = (await cursor())!;
    expect(atKill, "killed mid-catch-up").to.be.lessThan(head);
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    // Another instance takes the lock (released with the killed session) and indexes to the head.
    for (let i = 0; ((await cursor()) ?? -1) < head; i++) {
      expect(i, "another instance finishes the catch-up").to.be.lessThan(1200);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const inst of [b, c]) {
      for (let i = 0; ; i++) {
        const h = (await getJson(`${inst.url}/api/health`)).body as { chain: { indexedTo: number } };
        if (h.chain.indexedTo >= head) break;
        expect(i, "both instances serve the whole index").to.be.lessThan(600);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // The shared index, page by page: contiguous, each range once.
    const pgm = require("pg") as typeof import("pg");
    const client = new pgm.Client({ connectionString: pg!.url });
    await client.connect();
    const scopes = (await client.query("SELECT scope FROM portal_index_log GROUP BY scope")).rows;
    expect(scopes).to.have.length(1);
    const pages = (await client.query("SELECT seq, to_block FROM portal_index_log ORDER BY seq")).rows.map(
      (r: { seq: string; to_block: string }) => ({ seq: Number(r.seq), to: Number(r.to_block) }),
    );
    await client.end();
    expect(pages.map((p) => p.seq)).to.deep.equal(pages.map((_p, i) => i + 1));
    for (let i = 1; i < pages.length; i++) expect(pages[i].to).to.be.greaterThan(pages[i - 1].to);
    expect(pages.some((p) => p.to === atKill) || atKill < pages[0].to).to.equal(true);

    // Materialise the shared index and compare it with a fresh single SQLite indexer's.
    const shared = openDb(":memory:");
    const scoped = await PostgresIndexLog.open(pg!.url, scopes[0].scope as string);
    for (const p of (await scoped.pagesAfter(0, 100_000)).pages) applyPage(shared, p.seq, p.ops);
    await scoped.close();
    const fresh = openDb(path.join(tempDataDir("pgfresh"), "index.sqlite"));
    const store = new EmbeddedStore(dataDir);
    const provenance = await chain.registryAddress("ProvenanceRegistry");
    const indexer = new Indexer({
      db: fresh,
      provider: new JsonRpcProvider(upstream, undefined, { staticNetwork: true }),
      evidenceRegistry: await chain.registryAddress("EvidenceRegistry"),
      provenanceRegistry: provenance,
      documents: new EventDocuments({ dataDir, chainId: chain.chainId, registry: provenance, store }),
      fromBlock: 0,
    });
    await indexer.sync();
    await store.close();
    const dump = (db: Database.Database, table: string) =>
      db
        .prepare(
          `SELECT * FROM ${table} ORDER BY ${(db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ cid: number }>).map((c) => c.cid + 1).join(", ")}`,
        )
        .all();
    // Lot checks are storage reads at the end of each sync, so their blocks follow where each
    // instance's syncs ended: what must agree is each lot's newest check.
    const newestChecks = (db: Database.Database) =>
      db
        .prepare(
          `SELECT lot, head, status, quantity, remaining FROM lot_checks c
           WHERE block = (SELECT MAX(block) FROM lot_checks WHERE lot = c.lot) ORDER BY lot`,
        )
        .all();
    expect(newestChecks(shared)).to.deep.equal(newestChecks(fresh));
    for (const table of [...CHAIN_TABLES.filter((t) => t !== "blocks" && t !== "lot_checks"), "documents"]) {
      const rows = dump(shared, table);
      expect(rows, table).to.deep.equal(dump(fresh, table));
    }
    expect((shared.prepare("SELECT COUNT(*) AS n FROM anchors").get() as { n: number }).n).to.be.greaterThanOrEqual(30);
    expect((shared.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n).to.be.greaterThan(0);
    shared.close();
    fresh.close();

    // Either instance serves the same lot.
    const lotB = await getJson(`${b.url}/api/lots/${world.goodLot}`);
    const lotC = await getJson(`${c.url}/api/lots/${world.goodLot}`);
    expect(lotB.status).to.equal(200);
    const strip = (x: unknown) => ({ ...(x as object), chain: undefined });
    expect(strip(lotC.body)).to.deep.equal(strip(lotB.body));
    const pageB = await fetch(`${b.url}${scanPath(world.good.manifest.serials[0].uri)}`);
    const pageC = await fetch(`${c.url}${scanPath(world.good.manifest.serials[1].uri)}`);
    expect(pageB.status).to.equal(200);
    expect(pageC.status).to.equal(200);
    const lotLine = (html: string) => new RegExp(`\\b${world.goodLot}\\b`).test(html);
    expect(lotLine(await pageB.text())).to.equal(true);
    expect(lotLine(await pageC.text())).to.equal(true);
  });

  it("compaction: the writer snapshots the shared index and drops its pages; a new instance starts from the snapshot and serves the same answers", async () => {
    const upstream = chain.rpcUrls[0];
    // Answers before compaction, from an instance that replayed the pages.
    const before = await serve(upstream);
    const head = await chain.provider.getBlockNumber();
    const caughtUp = async (url: string, block: number) => {
      for (let i = 0; ; i++) {
        const h = (await getJson(`${url}/api/health`)).body as { chain: { indexedTo: number } } | undefined;
        if (h && h.chain.indexedTo >= block) return;
        expect(i, "the instance serves the whole index").to.be.lessThan(600);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await caughtUp(before.url, head);
    const answers = async (url: string) => ({
      lot: (await getJson(`${url}/api/lots/${world.goodLot}`)).body as Record<string, unknown>,
      trace: (await getJson(`${url}/api/lots/${world.goodLot}/trace`)).body as Record<string, unknown>,
      recalled: (await getJson(`${url}/api/lots/${world.recalledLot}`)).body as Record<string, unknown>,
    });
    const expected = await answers(before.url);
    expect(expected.lot).to.not.equal(undefined);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(
      children.map((child) =>
        child.exitCode === null && child.signalCode === null
          ? new Promise((r) => child.once("exit", r))
          : Promise.resolve(),
      ),
    );

    // An indexer that compacts after every page takes the lock, indexes one more anchor and compacts.
    const pgm = require("pg") as typeof import("pg");
    const client = new pgm.Client({ connectionString: pg!.url });
    await client.connect();
    const scope = (await client.query("SELECT scope FROM portal_index_head")).rows[0].scope as string;
    const evidence = new Contract(
      await chain.registryAddress("EvidenceRegistry"),
      registryArtifact("EvidenceRegistry").abi as never,
      await chain.signer("coop"),
    );
    await minedReceipt(await evidence.getFunction("anchor")(hexlify(randomBytes(32)), 7));
    const newHead = await chain.provider.getBlockNumber();
    const log = await PostgresIndexLog.open(pg!.url, scope);
    const writerCopy = openDb(":memory:");
    const store = new EmbeddedStore(dataDir);
    const provenance = await chain.registryAddress("ProvenanceRegistry");
    const writer = new Indexer({
      db: writerCopy,
      provider: new JsonRpcProvider(upstream, undefined, { staticNetwork: true }),
      evidenceRegistry: await chain.registryAddress("EvidenceRegistry"),
      provenanceRegistry: provenance,
      documents: new EventDocuments({ dataDir, chainId: chain.chainId, registry: provenance, store }),
      log,
      snapshotEvery: 1,
    });
    let r = await writer.sync();
    for (let i = 0; !r.writer; i++) {
      expect(i, "the lock of the killed instances is released").to.be.lessThan(100);
      await new Promise((res) => setTimeout(res, 100));
      r = await writer.sync();
    }
    expect(r.indexedTo).to.equal(newHead);
    const headRow = (await client.query("SELECT seq, to_block FROM portal_index_head")).rows[0];
    const snapRow = (await client.query("SELECT seq, to_block FROM portal_index_snapshot WHERE scope = $1", [scope]))
      .rows[0];
    expect(snapRow, "a snapshot was written").to.not.equal(undefined);
    expect(Number(snapRow.seq)).to.equal(Number(headRow.seq));
    expect(Number(snapRow.to_block)).to.equal(newHead);
    const left = (await client.query("SELECT COUNT(*) AS n FROM portal_index_log WHERE scope = $1", [scope])).rows[0];
    expect(Number(left.n), "the pages the snapshot covers are deleted").to.equal(0);
    await client.end();

    // A new copy built from the snapshot alone equals the writer's copy (built from every page), table by table.
    const follower = await PostgresIndexLog.open(pg!.url, scope);
    const fromSnapshot = openDb(":memory:");
    const got = await follower.pagesAfter(0);
    expect(got.pages).to.have.length(0);
    expect(got.snapshot?.seq).to.equal(Number(headRow.seq));
    applyPage(fromSnapshot, got.snapshot!.seq, got.snapshot!.ops);
    await follower.close();
    for (const table of [...CHAIN_TABLES, "documents"]) {
      const all = (db: Database.Database) =>
        db
          .prepare(
            `SELECT * FROM ${table} ORDER BY ${(db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ cid: number }>).map((c) => c.cid + 1).join(", ")}`,
          )
          .all();
      expect(all(fromSnapshot), table).to.deep.equal(all(writerCopy));
    }
    expect(appliedPage(fromSnapshot)).to.equal(appliedPage(writerCopy));
    fromSnapshot.close();
    writerCopy.close();
    await log.close();
    await store.close();

    // A portal started after compaction serves the same answers, and the anchor indexed after them.
    const after = await serve(upstream);
    await caughtUp(after.url, newHead);
    const strip = (x: Record<string, unknown>) => ({ ...x, chain: undefined });
    const got2 = await answers(after.url);
    expect(strip(got2.lot)).to.deep.equal(strip(expected.lot));
    expect(strip(got2.trace)).to.deep.equal(strip(expected.trace));
    expect(strip(got2.recalled)).to.deep.equal(strip(expected.recalled));
  });

  it("a page whose append fails — refused, or committed with its answer lost — leaves the writer's copy equal to the shared index, nothing indexed twice", async () => {
    // The writer applies each page to its copy before appending it (each write runs once): a failed
    // append must not leave the copy a page ahead of what every other instance sees.
    const scope = `append-failure:${chain.chainId}`;
    const log = await PostgresIndexLog.open(pg!.url, scope);
    const copy = openDb(":memory:");
    const evidenceAddress = await chain.registryAddress("EvidenceRegistry");
    const writer = new Indexer({
      db: copy,
      // No cached block number: each sync sees the anchor mined just before it.
      provider: new JsonRpcProvider(chain.rpcUrls[0], undefined, { staticNetwork: true, cacheTimeout: -1 }),
      evidenceRegistry: evidenceAddress,
      provenanceRegistry: await chain.registryAddress("ProvenanceRegistry"),
      log,
    });
    const evidence = new Contract(
      evidenceAddress,
      registryArtifact("EvidenceRegistry").abi as never,
      await chain.signer("coop"),
    );
    const anchor = async () => {
      await minedReceipt(await evidence.getFunction("anchor")(hexlify(randomBytes(32)), 3));
    };
    const anchors = (db: Database.Database) =>
      (db.prepare("SELECT COUNT(*) AS n FROM anchors").get() as { n: number }).n;
    const sameAsShared = async () => {
      const reader = await PostgresIndexLog.open(pg!.url, scope);
      const shared = openDb(":memory:");
      const got = await reader.pagesAfter(0, 100_000);
      await reader.close();
      const seqs = got.pages.map((p) => p.seq);
      expect(seqs, "pages numbered 1..n, none twice").to.deep.equal(seqs.map((_s, i) => i + 1));
      for (const p of got.pages) applyPage(shared, p.seq, p.ops);
      for (const table of [...CHAIN_TABLES, "documents"]) {
        const all = (db: Database.Database) => db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all();
        expect(all(copy), table).to.deep.equal(all(shared));
      }
      expect(appliedPage(copy)).to.equal(appliedPage(shared));
      expect(writer.indexedTo).to.equal(Number(getMeta(shared, [...metaCursors(shared)][0])));
      const n = anchors(shared);
      shared.close();
      return n;
    };
    const metaCursors = (db: Database.Database) =>
      (
        db
          .prepare("SELECT key FROM meta WHERE key LIKE 'cursor:%' AND key NOT LIKE 'cursor:checked:%'")
          .all() as Array<{
          key: string;
        }>
      ).map((r) => r.key);
    expect((await writer.sync()).writer).to.equal(true);
    const base = await sameAsShared();
    const append = log.append.bind(log);
    try {
      // Refused before anything was written (a lost lock, PostgreSQL down).
      await anchor();
      log.append = () => Promise.reject(new Error("the connection to PostgreSQL was lost"));
      await writer.sync().then(
        () => expect.fail("the sync should fail with its append"),
        (e: Error) => expect(e.message).to.match(/lost/),
      );
      log.append = append;
      await writer.sync();
      expect(await sameAsShared()).to.equal(base + 1);
      // Committed, then the answer lost: the page is in the shared index once, and in the copy once.
      await anchor();
      log.append = async (...a: Parameters<typeof append>) => {
        await append(...a);
        throw new Error("the connection to PostgreSQL was lost after COMMIT");
      };
      await writer.sync().then(
        () => expect.fail("the sync should fail with its append"),
        (e: Error) => expect(e.message).to.match(/lost/),
      );
      log.append = append;
      await anchor();
      await writer.sync();
      expect(await sameAsShared()).to.equal(base + 3);
      expect(anchors(copy)).to.equal(base + 3);
      // A catch-up of several pages whose second append fails while the third page is being read
      // and reduced (each page's append runs while the next page is reduced): the sync fails, and
      // the next one leaves the copy equal to the shared index.
      for (let i = 0; i < 24; i++) await anchor();
      // Ranges of 4 blocks to start with (a short gap as sparse as the last page is read in one range).
      writer.range = 4;
      let appends = 0;
      log.append = async (...a: Parameters<typeof append>) => {
        if (++appends === 2) throw new Error("the connection to PostgreSQL was lost");
        return append(...a);
      };
      await writer.sync().then(
        () => expect.fail("the sync should fail with its append"),
        (e: Error) => expect(e.message).to.match(/lost/),
      );
      expect(appends, "the catch-up was read in several pages").to.be.greaterThan(1);
      log.append = append;
      await writer.sync();
      expect(await sameAsShared()).to.equal(base + 27);
      expect(anchors(copy)).to.equal(base + 27);
    } finally {
      log.append = append;
      copy.close();
      await log.close();
    }
  });
});
