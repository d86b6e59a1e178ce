import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ethers } from "ethers";
import { devAccounts, isProofmarkError, loadSigner, LOCAL_CHAIN_ID } from "../../packages/sdk/src";

describe("SDK chain: signers (named dev accounts, environment key, encrypted keystore)", function () {
  this.timeout(60_000);
  const provider = new ethers.JsonRpcProvider("http://127.0.0.1:9", undefined, { staticNetwork: true });
  after(() => provider.destroy());

  async function expectKeyError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
    try {
      await p;
    } catch (e) {
      expect(isProofmarkError(e, "KEY_UNAVAILABLE"), String(e)).to.equal(true);
      expect((e as Error).message).to.match(pattern);
      return;
    }
    expect.fail("expected KEY_UNAVAILABLE");
  }

  it("names the local dev accounts, the Anvil defaults", async function () {
    const accounts = devAccounts();
    expect(accounts.map((a) => a.name)).to.include.members([
      "admin",
      "registrar",
      "coop",
      "farmer1",
      "inspector",
      "retailer",
    ]);
    expect(accounts[0].address).to.equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    const signer = await loadSigner({ chainId: LOCAL_CHAIN_ID, provider, as: "coop", env: {} });
    expect(await signer.getAddress()).to.equal(accounts.find((a) => a.name === "coop")!.address);
  });

  it("refuses an unknown name, and named accounts on any chain but the local one", async function () {
    await expectKeyError(
      loadSigner({ chainId: LOCAL_CHAIN_ID, provider, as: "mallory", env: {} }),
      /unknown account "mallory"/,
    );
    await expectKeyError(loadSigner({ chainId: 1, provider, as: "admin", env: {} }), /exist only on the local chain/);
    await expectKeyError(loadSigner({ chainId: 1, provider, env: {} }), /set PROOFMARK_PRIVATE_KEY/);
  });

  it("takes PROOFMARK_PRIVATE_KEY, and never echoes a malformed one", async function () {
    const wallet = ethers.Wallet.createRandom();
    const signer = await loadSigner({ chainId: 1, provider, env: { PROOFMARK_PRIVATE_KEY: wallet.privateKey } });
    expect(await signer.getAddress()).to.equal(wallet.address);
    const secretish = "0xdeadbeefnotakey";
    try {
      await loadSigner({ chainId: 1, provider, env: { PROOFMARK_PRIVATE_KEY: secretish } });
      expect.fail("expected an error");
    } catch (e) {
      expect(isProofmarkError(e, "KEY_UNAVAILABLE")).to.equal(true);
      expect(JSON.stringify(e) + String((e as Error).message)).to.not.include(secretish);
    }
  });

  it("decrypts an encrypted JSON keystore with the password from the environment; a wrong password is a clear error", async function () {
    const wallet = ethers.Wallet.createRandom();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-keystore-")), "key.json");
    fs.writeFileSync(
      file,
      await ethers.encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "correct horse", {
        scrypt: { N: 1024 },
      }),
    );
    const signer = await loadSigner({
      chainId: 5,
      provider,
      env: { PROOFMARK_KEYSTORE: file, PROOFMARK_KEYSTORE_PASSWORD: "correct horse" },
    });
    expect(await signer.getAddress()).to.equal(wallet.address);
    await expectKeyError(
      loadSigner({ chainId: 5, provider, env: { PROOFMARK_KEYSTORE: file, PROOFMARK_KEYSTORE_PASSWORD: "wrong" } }),
      /wrong password/,
    );
    await expectKeyError(
      loadSigner({ chainId: 5, provider, env: { PROOFMARK_KEYSTORE: file } }),
      /PROOFMARK_KEYSTORE_PASSWORD is not/,
    );
    await expectKeyError(
      loadSigner({
        chainId: 5,
        provider,
        env: { PROOFMARK_KEYSTORE: `${file}.missing`, PROOFMARK_KEYSTORE_PASSWORD: "x" },
      }),
      /cannot read the keystore/,
    );
  });
});
