// spec/vectors/scitt: statements (Ed25519 and ML-DSA-44, the statement form
// of spec/signed-claim.md §7), RFC 9942 COSE receipts, a transparent
// statement and the COSE_KeySet (spec/scitt.md). Tampered copies rejected.
import assert from 'node:assert/strict';
import { vectorTest } from './coverage.js';
import { byteFlips, rejects, vec, vecText } from './util.js';
import { bytesEqual, toHex, utf8 } from '../src/bytes.js';
import { encode, type Item } from '../src/cbor.js';
import { VerifyError } from '../src/errors.js';
import { leafHash } from '../src/hash.js';
import { TYPE_ED25519, TYPE_MLDSA44 } from '../src/keytypes.js';
import { treeHash } from '../src/merkle.js';
import { mldsa44Sign } from '../src/mldsa.js';
import { formatVkey, parseVkey } from '../src/note.js';
import {
  coseKeyThumbprint,
  decodeCoseKeySet,
  decodeCoseReceipt,
  decodeTransparentStatement,
  encodeCoseKeySet,
  encodeCoseReceipt,
  keysFromCoseKeySet,
  makeTransparentStatement,
  verifyCoseReceipt,
  verifyTransparentStatement,
} from '../src/scitt.js';
import { assetSubject, buildSignedClaim, CONTENT_TYPE, decodeSignedClaim, openSignedClaim, sigStructure } from '../src/signedclaim.js';
import { sign } from '../src/ed25519.js';
import { makeKey, vectorKey } from './signers.js';

const vk = (n: string) => parseVkey(vecText(`keys/${n}.vkey`).trim());
const logKeys = () => [vk('log'), vk('log-mldsa')];
const u = (v: number | bigint): Item => ({ t: 'uint', v: BigInt(v) });
const ST = ['scitt/statement-0.cose', 'scitt/statement-1.mldsa.cose', 'scitt/statement-2.cose'];

/** Every flip of the first `full` bytes and of the last `tail`, and every `step`-th in between (ML-DSA-44 objects are large). */
function* sampledFlips(b: Uint8Array, full: number, step: number, tail = 0): Generator<{ at: number; bytes: Uint8Array }> {
  for (const f of byteFlips(b)) if (f.at < full || f.at >= b.length - tail || f.at % step === 0) yield f;
}

