// ML-DSA-44 against the NIST ACVP known answers (the library provlog's
// verifier relies on), the subtree/v1 message of spec/notes.md §5.2, and
// timestamp-decreased evidence (spec/evidence.md) in both time forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { fromBase64, toHex, utf8 } from '../src/bytes.js';
import { mldsa44PublicKeyFromSeed, subtreeMessage } from '../src/mldsa.js';
import { evidenceId, parseEvidence, verifyAnyEvidence, verifyEvidence } from '../src/evidence.js';
import { rejects, REPO_DIR, vecText } from './util.js';
import { asTimestampKey, note, signatureLine, vectorKey } from './signers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

test('ML-DSA-44: NIST ACVP keyGen, deterministic and hedged sigGen, sigVer (FIPS 204 internal interface)', () => {
  const kat = JSON.parse(readFileSync(join(REPO_DIR, 'core/tests/vectors/fips204-ml-dsa-44-acvp.json'), 'utf8')) as {
    keyGen: { seed: string; pk: string; sk: string }[];
    sigGenDeterministic: { sk: string; message: string; signature: string }[];
    sigGenHedged: { sk: string; message: string; rnd: string; signature: string }[];
    sigVer: Record<string, unknown>;
  };
  for (const k of kat.keyGen) {
    assert.equal(toHex(mldsa44PublicKeyFromSeed(hex(k.seed))), k.pk.toLowerCase());
    assert.equal(toHex(ml_dsa44.keygen(hex(k.seed)).secretKey), k.sk.toLowerCase());
  }
  for (const s of kat.sigGenDeterministic) assert.equal(toHex(ml_dsa44.internal.sign(hex(s.message), hex(s.sk), { extraEntropy: false })), s.signature.toLowerCase());
  for (const s of kat.sigGenHedged) assert.equal(toHex(ml_dsa44.internal.sign(hex(s.message), hex(s.sk), { extraEntropy: hex(s.rnd) })), s.signature.toLowerCase());
  const cases: { pk: string; message: string; signature: string; testPassed: boolean }[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (typeof o.signature === 'string' && typeof o.message === 'string' && typeof o.testPassed === 'boolean') cases.push(o as never);
      else Object.values(o).forEach(walk);
    }
  };
  walk(kat.sigVer);
  const pkOf = (kat.sigVer as { pk?: string }).pk;
  assert.ok(cases.length >= 3, `sigVer cases: ${cases.length}`);
  let pass = 0;
  let failCount = 0;
  for (const c of cases) {
    const pk = hex(c.pk ?? pkOf!);
    let ok = false;
    try {
      ok = ml_dsa44.internal.verify(hex(c.signature), hex(c.message), pk);
    } catch {
      ok = false;
    }
    assert.equal(ok, c.testPassed);
    if (ok) pass++;
    else failCount++;
  }
  assert.ok(pass > 0 && failCount > 0);
});

test('subtree/v1: the 115-byte message of spec/notes.md §5.2', () => {
  const root = fromBase64('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=')!;
  const m = subtreeMessage('witness.example/w1', 1679315147n, 'example.com/behind-the-sofa', 20852163n, root);
  assert.equal(m.length, 115);
  const h = toHex(m);
  assert.ok(h.startsWith('737562747265652f76310a0012' + '7769746e6573732e6578616d706c652f7731' + '00000000641850cb' + '1b' + '6578'));
  assert.ok(h.includes('6f6661' + '0000000000000000' + '00000000013e2dc3' + '0ac5186a'));
  assert.ok(h.endsWith('68f1ab62'));
  assert.throws(() => subtreeMessage('', 1n, 'o', 1n, root));
  assert.throws(() => subtreeMessage('n'.repeat(256), 1n, 'o', 1n, root));
});

test('timestamp-decreased evidence: legacy lines (milliseconds) and timestamp cosignatures (seconds); not evidence otherwise', () => {
  const ed = vectorKey('log');
  const ts = asTimestampKey(ed);
  const tree = JSON.parse(vecText('tree.json')) as { roots: Record<string, string> };
  const b64root = (n: number) => Buffer.from(tree.roots[String(n)]!, 'hex').toString('base64');
  const origin = ed.vkey.name;
  const legacy = (n: number, ms: bigint) => {
    const text = `${origin}\n${n}\n${b64root(n)}\ntimestamp ${ms}\n`;
    return note(text, [signatureLine(ed, text)]);
  };
  const modern = (n: number, t: bigint) => {
    const text = `${origin}\n${n}\n${b64root(n)}\n`;
    return note(text, [signatureLine(ed, text), signatureLine(ts, text, t)]);
  };
  const bundle = (smaller: string, larger: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ format: 'provlog-evidence/v1', kind: 'timestamp-decreased', signer: ed.vkey.vkey, origin, smaller, larger, ...extra });
  const ok = (s: string, l: string) => verifyEvidence(parseEvidence(bundle(s, l)), ed.vkey);
  const no = (s: string, l: string, what: string, extra?: Record<string, unknown>) => rejects(() => verifyEvidence(parseEvidence(bundle(s, l, extra)), ed.vkey), what, 'evidence');
  assert.equal(ok(legacy(3, 2000n), legacy(7, 1999n)).kind, 'timestamp-decreased');
  no(legacy(3, 2000n), legacy(7, 2000n), 'equal times');
  no(legacy(3, 1000n), legacy(7, 2000n), 'increasing times');
  no(legacy(7, 2000n), legacy(3, 1000n), 'sizes in the wrong order');
  no(legacy(7, 2000n), legacy(7, 1000n), 'same size');
  no(legacy(3, 2000n), legacy(7, 1000n), 'with a proof', { proof: [Buffer.alloc(32).toString('base64')] });
  ok(modern(3, 5n), modern(7, 4n));
  no(modern(3, 5n), modern(7, 5n), 'equal seconds');
  // Mixed forms compare whole seconds: 5.999 s then 5 s is not a decrease.
  no(legacy(3, 5999n), modern(7, 5n), 'same second');
  ok(legacy(3, 6000n), modern(7, 5n));
  ok(modern(3, 6n), legacy(7, 5999n));
  const plain = (n: number) => {
    const text = `${origin}\n${n}\n${b64root(n)}\n`;
    return note(text, [signatureLine(ed, text)]);
  };
  no(plain(3), modern(7, 1n), 'no log time in one');
  rejects(() => verifyEvidence(parseEvidence(bundle(legacy(3, 2000n), legacy(7, 1999n)).replace(ed.vkey.vkey, vectorKey('witness').vkey.vkey)), vectorKey('witness').vkey), 'a witness is not accused of log times', 'evidence');
  // The bundle id ignores the times (spec/evidence.md "Bundle id").
  assert.equal(evidenceId(parseEvidence(bundle(legacy(3, 2000n), legacy(7, 1999n)))), evidenceId(parseEvidence(bundle(legacy(3, 9000n), legacy(7, 8000n)))));
  assert.equal(verifyAnyEvidence(bundle(modern(3, 5n), modern(7, 4n)), ed.vkey).format, 'provlog-evidence/v1');
  assert.ok(utf8(bundle(plain(3), plain(7))).length > 0);
});
