// The claim-signature rule (spec/signed-claim.md §1.1, ZIP-215) on the edge
// cases the Rust core is tested with (core/tests/ed25519_zip215.rs): the
// ZIP-215 small-order, mixed-order and S >= L cases. Each must get the
// answer the spec's table gives, both for the equation and as a claim
// (small-order keys are refused at the kid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isValidPublicKey, verifyZip215 } from '../src/ed25519.js';
import { REPO_DIR } from './util.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const DIR = join(REPO_DIR, 'core/tests/vectors/ed25519');

test('ZIP-215: small-order, mixed-order and S >= L cases', () => {
  const file = JSON.parse(readFileSync(join(DIR, 'zip215-cases.json'), 'utf8')) as {
    cases: { class: string; pub_key: string; message: string; signature: string; zip215: boolean; kid_accepted: boolean }[];
  };
  assert.equal(file.cases.length, 214);
  for (const c of file.cases) {
    const [pub, msg, sig] = [hex(c.pub_key), hex(c.message), hex(c.signature)];
    assert.equal(verifyZip215(pub, msg, sig), c.zip215, `${c.class}: equation`);
    assert.equal(isValidPublicKey(pub), c.kid_accepted, `${c.class}: kid`);
  }
});
