// The SDK in 20 lines: stamp and verify files, record and trace a lot (README "The SDK from a program").
import { evidenceVerifier, GiSession, hashFile, openChain, parseReceipt, stampFiles } from "@proofmark/sdk";
import * as fs from "node:fs";

export async function quickstart(dataDir: string, files: string[]): Promise<{ verdicts: string[]; lot: number; status: string }> {
  // Evidence: one root, one transaction; a receipt beside each file. Then verify each file against the chain.
  const chain = await openChain({ dataDir }); // the embedded local chain, started and deployed on first use
  const stamped = await stampFiles({ chain, inputs: files, meta: { author: "Li Wei" } });
  const verifier = evidenceVerifier({ dataDir });
  const verdicts = [];
  for (const f of stamped.files) {
    const receipt = parseReceipt(fs.readFileSync(f.receiptPath, "utf8"));
    verdicts.push((await verifier.verify(receipt, { path: f.file, ...(await hashFile(f.file)) })).status);
  }
  // GI provenance: each party acts with its own key (dev accounts by name on the local chain).
  const as = async (name: string) => GiSession.open(await openChain({ dataDir, as: name }));
  const { product } = await (await as("registrar")).createProduct({ name: "砀山酥梨", giNumber: "AGI00001", region: "安徽省砀山县", unit: "g", admin: "coop" });
  const coop = await as("coop");
  await coop.grantRole(product, "producer", "farmer1");
  await coop.grantLicence(product, "farmer1", 50_000_000n, 2026); // grams
  const { lot } = await (await as("farmer1")).harvest({ product, quantity: 1_200_000n, plot: "DS-07", date: "2026-09-01" });
  const trace = await coop.trace(lot); // hash chains, documents and mass balance checked against the chain
  return { verdicts, lot, status: trace.status };
}