vectorTest(ST, 'statements: the CWT claims header (iss = key name, sub = ni URI of the asset), Ed25519 and ML-DSA-44; tampered copies rejected', () => {
  for (const [i, f] of ST.entries()) {
    const b = vec(f);
    const sc = openSignedClaim(b);
    assert.equal(sc.alg, i === 1 ? -48n : -8n);
    assert.equal(sc.kid.vkey, vk(i === 1 ? 'vendor-mldsa' : 'vendor').vkey);
    assert.equal(sc.statement?.iss, sc.kid.name);
    assert.equal(sc.statement?.sub, assetSubject(sc.claim.asset.sha256));
    assert.equal(b.length, i === 1 ? 4574 : 500);
  }
  // The header bytes of spec/signed-claim.md §7.3.
  const h = toHex(decodeSignedClaim(vec(ST[0]!)).protectedHeader);
  assert.ok(h.startsWith('a401270378226170706c69636174696f6e2f766e642e70726f766c6f672e636c61696d2b63626f72045844'));
  assert.ok(h.endsWith('0fa2016e' + toHex(utf8('vendor.example')) + '027839' + toHex(utf8('ni:///sha-256;rPL_Z8U0rgSXvIQSmr4Oy3aJGIQf39t30If1QQsD6ZY'))));
  for (const { at, bytes } of byteFlips(vec(ST[0]!))) rejects(() => openSignedClaim(bytes), `statement-0 flip at ${at}`);
  for (const { at, bytes } of sampledFlips(vec(ST[1]!), 2000, 11, 2440)) rejects(() => openSignedClaim(bytes), `statement-1 flip at ${at}`);
  for (const f of ST) {
    const b = vec(f);
    rejects(() => openSignedClaim(b.subarray(0, b.length - 1)), `${f} truncated`, 'cbor');
    rejects(() => openSignedClaim(Uint8Array.of(...b, 0)), `${f} trailing byte`, 'cbor');
  }
  // Crafted with the vector vendor keys: each rule of §7.1.
  const ed = vectorKey('vendor');
  const pq = vectorKey('vendor-mldsa');
  const claim = decodeSignedClaim(vec(ST[0]!)).payload;
  const asset = decodeSignedClaim(vec(ST[0]!)).claim.asset.sha256;
  const edSign = (m: Uint8Array) => sign(ed.seed, m);
  const pqSign = (m: Uint8Array) => mldsa44Sign(pq.seed, m);
  const st = { iss: ed.vkey.name, sub: assetSubject(asset) };
  assert.deepEqual(buildSignedClaim(claim, -8n, ed.vkey, edSign, st), vec(ST[0]!), 'statement-0 rebuilt byte for byte');
  openSignedClaim(buildSignedClaim(claim, -8n, ed.vkey, edSign)); // the original form, same claim
  openSignedClaim(buildSignedClaim(claim, -48n, pq.vkey, pqSign)); // the original form with ML-DSA-44
  rejects(() => openSignedClaim(buildSignedClaim(claim, -8n, ed.vkey, edSign, { ...st, iss: 'other.example' })), 'iss is not the key name', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -8n, ed.vkey, edSign, { ...st, sub: assetSubject(new Uint8Array(32)) })), 'sub is another asset', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -8n, ed.vkey, edSign, { ...st, sub: st.sub + '=' })), 'padded base64url', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -48n, ed.vkey, edSign, st)), 'ML-DSA-44 alg, Ed25519 kid', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -8n, pq.vkey, pqSign, { ...st, iss: pq.vkey.name })), 'EdDSA alg, ML-DSA-44 kid', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -7n, ed.vkey, edSign, st)), 'ES256', 'signed-claim');
  rejects(() => openSignedClaim(buildSignedClaim(claim, -48n, pq.vkey, edSign, { ...st, iss: pq.vkey.name })), 'a 64-byte signature under ML-DSA-44', 'signed-claim');
  const bad = buildSignedClaim(claim, -48n, pq.vkey, (m) => pqSign(Uint8Array.of(...m, 0)), { ...st, iss: pq.vkey.name });
  rejects(() => openSignedClaim(bad), 'ML-DSA-44 signature over another message', 'claim-signature');
  // An Ed25519 kid over 512 bytes (a long name) is refused; ML-DSA-44 kids may be up to 2,048 bytes.
  const longEd = makeKey('v'.repeat(500) + '.example', TYPE_ED25519, ed.seed);
  rejects(() => openSignedClaim(buildSignedClaim(claim, -8n, longEd.vkey, (m) => sign(ed.seed, m))), 'Ed25519 kid over 512 bytes', 'signed-claim');
  const longPq = makeKey('v'.repeat(250) + '.exam', TYPE_MLDSA44, pq.seed);
  assert.ok(utf8(longPq.vkey.vkey).length > 2000);
  openSignedClaim(buildSignedClaim(claim, -48n, longPq.vkey, pqSign));
  // CWT claims with anything but iss and sub, or non-text values, are
  // rejected while decoding (before any signature is checked).
  const withCwt = (cwt: Item): Uint8Array => {
    const prot = encode({ t: 'map', v: [[u(1), { t: 'nint', v: -8n }], [u(3), { t: 'text', v: CONTENT_TYPE }], [u(4), { t: 'bytes', v: utf8(ed.vkey.vkey) }], [u(15), cwt]] });
    return encode({ t: 'tag', tag: 18n, v: { t: 'array', v: [{ t: 'bytes', v: prot }, { t: 'map', v: [] }, { t: 'bytes', v: claim }, { t: 'bytes', v: new Uint8Array(64) }] } });
  };
  const iss: [Item, Item] = [u(1), { t: 'text', v: st.iss }];
  const sub: [Item, Item] = [u(2), { t: 'text', v: st.sub }];
  decodeSignedClaim(withCwt({ t: 'map', v: [iss, sub] }));
  rejects(() => decodeSignedClaim(withCwt({ t: 'map', v: [iss, sub, [u(6), u(1)]] })), 'CWT claim iat in a statement', 'signed-claim');
  rejects(() => decodeSignedClaim(withCwt({ t: 'map', v: [iss] })), 'no sub', 'signed-claim');
  rejects(() => decodeSignedClaim(withCwt({ t: 'map', v: [sub] })), 'no iss', 'signed-claim');
  rejects(() => decodeSignedClaim(withCwt({ t: 'map', v: [iss, [u(2), { t: 'bytes', v: utf8(st.sub) }]] })), 'sub as bytes', 'signed-claim');
  rejects(() => decodeSignedClaim(withCwt({ t: 'array', v: [] })), 'CWT claims not a map', 'signed-claim');
});

