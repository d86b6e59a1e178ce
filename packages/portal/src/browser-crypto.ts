/**
 * Hash functions for the verify page, as browser JavaScript source inlined into the page (allowed
 * by the script's hash in the page's CSP). The browser hashes the dropped file itself: SHA-256 incrementally (any
 * file size, constant memory; WebCrypto cannot stream and is missing on plain-http origins) and
 * keccak-256 for the leaf and the Merkle path (a handful of hashes, BigInt lanes are enough).
 * test/portal checks both against node:crypto / ethers.
 */
export const BROWSER_CRYPTO_JS = String.raw`
var PM = (function () {
  var K = new Int32Array([
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,
    0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,
    0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,
    0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
  function Sha256() {
    this.h = new Int32Array([0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19]);
    this.w = new Int32Array(64); this.buf = new Uint8Array(64); this.bl = 0; this.len = 0;
  }
  Sha256.prototype.block = function (b, o) {
    var w = this.w, h = this.h, i, t1, t2;
    for (i = 0; i < 16; i++) w[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
    for (i = 16; i < 64; i++) {
      var x = w[i - 15], y = w[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (i = 0; i < 64; i++) {
      t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + bb) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
  };
  Sha256.prototype.update = function (data) {
    var i = 0, n = data.length;
    this.len += n;
    if (this.bl > 0) {
      while (this.bl < 64 && i < n) this.buf[this.bl++] = data[i++];
      if (this.bl === 64) { this.block(this.buf, 0); this.bl = 0; }
    }
    for (; i + 64 <= n; i += 64) this.block(data, i);
    while (i < n) this.buf[this.bl++] = data[i++];
    return this;
  };
  Sha256.prototype.digest = function () {
    var bits = this.len * 8, pad = new Uint8Array(((this.bl < 56) ? 56 : 120) - this.bl + 8);
    pad[0] = 0x80;
    var hi = Math.floor(bits / 4294967296), lo = bits >>> 0, p = pad.length;
    pad[p - 8] = hi >>> 24; pad[p - 7] = hi >>> 16; pad[p - 6] = hi >>> 8; pad[p - 5] = hi;
    pad[p - 4] = lo >>> 24; pad[p - 3] = lo >>> 16; pad[p - 2] = lo >>> 8; pad[p - 1] = lo;
    this.len -= 0; var keep = this.len; this.update(pad); this.len = keep;
    var out = new Uint8Array(32);
    for (var i = 0; i < 8; i++) { out[4 * i] = this.h[i] >>> 24; out[4 * i + 1] = this.h[i] >>> 16; out[4 * i + 2] = this.h[i] >>> 8; out[4 * i + 3] = this.h[i]; }
    return out;
  };

  var M = (1n << 64n) - 1n;
  var RC = [0x1n,0x8082n,0x800000000000808An,0x8000000080008000n,0x808Bn,0x80000001n,0x8000000080008081n,0x8000000000008009n,0x8An,0x88n,
    0x80008009n,0x8000000An,0x8000808Bn,0x800000000000008Bn,0x8000000000008089n,0x8000000000008003n,0x8000000000008002n,0x8000000000000080n,
    0x800An,0x800000008000000An,0x8000000080008081n,0x8000000000008080n,0x80000001n,0x8000000080008008n];
  var ROT = [0,1,62,28,27,36,44,6,55,20,3,10,43,25,39,41,45,15,21,8,18,2,61,56,14];
  function rotl(v, n) { return n === 0 ? v : ((v << BigInt(n)) | (v >> BigInt(64 - n))) & M; }
  function keccakF(A) {
    var C = new Array(5), B = new Array(25), x, y;
    for (var r = 0; r < 24; r++) {
      for (x = 0; x < 5; x++) C[x] = A[x] ^ A[x + 5] ^ A[x + 10] ^ A[x + 15] ^ A[x + 20];
      for (x = 0; x < 5; x++) { var D = C[(x + 4) % 5] ^ rotl(C[(x + 1) % 5], 1); for (y = 0; y < 25; y += 5) A[x + y] ^= D; }
      for (x = 0; x < 5; x++) for (y = 0; y < 5; y++) B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(A[x + 5 * y], ROT[x + 5 * y]);
      for (x = 0; x < 5; x++) for (y = 0; y < 5; y++) A[x + 5 * y] = B[x + 5 * y] ^ ((~B[(x + 1) % 5 + 5 * y] & M) & B[(x + 2) % 5 + 5 * y]);
      A[0] ^= RC[r];
    }
  }
  function keccak256(bytes) {
    var rate = 136, q = rate - (bytes.length % rate), padded = new Uint8Array(bytes.length + q);
    padded.set(bytes); padded[bytes.length] ^= 0x01; padded[padded.length - 1] ^= 0x80;
    var A = []; for (var i = 0; i < 25; i++) A.push(0n);
    for (var off = 0; off < padded.length; off += rate) {
      for (var l = 0; l < rate / 8; l++) {
        var v = 0n; for (var k = 7; k >= 0; k--) v = (v << 8n) | BigInt(padded[off + 8 * l + k]);
        A[l] ^= v;
      }
      keccakF(A);
    }
    var out = new Uint8Array(32);
    for (var j = 0; j < 4; j++) { var w = A[j]; for (var b = 0; b < 8; b++) { out[8 * j + b] = Number(w & 0xFFn); w >>= 8n; } }
    return out;
  }
  function hex(b) { var s = "0x"; for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16); return s; }
  function unhex(h) { var s = h.slice(2), out = new Uint8Array(s.length / 2); for (var i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16); return out; }
  function concat(parts) { var n = 0, i; for (i = 0; i < parts.length; i++) n += parts[i].length; var out = new Uint8Array(n), o = 0; for (i = 0; i < parts.length; i++) { out.set(parts[i], o); o += parts[i].length; } return out; }
  function utf8(s) { return new TextEncoder().encode(s); }
  function canonicalMeta(meta) { var keys = Object.keys(meta).sort(), o = {}; for (var i = 0; i < keys.length; i++) o[keys[i]] = meta[keys[i]]; return JSON.stringify(o); }
  var LEAF_DOMAIN = keccak256(utf8("proofmark.evidence.leaf.v1"));
  function evidenceLeaf(sha256Hex, saltHex, meta) {
    var metaDigest = keccak256(utf8(canonicalMeta(meta)));
    return hex(keccak256(keccak256(concat([LEAF_DOMAIN, unhex("0x" + sha256Hex), unhex(saltHex), metaDigest]))));
  }
  function hashPair(a, b) {
    for (var i = 0; i < 32; i++) { if (a[i] !== b[i]) { return a[i] < b[i] ? keccak256(concat([a, b])) : keccak256(concat([b, a])); } }
    return keccak256(concat([a, b]));
  }
  function foldProof(leafHex, path) { var node = unhex(leafHex); for (var i = 0; i < path.length; i++) node = hashPair(node, unhex(path[i])); return hex(node); }
  return { Sha256: Sha256, keccak256: keccak256, hex: hex, unhex: unhex, evidenceLeaf: evidenceLeaf, foldProof: foldProof };
})();
`;
