import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { TypedDataEncoder, Wallet } from "ethers";
import {
  CALENDAR_ACKNOWLEDGEMENT_TYPES,
  calendarAcknowledgementDigest,
  calendarAttestationFor,
  EvidenceRegistryClient,
  MerkleTree,
  evidenceRegistryInterface,
  openCalendarChains,
  openChain,
  pemCertificates,
  processProof,
  SqliteCalendarStore,
  signDigest,
  startCalendar,
  submitToCalendars,
  verifyAttestation,
  verifyProof,
  verifyTimestampEntry,
  parseAttestation,
  type CalendarChain,
  type CalendarService,
  type Hex,
} from "../../packages/sdk/src";
import { killLocalChain, makeWorkspace } from "../cli/helpers";
import { DEV_KEY_0, startGanache } from "../helpers/ganache";
import { openApiValidator } from "../helpers/openapi";
import { startTestTsa, type TestTsa } from "../helpers/tsa";
import { readHistogram } from "../../packages/sdk/src/calendar/metrics";
import { call, randomLeaf, submit, waitComplete } from "./helpers";

const check = openApiValidator(path.join(__dirname, "..", "..", "docs", "calendar.openapi.yaml"));
const fold = (leaf: Hex, p: readonly Hex[]) => processProof(leaf, p).root;

async function anchoredLogs(chain: CalendarChain, root: Hex): Promise<number> {
  const logs = await chain.context.provider.getLogs({
    address: chain.registry.address,
    fromBlock: 0,
    toBlock: "latest",
    topics: [evidenceRegistryInterface.getEvent("EvidenceAnchored")!.topicHash, root],
  });
  return logs.length;
}