vectorTest(['scitt/scitt-keys.cbor'], 'the COSE_KeySet of the two log keys (OKP Ed25519, AKP ML-DSA-44, kid = RFC 9679 thumbprint); tampered copies rejected', () => {
  const b = vec('scitt/scitt-keys.cbor');
  const ks = decodeCoseKeySet(b);
  assert.deepEqual(ks.map((k) => k.type), [TYPE_ED25519, TYPE_MLDSA44]);
  const keys = keysFromCoseKeySet(b, vk('log').name);
  assert.deepEqual(keys.map((k) => k.vkey), logKeys().map((k) => k.vkey));
  assert.deepEqual(encodeCoseKeySet([vk('log-mldsa'), vk('log')]), b, 'Ed25519 first');
  for (const [i, k] of logKeys().entries()) assert.deepEqual(ks[i]!.kid, coseKeyThumbprint(k));
  // draft-ietf-cose-dilithium's example key (seed of zeros) has the thumbprint spec/scitt.md §3 quotes.
  const z = makeKey('x', TYPE_MLDSA44, new Uint8Array(32));
  const tp = toHex(coseKeyThumbprint(z.vkey));
  assert.ok(tp.startsWith('b8969ab4') && tp.endsWith('d3a8059a'), tp);
  for (const { at, bytes } of sampledFlips(b, 200, 5, 30)) rejects(() => decodeCoseKeySet(bytes), `flip at ${at}`);
  rejects(() => decodeCoseKeySet(b.subarray(0, b.length - 1)), 'truncated');
  rejects(() => decodeCoseKeySet(Uint8Array.of(0x80)), 'empty key set', 'scitt');
});

vectorTest(['scitt/receipt-1.cose', 'scitt/receipt-1.mldsa.cose'], 'COSE receipts for statement 1 in the 3-statement tree, by each log key; tampered copies and wrong inputs rejected', () => {
  const entry = vec(ST[1]!);
  const leaves = ST.map((f) => leafHash(vec(f)));
  const root = treeHash(leaves);
  for (const [f, alg, len] of [['scitt/receipt-1.cose', -8n, 264], ['scitt/receipt-1.mldsa.cose', -48n, 2622]] as const) {
    const b = vec(f);
    assert.equal(b.length, len);
    const r = decodeCoseReceipt(b);
    assert.equal(r.alg, alg);
    assert.equal(r.iss, vk('log').name);
    assert.equal(r.sub, `${vk('log').name}/3`);
    assert.equal(r.iat, 1790000002n);
    assert.deepEqual([r.treeSize, r.leafIndex, r.path.length], [3n, 1n, 2]);
    assert.deepEqual(encodeCoseReceipt(r), b);
    const v = verifyCoseReceipt(r, entry, logKeys());
    assert.deepEqual(v.root, root, 'the detached payload is the RFC 9162 root of the three statements');
    assert.equal(v.key.type, alg === -8n ? TYPE_ED25519 : TYPE_MLDSA44);
    // Wrong entry, wrong keys, swapped keys.
    rejects(() => verifyCoseReceipt(r, vec(ST[0]!), logKeys()), `${f} for statement 0`, 'scitt');
    rejects(() => verifyCoseReceipt(r, entry, [alg === -8n ? vk('log-mldsa') : vk('log')]), `${f} without its key`, 'scitt');
    rejects(() => verifyCoseReceipt(r, entry, [vk('vendor'), vk('vendor-mldsa')]), `${f} under vendor keys`, 'scitt');
    const renamed = logKeys().map((k) => parseVkey(formatVkey('other.example', k.type, k.publicKey)));
    rejects(() => verifyCoseReceipt(r, entry, renamed), `${f} iss is not the key name`, 'scitt');
    // Every field changed (re-encoded canonically, so only verification can catch it).
    const bad = (x: Partial<typeof r>, what: string, check?: string): void => {
      const t = decodeCoseReceipt(encodeCoseReceipt({ ...r, ...x }));
      rejects(() => verifyCoseReceipt(t, entry, logKeys()), `${f} ${what}`, check);
    };
    bad({ leafIndex: 0n }, 'index 0');
    bad({ leafIndex: 2n }, 'index 2', 'inclusion');
    bad({ treeSize: 4n, sub: `${r.iss}/4` }, 'size 4');
    bad({ treeSize: 5n, sub: `${r.iss}/5` }, 'size 5: another path length', 'inclusion');
    bad({ sub: `${r.iss}/4` }, 'sub of another size', 'scitt');
    bad({ path: r.path.slice(1) }, 'short path', 'inclusion');
    bad({ path: [...r.path].reverse() }, 'reordered path', 'scitt');
    bad({ iat: 1790000003n }, 'another iat', 'scitt');
    const { iat: _iat, ...noIat } = r;
    rejects(() => verifyCoseReceipt(decodeCoseReceipt(encodeCoseReceipt(noIat)), entry, logKeys()), `${f} iat left out`, 'scitt');
    rejects(() => decodeCoseReceipt(encodeCoseReceipt({ ...r, leafIndex: 3n })), `${f} index = size`, 'scitt');
    rejects(() => decodeCoseReceipt(encodeCoseReceipt({ ...r, signature: r.signature.subarray(1) })), `${f} short signature`, 'scitt');
    rejects(() => decodeCoseReceipt(encodeCoseReceipt({ ...r, path: Array.from({ length: 65 }, () => new Uint8Array(32)) })), `${f} 65 hashes`, 'scitt');
    rejects(() => decodeCoseReceipt(b.subarray(0, b.length - 1)), `${f} truncated`);
    for (const { at, bytes } of alg === -8n ? byteFlips(b) : sampledFlips(b, 300, 9)) {
      try {
        verifyCoseReceipt(decodeCoseReceipt(bytes), entry, logKeys());
        assert.fail(`${f} flip at ${at} accepted`);
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
      }
    }
  }
  // The beginning quoted in spec/scitt.md §5.
  const h = toHex(vec('scitt/receipt-1.cose'));
  assert.ok(h.startsWith('d2845870a401270458' + '20dd2fb4e1'), h.slice(0, 40));
  assert.ok(h.includes('0fa301781b' + toHex(utf8('example.com/provlog/vectors')) + '02781d' + toHex(utf8('example.com/provlog/vectors/3')) + '061a6ab13b8219018b01'));
  assert.ok(h.includes('a119018ca120815848830301825820'));
});

