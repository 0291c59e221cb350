// Differential test against the Rust reference: thousands of mutated
// claims, each validly signed and wrapped in a valid receipt, are decoded by
// this library and by `provlog verify` (provlog-core). Both must accept and
// reject exactly the same ones: "the same rejections" tested, not assumed.
//
// Needs the `provlog` binary (see page.test.ts for where it is looked for).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concat, toBase64, utf8 } from '../src/bytes.js';
import { array, bytes, encode, type Item, text } from '../src/cbor.js';
import { sign } from '../src/ed25519.js';
import { leafHash } from '../src/hash.js';
import { formatVkey, keyId } from '../src/note.js';
import { encodeReceipt } from '../src/receipt.js';
import { CONTENT_TYPE, decodeSignedClaim, sigStructure, verifySignedClaim } from '../src/signedclaim.js';
import { VerifyError } from '../src/errors.js';
import { REPO_DIR, specHexVector } from '../test/util.js';

const run = promisify(execFile);
const BIN = process.env.PROVLOG_BIN_DIR ?? (process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, 'debug') : join(REPO_DIR, 'target', 'debug'));

const VENDOR_SEED = new Uint8Array(32).fill(7);
const KID = formatVkey('vendor.example/imagegen', 1, ed25519.getPublicKey(VENDOR_SEED));
const LOG_SEED = new Uint8Array(32).fill(1);
const LOG_NAME = 'example.com/provlog/vectors';
const LOG_PUB = ed25519.getPublicKey(LOG_SEED);
const LOG_VKEY = formatVkey(LOG_NAME, 1, LOG_PUB);

const PROT = encode({ t: 'map', v: [[{ t: 'uint', v: 1n }, { t: 'nint', v: -8n }], [{ t: 'uint', v: 3n }, text(CONTENT_TYPE)], [{ t: 'uint', v: 4n }, bytes(utf8(KID))]] });

/** A signed claim around `payload` and protected header `prot`, validly signed over both. */
function entryFor(payload: Uint8Array, prot: Uint8Array = PROT): Uint8Array {
  const sig = sign(VENDOR_SEED, sigStructure(prot, payload));
  const env: Item = { t: 'tag', tag: 18n, v: array([bytes(prot), { t: 'map', v: [] }, bytes(payload), bytes(sig)]) };
  return encode(env);
}

/** A receipt for a one-entry log holding `entry`, its checkpoint signed by the vector log key. */
function receiptFor(entry: Uint8Array): Uint8Array {
  const body = `${LOG_NAME}\n1\n${toBase64(leafHash(entry))}\n`;
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId(LOG_NAME, 1, LOG_PUB));
  const line = `— ${LOG_NAME} ${toBase64(concat(id, sign(LOG_SEED, utf8(body))))}\n`;
  return encodeReceipt({ entry, index: 0n, proof: [], checkpoint: utf8(`${body}\n${line}`) });
}

function tsAccepts(entry: Uint8Array): boolean {
  try {
    verifySignedClaim(decodeSignedClaim(entry));
    return true;
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
}

async function rustAccepts(dir: string, n: number, receipt: Uint8Array): Promise<boolean> {
  const r = join(dir, `r${n}.provlog`);
  writeFileSync(r, receipt);
  const out = await run(join(BIN, 'provlog'), ['verify', join(dir, 'asset'), '--receipt', r, '--log-key', LOG_VKEY, '--json']).then(
    (x) => x.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  const j = JSON.parse(out) as { verified: boolean; error?: string };
  // The asset is a fixed file, so a claim that decodes ends in an asset mismatch.
  if (j.error?.startsWith('asset hash mismatch')) return true;
  if (j.error?.startsWith('signed claim invalid')) return false;
  throw new Error(`unexpected verdict from provlog verify: ${out}`);
}

test('mutated claims: this library and provlog-core accept and reject exactly the same ones', async () => {
  assert.ok(existsSync(join(BIN, 'provlog')), `provlog not found in ${BIN}`);
  const base = specHexVector('claim.md', 'full-claim');
  const payloads: Uint8Array[] = [base];
  for (let i = 0; i < base.length; i++) {
    for (const x of [0x01, 0x20, 0x80]) {
      const c = base.slice();
      c[i]! ^= x;
      payloads.push(c);
    }
    if (i % 4 === 0) payloads.push(concat(base.subarray(0, i), base.subarray(i + 1))); // a byte dropped
  }
  // Entries: mutated payloads and mutated protected headers, each validly
  // signed; then the canonical entry with each envelope byte that the
  // signature does not cover (tag, array, unprotected map, length heads)
  // flipped bit by bit.
  const entries: Uint8Array[] = payloads.map((p) => entryFor(p));
  for (let i = 0; i < PROT.length; i++) {
    for (const x of [0x01, 0x80]) {
      const c = PROT.slice();
      c[i]! ^= x;
      entries.push(entryFor(base, c));
    }
  }
  const canonical = entryFor(base);
  const protAt = 4; // d2 84 58 78
  const structural = [0, 1, 2, 3, protAt + PROT.length, protAt + PROT.length + 1, protAt + PROT.length + 2, protAt + PROT.length + 3, canonical.length - 66, canonical.length - 65];
  assert.equal(canonical[protAt + PROT.length], 0xa0);
  for (const i of structural) {
    for (let bit = 0; bit < 8; bit++) {
      const c = canonical.slice();
      c[i]! ^= 1 << bit;
      entries.push(c);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'provlog-diff-'));
  try {
    writeFileSync(join(dir, 'asset'), 'not the asset');
    const mismatches: string[] = [];
    let accepted = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const n = next++;
        if (n >= entries.length) return;
        const entry = entries[n]!;
        const ts = tsAccepts(entry);
        const rust = await rustAccepts(dir, n, receiptFor(entry));
        if (ts) accepted++;
        if (ts !== rust) mismatches.push(`entry ${n} (${Buffer.from(entry).toString('hex')}): TypeScript ${ts ? 'accepts' : 'rejects'}, Rust ${rust ? 'accepts' : 'rejects'}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.deepEqual(mismatches, []);
    // Both outcomes occur in quantity, so the comparison means something.
    assert.ok(accepted > 100 && accepted < entries.length - 500, `accepted ${accepted} of ${entries.length}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
