import { expect } from "chai";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import {
  ENCRYPTION_ALG,
  EmbeddedStore,
  ciphertextSize,
  decryptStream,
  encryptStream,
  fetchFromStore,
  generateKey,
  keepInStore,
} from "../../packages/sdk/src/store";
import { isProofmarkError } from "../../packages/sdk/src/core/errors";
import { fromHex } from "../../packages/sdk/src/core/hex";
import { collect, randomData, tempDir } from "./helpers";

async function decryptAll(cipher: Buffer, key: Uint8Array, piece = 7777): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < cipher.length; i += piece) pieces.push(cipher.subarray(i, i + piece));
  return collect(decryptStream(pieces, key));
}

async function expectDecryptFailed(p: Promise<unknown>, includes?: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isProofmarkError(e, "DECRYPT_FAILED"), String(e)).to.equal(true);
    if (includes) expect((e as Error).message).to.include(includes);
    return;
  }
  expect.fail("expected DECRYPT_FAILED");
}

const CHUNK = 1024; // small chunks so that the properties cross many chunk boundaries

describe("store: chunked AES-256-GCM encryption", function () {
  it("round-trips any size, any input chunking (property)", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 * CHUNK + 3 }),
        fc.integer({ min: 1, max: 3000 }),
        async (size, piece) => {
          const data = randomData(size);
          const parts: Buffer[] = [];
          for (let i = 0; i < size; i += piece) parts.push(data.subarray(i, i + piece));
          const { key, ciphertext } = encryptStream(parts, { chunkSize: CHUNK });
          const cipher = await collect(ciphertext);
          expect(cipher.length).to.equal(ciphertextSize(size, CHUNK));
          expect((await decryptAll(cipher, key, piece)).equals(data)).to.equal(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("uses a fresh 32-byte key and nonce each time: same plaintext, different ciphertext", async function () {
    const data = Buffer.from("same plaintext");
    const a = encryptStream([data]);
    const b = encryptStream([data]);
    expect(a.key).to.have.length(32);
    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).to.equal(false);
    const ca = await collect(a.ciphertext);
    expect(ca.includes(data)).to.equal(false);
    expect(ca.equals(await collect(b.ciphertext))).to.equal(false);
  });

  it("a wrong key fails with DECRYPT_FAILED and says so", async function () {
    const { ciphertext } = encryptStream([randomData(5000)], { chunkSize: CHUNK });
    await expectDecryptFailed(decryptAll(await collect(ciphertext), generateKey()), "key is wrong");
  });

  it("flipping any byte of the ciphertext fails authentication (property)", async function () {
    const data = randomData(4 * CHUNK + 100);
    const { key, ciphertext } = encryptStream([data], { chunkSize: CHUNK });
    const cipher = await collect(ciphertext);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: cipher.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const t = Buffer.from(cipher);
          t[at] ^= x;
          await expectDecryptFailed(decryptAll(t, key));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("detects truncation at a chunk boundary, dropped and reordered chunks", async function () {
    const data = randomData(3 * CHUNK);
    const { key, ciphertext } = encryptStream([data], { chunkSize: CHUNK });
    const c = await collect(ciphertext);
    const sealed = CHUNK + 16;
    const header = c.subarray(0, 16);
    const chunks = [0, 1, 2, 3].map((i) => c.subarray(16 + i * sealed, 16 + (i + 1) * sealed));
    expect(chunks[3]).to.have.length(16); // the empty final chunk
    await expectDecryptFailed(decryptAll(Buffer.concat([header, chunks[0], chunks[1]]), key), "chunk 1");
    await expectDecryptFailed(decryptAll(Buffer.concat([header, chunks[0], chunks[2], chunks[3]]), key));
    await expectDecryptFailed(decryptAll(Buffer.concat([header, chunks[1], chunks[0], chunks[2], chunks[3]]), key));
    await expectDecryptFailed(decryptAll(c.subarray(0, 10), key), "shorter than its header");
    await expectDecryptFailed(
      decryptAll(Buffer.from("plain text, not ciphertext at all"), key),
      "not Proofmark ciphertext",
    );
  });

  describe("with a store (stamp --store --encrypt, verify --from-store)", function () {
    let dir: string;
    let store: EmbeddedStore;
    before(function () {
      dir = tempDir("encrypt");
      store = new EmbeddedStore(dir);
    });
    after(async function () {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("keeps only ciphertext; the receipt's key brings the file back after it is deleted", async function () {
      const file = path.join(dir, "design.psd");
      const data = randomData(1_000_003);
      fs.writeFileSync(file, data);
      const kept = await keepInStore(store, file, { encrypt: true });
      expect(kept.encryption!.alg).to.equal(ENCRYPTION_ALG);
      expect(kept.encryption!.key).to.match(/^0x[0-9a-f]{64}$/);
      const stored = await collect(store.get(kept.cid));
      expect(stored.length).to.equal(ciphertextSize(data.length));
      expect(stored.includes(data.subarray(0, 64))).to.equal(false);
      // The key is nowhere in the store folder.
      const keyBytes = Buffer.from(fromHex(kept.encryption!.key));
      for (const f of fs.readdirSync(store.dir, { recursive: true }) as string[]) {
        const p = path.join(store.dir, f);
        if (fs.statSync(p).isFile()) expect(fs.readFileSync(p).includes(keyBytes)).to.equal(false);
      }
      expect((await store.list())[0]).to.include({ encrypted: true, name: "design.psd.pmenc" });
      fs.rmSync(file);
      const sha256 = createHash("sha256").update(data).digest("hex");
      const receipt = {
        subject: { name: "design.psd", size: data.length, sha256, cid: kept.cid },
        encryption: kept.encryption,
      };
      expect((await collect(fetchFromStore(store, receipt))).equals(data)).to.equal(true);
      await expectDecryptFailed(
        collect(
          fetchFromStore(store, { ...receipt, encryption: { alg: ENCRYPTION_ALG, key: `0x${"11".repeat(32)}` } }),
        ),
      );
    });

    it("a public file keeps its plain CID; a receipt that does not match the content is DIGEST_MISMATCH", async function () {
      const file = path.join(dir, "public.txt");
      fs.writeFileSync(file, "hello world");
      const kept = await keepInStore(store, file);
      expect(kept.cid).to.equal("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
      expect(kept.encryption).to.equal(undefined);
      const receipt = { subject: { name: "public.txt", size: 11, sha256: "0".repeat(64), cid: kept.cid } };
      try {
        await collect(fetchFromStore(store, receipt));
        expect.fail("expected DIGEST_MISMATCH");
      } catch (e) {
        expect(isProofmarkError(e, "DIGEST_MISMATCH"), String(e)).to.equal(true);
      }
    });
  });
});
