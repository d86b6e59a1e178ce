// Co-op relay benchmark: members' harvests relayed over HTTP (sign the prepare → prepare → sign EIP-712 → submit, the
// relay checking and paying) vs the same harvests sent directly by a farmer's own key, on the
// embedded chain, one run. A benchmark, not a test: it reports, it does not fail.
import { Wallet } from "ethers";
import {
  GiSession,
  openChain,
  signForwardRequest,
  signPrepareRequest,
  type RelayPrepared,
} from "../../packages/sdk/src";
import { startCoop } from "../../packages/portal/src";
import { setUpPearProduct } from "../../test/coop/fixture";
import { stopChain, tempDataDir } from "../../test/portal/fixture";
import type { BenchRow } from "./types";

const MEMBERS = 5;
const PER_MEMBER = 4;

export async function run(): Promise<BenchRow[]> {
  const dataDir = tempDataDir("bench-coop");
  const coop = await startCoop({ dataDir, port: 0, burst: 1000, perSecond: 1000 });
  const members = Array.from({ length: MEMBERS }, () => new Wallet(Wallet.createRandom().privateKey));
  try {
    await setUpPearProduct(
      dataDir,
      [...members.map((w) => w.address), "farmer1"].map((account) => ({
        account,
        role: "producer",
        licence: "100000kg",
      })),
    );
    const post = async (p: string, body: unknown) => {
      const r = await fetch(`${coop.url}${p}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = await r.json();
      if (!r.ok) throw new Error(JSON.stringify(json));
      return json;
    };
    let relayedGas = 0n;
    let stale = 0;
    const t0 = performance.now();
    // Members take turns (concurrent harvests contend for the next lot id: RELAY_REQUEST_STALE).
    await members.reduce(
      (done, w) =>
        done.then(async () => {
          for (let i = 0; i < PER_MEMBER; i++) {
            for (let attempt = 0; ; attempt++) {
              const p = (await post(
                "/api/coop/prepare",
                await signPrepareRequest(w, coop.relay.prepareDomain, {
                  step: "harvest",
                  product: 1,
                  quantity: "10kg",
                  plot: "DS-07",
                  date: "2026-09-01",
                }),
              )) as RelayPrepared;
              try {
                const r = await post("/api/coop/submit", await signForwardRequest(w, p.domain, p.request));
                relayedGas += BigInt(r.gasUsed);
                break;
              } catch (e) {
                if (attempt > 1000 || !/RELAY_REQUEST_STALE/.test(String(e))) throw e;
                stale++;
              }
            }
          }
        }),
      Promise.resolve(),
    );
    const relayedS = (performance.now() - t0) / 1000;
    const n = MEMBERS * PER_MEMBER;
    // Peer: the same harvests by a farmer's own key through the SDK (what the CLI does).
    const farmer = await GiSession.open(await openChain({ dataDir, as: "farmer1" }));
    let directGas = 0n;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = await farmer.harvest({ product: 1, quantity: 10_000n, plot: "DS-07", date: "2026-09-01" });
      directGas += r.gasUsed;
    }
    const directS = (performance.now() - t1) / 1000;
    await farmer.close();
    return [
      {
        section: "coop relay",
        name: `${n} harvests from ${MEMBERS} members, relayed over HTTP (harvests/s)`,
        value: Math.round((n / relayedS) * 10) / 10,
        unit: "/s",
        peer: {
          name: "same harvests sent directly with the farmer's key (GiSession)",
          value: Math.round((n / directS) * 10) / 10,
        },
        note: `loaded machine; signed prepare + EIP-712 signing + checks + forwarder execute; ${stale} harvests re-prepared (another lot landed first: RELAY_REQUEST_STALE)`,
      },
      {
        section: "coop relay",
        name: "gas per relayed harvest (forwarder execute)",
        value: Number(relayedGas / BigInt(n)),
        unit: "gas",
        peer: { name: "direct harvest", value: Number(directGas / BigInt(n)) },
      },
    ];
  } finally {
    await coop.close();
    await stopChain(dataDir);
  }
}
