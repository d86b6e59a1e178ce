import { GiSession, devAccounts, openChain, parseQuantity } from "../../packages/sdk/src";

/** A member of the test product: its account, its role and, for a producer, its 2026 licence. */
export interface TestMember {
  account: string;
  role: Parameters<GiSession["grantRole"]>[1];
  /** A producer's licensed harvest for 2026, e.g. "100kg". */
  licence?: string;
}

/**
 * Creates product 1, 砀山酥梨 (grams), on the data folder's embedded chain with the dev account
 * "admin" as its admin, then grants each member its role (and licence). The set-up every co-op
 * relay test and the coop bench start from.
 */
export async function setUpPearProduct(dataDir: string, members: TestMember[]): Promise<void> {
  const registrar = await GiSession.open(await openChain({ dataDir, as: "registrar" }));
  await registrar.createProduct({
    name: "砀山酥梨",
    nameEn: "Dangshan Su Pear",
    giNumber: "AGI00001",
    region: "安徽省砀山县",
    unit: "g",
    admin: devAccounts().find((a) => a.name === "admin")!.address,
  });
  await registrar.close();
  const admin = await GiSession.open(await openChain({ dataDir, as: "admin" }));
  for (const m of members) {
    await admin.grantRole(1, m.role, m.account);
    if (m.licence !== undefined) await admin.grantLicence(1, m.account, parseQuantity(m.licence, "g"), 2026);
  }
  await admin.close();
}