vectorTest(['scitt/transparent-statement-1.cose'], 'statement 1 with both receipts: verifies; receipts by unknown keys ignored, a bad one by a known key rejects it all', () => {
  const b = vec('scitt/transparent-statement-1.cose');
  const ts = decodeTransparentStatement(b);
  assert.deepEqual(ts.statement, vec(ST[1]!), 'the leaf is over the statement with an empty unprotected header');
  assert.deepEqual(ts.receipts.map((r) => r.bytes), [vec('scitt/receipt-1.cose'), vec('scitt/receipt-1.mldsa.cose')]);
  assert.deepEqual(makeTransparentStatement(vec(ST[1]!), ts.receipts.map((r) => r.bytes)), b);
  const v = verifyTransparentStatement(ts, logKeys());
  assert.equal(v.receipts.length, 2);
  assert.deepEqual(v.leafHash, leafHash(vec(ST[1]!)));
  const onlyEd = verifyTransparentStatement(ts, [vk('log')]);
  assert.deepEqual([onlyEd.receipts.length, onlyEd.ignored], [1, 1]);
  rejects(() => verifyTransparentStatement(ts, [vk('vendor')]), 'no trusted receipt', 'scitt');
  verifyTransparentStatement(ts, logKeys(), { sha256: ts.signedClaim.claim.asset.sha256 });
  rejects(() => verifyTransparentStatement(ts, logKeys(), { bytes: utf8('another file') }), 'another asset', 'asset-hash');
  // A receipt for another entry, attached to this statement, rejects it (by a known key).
  const otherStatementReceipt = encodeCoseReceipt({ ...ts.receipts[0]!, leafIndex: 0n });
  const tampered = decodeTransparentStatement(makeTransparentStatement(vec(ST[1]!), [otherStatementReceipt, ts.receipts[1]!.bytes]));
  rejects(() => verifyTransparentStatement(tampered, logKeys()), 'one bad receipt by a known key', 'scitt');
  verifyTransparentStatement(tampered, [vk('log-mldsa')]); // the bad one is by a key not trusted here: ignored
  // Counts: 1 to 8 receipts; the statement's own rules still apply.
  rejects(() => decodeTransparentStatement(makeTransparentStatement(vec(ST[1]!), [])), 'no receipt', 'scitt');
  const nine = Array.from({ length: 9 }, () => ts.receipts[0]!.bytes);
  rejects(() => decodeTransparentStatement(makeTransparentStatement(vec(ST[0]!), nine)), 'nine receipts', 'scitt');
  decodeTransparentStatement(makeTransparentStatement(vec(ST[0]!), nine.slice(1)));
  rejects(() => decodeTransparentStatement(vec(ST[1]!)), 'a bare statement', 'scitt');
  // A flip either rejects the statement, or turns one receipt's kid or iss
  // into an unknown key's, which is then ignored (the other still verifies).
  for (const { at, bytes } of sampledFlips(b, 2100, 17, 300)) {
    let ok;
    try {
      ok = verifyTransparentStatement(decodeTransparentStatement(bytes), logKeys());
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      continue;
    }
    assert.equal(ok.ignored, 1, `flip at ${at} accepted with both receipts trusted`);
  }
  rejects(() => decodeTransparentStatement(b.subarray(0, b.length - 1)), 'truncated');
  assert.ok(bytesEqual(encode({ t: 'map', v: [] }), Uint8Array.of(0xa0)));
  assert.ok(sigStructure(new Uint8Array(0), new Uint8Array(0)).length > 0);
});