describe("calendar: the stamping service on SQLite, anchoring on Anvil and ganache, time-stamped by a TSA", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("calendar");
  const calendarKey = Wallet.createRandom();
  const savedKey = process.env.PROOFMARK_PRIVATE_KEY;
  let tsa: TestTsa;
  let ganache: Awaited<ReturnType<typeof startGanache>>;
  let chains: CalendarChain[];
  let store: SqliteCalendarStore;
  let service: CalendarService;
  const logs: string[] = [];

  before(async function () {
    tsa = await startTestTsa({ name: "Calendar" });
    // the embedded chain deploys its registry on first use (with its dev admin account)
    const local = await openChain({ dataDir: ws.dataDir });
    await local.registryAddress("EvidenceRegistry");
    local.close();
    // the chain key (pays gas on both chains; dev account 0) — a different key from the calendar's
    process.env.PROOFMARK_PRIVATE_KEY = DEV_KEY_0;
    ganache = await startGanache(1337);
    const g = await openChain({ dataDir: ws.dataDir, rpc: [ganache.url] });
    await g.deploy("EvidenceRegistry");
    g.close();
    chains = await openCalendarChains(ws.dataDir, ["local", ganache.url]);
    store = new SqliteCalendarStore(path.join(ws.dataDir, "calendar", "calendar.db"));
    service = await startCalendar({
      store,
      signer: calendarKey,
      chains,
      tsa: [tsa.url],
      intervalMs: 1_000,
      maxBatch: 500,
      log: (m) => logs.push(m),
    });
  });

  after(async function () {
    await service?.close();
    await store?.close();
    for (const c of chains ?? []) c.context.close();
    await ganache?.close();
    await tsa?.close();
    killLocalChain(ws.dataDir);
    if (savedKey === undefined) delete process.env.PROOFMARK_PRIVATE_KEY;
    else process.env.PROOFMARK_PRIVATE_KEY = savedKey;
    fs.rmSync(ws.dir, { recursive: true, force: true });
    if (tsa) fs.rmSync(tsa.dir, { recursive: true, force: true });
  });

  it("the two chains are two EVM implementations: Anvil (revm, 31337) and ganache (ethereumjs, Shanghai)", async function () {
    expect(chains.map((c) => c.context.chainId)).to.deep.equal([31337, 1337]);
    const versions = await Promise.all(chains.map((c) => c.context.provider.send("web3_clientVersion", [])));
    expect(versions[0]).to.match(/anvil/i);
    expect(versions[1]).to.match(/ganache/i);
    const health = await call(`${service.url}/v1/health`);
    expect(health.status).to.equal(200);
    check("/v1/health", "get", 200, health.body);
    expect(health.body.signer).to.equal(calendarKey.address.toLowerCase());
    expect(health.body.chains.map((c: { chainId: number }) => c.chainId)).to.deep.equal([31337, 1337]);
  });

  it("acknowledges leaves at once with one calendar-signed statement per leaf, in request order", async function () {
    const leaves = [randomLeaf(), randomLeaf(), randomLeaf()];
    const r = await submit(service.url, [leaves[0], leaves[1].toUpperCase().replace("0X", "0x"), leaves[2]]);
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    check("/v1/leaves", "post", 202, r.body);
    expect(r.body.statements.map((s: { leaf: Hex }) => s.leaf)).to.deep.equal(leaves);
    for (const s of r.body.statements) {
      const v = verifyAttestation(parseAttestation(s), { foldPath: fold, expectedSigner: calendarKey.address });
      expect(v.valid, v.summary).to.equal(true);
      expect(v.summary).to.equal(`signed by ${calendarKey.address.toLowerCase()} (calendar)`);
      // the hand-encoded digest (the calendar's hot path) is ethers' generic EIP-712 encoding, also with a chainId
      expect(calendarAcknowledgementDigest(s.domain, s.message)).to.equal(
        TypedDataEncoder.hash(s.domain, CALENDAR_ACKNOWLEDGEMENT_TYPES, s.message),
      );
      const onChain = { ...s.domain, chainId: 31337 };
      const big = { ...s.message, receivedAt: Number.MAX_SAFE_INTEGER, calendar: "https://calendar.example/é" };
      expect(calendarAcknowledgementDigest(onChain, big)).to.equal(
        TypedDataEncoder.hash(onChain, CALENDAR_ACKNOWLEDGEMENT_TYPES, big),
      );
      // the native signer (libsecp256k1, the hot path) gives exactly ethers' own signature
      expect(s.signature).to.equal(
        await calendarKey.signTypedData(s.domain, CALENDAR_ACKNOWLEDGEMENT_TYPES, s.message),
      );
      // the calendar's key is not the chain key that pays for anchoring
      expect(v.signer).to.not.equal(new Wallet(DEV_KEY_0).address.toLowerCase());
    }
    // JSON other than the compact form clients write is parsed in full and accepted alike
    const spaced = randomLeaf();
    const r2 = await submit(service.url, undefined, `{ "leaves" : [ "${spaced.toUpperCase().replace("0X", "0x")}" ] }`);
    expect(r2.status, JSON.stringify(r2.body)).to.equal(202);
    expect(r2.body.statements.map((s: { leaf: Hex }) => s.leaf)).to.deep.equal([spaced]);
    const pending = await call(`${service.url}/v1/proofs/${leaves[0]}`);
    if (pending.status === 202) check("/v1/proofs/{leaf}", "get", 202, pending.body);
  });

  it("writes each 202 body byte for byte as JSON.stringify of the statements (groups of 1, 2, 5 and 13 leaves, one leaf twice)", async function () {
    for (const n of [1, 2, 5, 13]) {
      const leaves = Array.from({ length: n }, randomLeaf);
      const sent = n === 5 ? [...leaves, leaves[2]] : leaves; // a leaf twice in one request: one place in the tree
      const res = await fetch(`${service.url}/v1/leaves`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ leaves: sent }),
      });
      expect(res.status).to.equal(202);
      const text = await res.text();
      const first = JSON.parse(text).statements[0];
      const tree = MerkleTree.build(leaves); // alone in its group: the group's tree is the request's
      const ack = { message: first.message, signer: first.signer, signature: first.signature };
      const expected = JSON.stringify({
        format: "proofmark-calendar-pending",
        version: 1,
        statements: sent.map((leaf) => calendarAttestationFor(ack, tree, leaves.indexOf(leaf))),
      });
      expect(text).to.equal(expected);
      expect(res.headers.get("content-length")).to.equal(String(Buffer.byteLength(expected)));
    }
  });

  it("signs digests natively (libsecp256k1) exactly as ethers does: same r, s and v for either recovery id", function () {
    // the native binding loads here, so signDigest below is the native path, not ethers' fallback
    expect(() => require("secp256k1/bindings")).to.not.throw();
    const key = Wallet.createRandom().signingKey;
    const vs = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const digest = randomLeaf();
      const signature = signDigest(key, digest);
      expect(signature).to.equal(key.sign(digest).serialized);
      vs.add(signature.slice(-2));
    }
    expect([...vs].sort()).to.deep.equal(["1b", "1c"]);
  });

  it("404 for a leaf never submitted; 202 while pending; 200 with the completed proof: path, root, an anchor per chain, a TSA token, the acknowledgement", async function () {
    const unknown = await call(`${service.url}/v1/proofs/${randomLeaf()}`);
    expect(unknown.status).to.equal(404);
    check("/v1/proofs/{leaf}", "get", 404, unknown.body);
    expect(unknown.body.error.code).to.equal("CALENDAR_LEAF_UNKNOWN");

    const leaves = Array.from({ length: 25 }, randomLeaf);
    const t0 = Date.now();
    expect((await submit(service.url, leaves)).status).to.equal(202);
    const first = await call(`${service.url}/v1/proofs/${leaves[0]}`);
    expect([200, 202]).to.include(first.status);
    const done = await waitComplete(service.url, leaves[7]);
    const elapsed = Date.now() - t0;
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    check("/v1/proofs/{leaf}", "get", 200, done.body);
    const proof = done.body;
    expect(proof.leaf).to.equal(leaves[7]);
    expect(verifyProof(proof.leaf, proof.proof.path, proof.proof.root)).to.equal(true);
    // one anchor per chain, each matching what that chain says
    expect(proof.anchors.map((a: { chainId: number }) => a.chainId)).to.deep.equal([31337, 1337]);
    for (const [i, chain] of chains.entries()) {
      const a = proof.anchors[i];
      expect(a.registry).to.equal(chain.registry.address.toLowerCase());
      const onChain = await new EvidenceRegistryClient(a.registry, chain.context.provider).anchorOf(proof.proof.root);
      expect(onChain.blockNumber).to.equal(a.blockNumber);
      expect(onChain.anchoredAt).to.equal(a.timestamp);
      const block = await chain.context.provider.getBlock(a.blockNumber);
      expect(block!.hash).to.equal(a.blockHash);
      expect(await chain.registry.verify(proof.leaf, proof.proof.path, proof.proof.root)).to.equal(a.timestamp);
    }
    // the TSA's token over the batch root verifies offline against the test CA
    expect(proof.timestamps).to.have.length(1);
    const info = await verifyTimestampEntry(proof.timestamps[0], proof.proof.root, pemCertificates(tsa.caPem));
    expect(info.genTime).to.equal(proof.timestamps[0].genTime);
    // the acknowledgement is the one given at submission time
    const v = verifyAttestation(parseAttestation(proof.attestations[0]), {
      foldPath: fold,
      expectedSigner: calendarKey.address,
    });
    expect(v.valid, v.summary).to.equal(true);
    // submission → completed proof within the interval (1 s) plus a block, with slack for a loaded machine
    expect(elapsed).to.be.lessThan(1_000 + 4_000);
  });

  it("anchors one transaction per chain per batch, however many leaves and requests", async function () {
    const leaves = Array.from({ length: 300 }, randomLeaf);
    await Promise.all([
      submit(service.url, leaves.slice(0, 100)),
      submit(service.url, leaves.slice(100, 200)),
      submit(service.url, leaves.slice(200)),
    ]);
    const done = await Promise.all([leaves[0], leaves[150], leaves[299]].map((l) => waitComplete(service.url, l)));
    const roots = new Set(done.map((d) => d.body.proof.root as Hex));
    for (const root of roots) for (const chain of chains) expect(await anchoredLogs(chain, root)).to.equal(1);
    const txs = new Set(done.flatMap((d) => d.body.anchors.map((a: { txHash: Hex }) => a.txHash)));
    expect(txs.size).to.equal(roots.size * chains.length);
    expect(roots.size).to.be.at.most(2); // 300 leaves, max batch 500: one batch, two if the interval fell in between
  });

  it("a leaf submitted twice keeps its first acknowledgement and is anchored once", async function () {
    const leaf = randomLeaf();
    const a = await submit(service.url, [leaf, leaf]);
    expect(a.status).to.equal(202);
    expect(a.body.statements).to.have.length(2);
    const done = await waitComplete(service.url, leaf);
    const again = await submit(service.url, [leaf]);
    expect(again.status).to.equal(202);
    const later = await call(`${service.url}/v1/proofs/${leaf}`);
    expect(later.status).to.equal(200);
    expect(later.body.proof.root).to.equal(done.body.proof.root);
    expect(later.body.attestations[0].message.receivedAt).to.equal(a.body.statements[0].message.receivedAt);
  });

  it("refuses bad requests with 4xx and a JSON error code, storing nothing", async function () {
    const before = (await call(`${service.url}/v1/health`)).body.leaves;
    const cases: Array<[Promise<{ status: number; body: any }>, number]> = [
      [submit(service.url, undefined, "{not json"), 400],
      [submit(service.url, ["0x1234"]), 400],
      [submit(service.url, [`0x${"g".repeat(64)}`]), 400],
      [submit(service.url, [randomLeaf().slice(2)]), 400],
      [submit(service.url, []), 400],
      [submit(service.url, Array.from({ length: 1001 }, randomLeaf)), 400],
      [submit(service.url, undefined, JSON.stringify({ leaves: [randomLeaf()], sha256: "ab" })), 400],
      [submit(service.url, undefined, JSON.stringify([randomLeaf()])), 400],
      // the compact form's shortcut checks what it skips: the separators between leaves…
      [submit(service.url, undefined, `{"leaves":["${randomLeaf()}"."${randomLeaf()}"]}`), 400],
      // …and every leaf
      [submit(service.url, undefined, `{"leaves":["${randomLeaf()}","0x${"g".repeat(64)}"]}`), 400],
      [submit(service.url, [randomLeaf()], undefined, "text/plain"), 415],
      [submit(service.url, undefined, JSON.stringify({ leaves: Array.from({ length: 1500 }, randomLeaf) })), 413],
      [call(`${service.url}/v1/leaves`), 405],
      [call(`${service.url}/v1/proofs/0x12`), 400],
    ];
    for (const [i, [p, status]] of cases.entries()) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).to.equal(status);
      expect(r.body.error.code).to.equal("CALENDAR_REQUEST_INVALID");
      if (i === cases.length - 1) check("/v1/proofs/{leaf}", "get", status, r.body);
      else check("/v1/leaves", "post", status, r.body);
    }
    const nowhere = await call(`${service.url}/v2/anything`);
    expect(nowhere.status).to.equal(404);
    expect(nowhere.body.error.code).to.equal("CALENDAR_REQUEST_INVALID");
    expect((await call(`${service.url}/v1/health`)).body.leaves).to.equal(before);
  });

  it("a full queue answers 503 with Retry-After and stores nothing (never a silent drop)", async function () {
    const small = new SqliteCalendarStore(path.join(ws.dir, "small.db"));
    const busy = await startCalendar({
      store: small,
      signer: calendarKey,
      chains,
      intervalMs: 3_600_000,
      maxBatch: 1_000,
      maxPending: 3,
    });
    try {
      expect((await submit(busy.url, [randomLeaf(), randomLeaf()])).status).to.equal(202);
      const leaves = [randomLeaf(), randomLeaf()];
      const r = await submit(busy.url, leaves);
      expect(r.status).to.equal(503);
      check("/v1/leaves", "post", 503, r.body);
      expect(r.body.error.code).to.equal("CALENDAR_BUSY");
      expect(Number(r.headers.get("retry-after"))).to.equal(3600);
      for (const leaf of leaves) expect((await call(`${busy.url}/v1/proofs/${leaf}`)).status).to.equal(404);
      expect((await submit(busy.url, [randomLeaf()])).status).to.equal(202);
    } finally {
      await busy.close();
      await small.close();
    }
  });

  it("GET /v1/metrics counts what was acknowledged and refused, and times each acknowledgement and group commit", async function () {
    const store = new SqliteCalendarStore(path.join(ws.dir, "metrics.db"));
    const measured = await startCalendar({ store, signer: calendarKey, chains, intervalMs: 3_600_000, maxPending: 5 });
    try {
      const started = Date.now();
      const answers = await Promise.all([
        submit(measured.url, [randomLeaf(), randomLeaf()]),
        submit(measured.url, [randomLeaf()]),
        submit(measured.url, [randomLeaf()]),
      ]);
      expect(answers.map((a) => a.status)).to.deep.equal([202, 202, 202]);
      const elapsed = (Date.now() - started) / 1000;
      expect((await submit(measured.url, [randomLeaf(), randomLeaf()])).status).to.equal(503);
      const r = await fetch(`${measured.url}/v1/metrics`);
      expect(r.status).to.equal(200);
      expect(r.headers.get("content-type")).to.equal("text/plain; version=0.0.4; charset=utf-8");
      const text = await r.text();
      expect(text).to.include("proofmark_calendar_leaves_acknowledged_total 4\n");
      expect(text).to.include("proofmark_calendar_busy_answers_total 1\n");
      const acks = readHistogram(text, "proofmark_calendar_acknowledgement_seconds")!;
      expect(acks.count).to.equal(3); // one per acknowledged request
      expect(acks.buckets[acks.buckets.length - 1].count).to.equal(3);
      expect(acks.sum)
        .to.be.greaterThan(0)
        .and.at.most(3 * elapsed);
      const commits = readHistogram(text, "proofmark_calendar_store_commit_seconds")!;
      expect(commits.count).to.be.within(1, 3); // the three requests in one to three group commits
      expect(commits.sum).to.be.greaterThan(0).and.at.most(acks.sum);
      expect((await call(`${measured.url}/v1/metrics`, { method: "POST" })).status).to.equal(405);
    } finally {
      await measured.close();
      await store.close();
    }
  });

  it("an index that falls behind answers 503 CALENDAR_BUSY like a full queue, keeps what it acknowledged, and recovers; the client waits for it", async function () {
    const file = path.join(ws.dir, "behind.db");
    const behind = new SqliteCalendarStore(file, { maxUnindexed: 5 });
    const busy = await startCalendar({ store: behind, signer: calendarKey, chains, intervalMs: 1_000 });
    // another connection holds SQLite's write lock: the index writer waits, acknowledgements do not
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const blocker = new BetterSqlite3(file);
    try {
      blocker.exec("BEGIN IMMEDIATE");
      const kept = [randomLeaf(), randomLeaf(), randomLeaf()];
      expect((await submit(busy.url, kept)).status).to.equal(202);
      const refused = [randomLeaf(), randomLeaf(), randomLeaf()];
      const r = await submit(busy.url, refused);
      expect(r.status, JSON.stringify(r.body)).to.equal(503);
      check("/v1/leaves", "post", 503, r.body);
      expect(r.body.error.code).to.equal("CALENDAR_BUSY");
      expect(r.body.error.message).to.match(/index is 3 leaves behind/);
      expect(Number(r.headers.get("retry-after"))).to.equal(1);
      for (const leaf of refused) expect((await call(`${busy.url}/v1/proofs/${leaf}`)).status).to.equal(404);
      for (const leaf of kept) expect((await call(`${busy.url}/v1/proofs/${leaf}`)).status).to.equal(202);
      // a client that may not wait gives up on this calendar, naming why
      const impatient = await submitToCalendars([busy.url], refused, { busyWaitMs: 0 }).catch((e: Error) => e);
      expect(impatient).to.be.instanceOf(Error);
      expect((impatient as Error).message).to.match(/HTTP 503 CALENDAR_BUSY/);
      // the default client waits Retry-After and asks again; the index catches up once the lock goes
      const patient = submitToCalendars([busy.url], refused);
      await new Promise((done) => setTimeout(done, 300));
      blocker.exec("COMMIT");
      const submitted = await patient;
      expect(submitted.answered).to.deep.equal([busy.url]);
      expect(submitted.acknowledgements.map((a) => a.length)).to.deep.equal([1, 1, 1]);
      for (const leaf of [...kept, ...refused])
        expect((await call(`${busy.url}/v1/proofs/${leaf}`)).status).to.be.oneOf([200, 202]);
    } finally {
      if (blocker.inTransaction) blocker.exec("ROLLBACK");
      blocker.close();
      await busy.close();
      await behind.close();
    }
  });
});
