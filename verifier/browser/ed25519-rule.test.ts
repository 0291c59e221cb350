// The strict Ed25519 rule (spec/notes.md §6 step 3) against the Rust
// reference, on the cases where Ed25519 verifiers disagree: a mixed-order
// public key (valid under the cofactored equation, and under the
// cofactorless one only when 8 divides k), and a small-order R (which
// satisfies the cofactorless equation but is excluded). Each signature is a
// checkpoint signature inside a receipt that `provlog verify` checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concat, toBase64, utf8 } from '../src/bytes.js';
import { sign, verifyStrict } from '../src/ed25519.js';
import { leafHash } from '../src/hash.js';
import { formatVkey, keyId } from '../src/note.js';
import { encodeReceipt } from '../src/receipt.js';
import { REPO_DIR, vec } from '../test/util.js';

const run = promisify(execFile);
const BIN = process.env.PROVLOG_BIN_DIR ?? (process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, 'debug') : join(REPO_DIR, 'target', 'debug'));
const Point = ed25519.Point;
const L = Point.Fn.ORDER;

const le = (b: Uint8Array): bigint => {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
};
const le32 = (v: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

/** A point of order exactly 8: the torsion part ([L]P) of some curve point P. */
function order8(): ReturnType<typeof Point.fromBytes> {
  for (let i = 0; ; i++) {
    let p;
    try {
      p = Point.fromBytes(sha512(Uint8Array.of(i)).subarray(0, 32));
    } catch {
      continue; // not a point
    }
    const t = p.multiplyUnsafe(L - 1n).add(p);
    if (!t.is0() && !t.double().is0() && !t.double().double().is0()) return t;
  }
}

/** Signs with scalar `a` for public key bytes `pub` (which need not be [a]B). */
function signRaw(a: bigint, pub: Uint8Array, msg: Uint8Array, nonce: bigint): { sig: Uint8Array; k: bigint } {
  const r = nonce % L;
  const R = Point.BASE.multiply(r).toBytes();
  const k = le(sha512(concat(R, pub, msg))) % L;
  return { sig: concat(R, le32((r + k * a) % L)), k };
}

/** A one-entry receipt whose checkpoint (with an extension line `ext`) is signed by `sigFor`. */
function receipt(name: string, pub: Uint8Array, ext: string, sigFor: (body: Uint8Array) => Uint8Array): Uint8Array {
  const entry = vec('signed-claim-0.cose');
  const body = `${name}\n1\n${toBase64(leafHash(entry))}\n${ext}\n`;
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId(name, 1, pub));
  const line = `— ${name} ${toBase64(concat(id, sigFor(utf8(body))))}\n`;
  return encodeReceipt({ entry, index: 0n, proof: [], checkpoint: utf8(`${body}\n${line}`) });
}

async function rustAccepts(dir: string, n: number, r: Uint8Array, vkey: string): Promise<boolean> {
  const p = join(dir, `r${n}.provlog`);
  writeFileSync(p, r);
  const out = await run(join(BIN, 'provlog'), ['verify', join(dir, 'asset'), '--receipt', p, '--log-key', vkey, '--json']).then(
    (x) => x.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  const j = JSON.parse(out) as { error?: string };
  if (j.error?.startsWith('asset hash mismatch')) return true; // the checkpoint signature verified
  if (j.error?.startsWith('checkpoint not trusted')) return false;
  throw new Error(`unexpected verdict: ${out}`);
}

test('strict Ed25519: mixed-order keys and small-order R give the same verdicts here and in provlog-core', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'provlog-ed-'));
  try {
    writeFileSync(join(dir, 'asset'), 'not the asset');
    const { scalar: a, point: A } = ed25519.utils.getExtendedPublicKey(new Uint8Array(32).fill(21));
    const T = order8();
    const mixed = A.add(T).toBytes();
    const name = 'mixed.example';
    const vkey = formatVkey(name, 1, mixed);
    let agreeAccept = 0;
    let agreeReject = 0;
    for (let n = 0; n < 24; n++) {
      let k = 0n;
      const r = receipt(name, mixed, `x ${n}`, (body) => {
        const s = signRaw(a, mixed, body, 1000n + BigInt(n));
        k = s.k;
        return s.sig;
      });
      const body = utf8(`${name}\n1\n${toBase64(leafHash(vec('signed-claim-0.cose')))}\nx ${n}\n`);
      const sig = signRaw(a, mixed, body, 1000n + BigInt(n)).sig;
      const ts = verifyStrict(mixed, body, sig);
      // The cofactorless equation holds exactly when [k]T is the identity.
      assert.equal(ts, k % 8n === 0n, `case ${n}: k mod 8 = ${k % 8n}`);
      // noble's own verify is cofactored and accepts them all: why it is not used.
      assert.equal(ed25519.verify(sig, body, mixed, { zip215: false }), true);
      const rust = await rustAccepts(dir, n, r, vkey);
      assert.equal(rust, ts, `case ${n}: Rust ${rust}, TypeScript ${ts}`);
      if (ts) agreeAccept++;
      else agreeReject++;
    }
    assert.ok(agreeAccept > 0 && agreeReject > 0, `both outcomes occur (${agreeAccept} accepted, ${agreeReject} rejected)`);
    // R = the identity and S = k·b make [S]B − [k]A the identity, whose
    // encoding is R: the cofactorless equation holds, yet R is of small
    // order, so strict verification rejects it.
    const seed = new Uint8Array(32).fill(22);
    const { scalar: b, pointBytes: B } = ed25519.utils.getExtendedPublicKey(seed);
    const ident = Point.ZERO.toBytes();
    const name2 = 'small-r.example';
    let body2: Uint8Array = new Uint8Array(0);
    const r2 = receipt(name2, B, 'x small', (body) => {
      body2 = body;
      const k = le(sha512(concat(ident, B, body))) % L;
      return concat(ident, le32((k * b) % L));
    });
    const sig2 = concat(ident, le32(((le(sha512(concat(ident, B, body2))) % L) * b) % L));
    assert.equal(verifyStrict(B, body2, sig2), false);
    assert.equal(await rustAccepts(dir, 100, r2, formatVkey(name2, 1, B)), false);
    // And an ordinary signature by the same key verifies in both.
    const r3 = receipt(name2, B, 'x ok', (body) => sign(seed, body));
    assert.equal(await rustAccepts(dir, 101, r3, formatVkey(name2, 1, B)), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
