// Every file in spec/vectors/, verified, and tampered copies rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allVectorFiles, byteFlips, rejects, vec, vecText } from './util.js';
import { fromHex, toHex, toBase64, utf8 } from '../src/bytes.js';
import { leafHash, type Hash } from '../src/hash.js';
import { consistencyPath, inclusionPath, treeHash, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { parseNote, parseSkey, parseVkey } from '../src/note.js';
import { verifyCheckpoint } from '../src/checkpoint.js';
import { formatPolicy, parsePolicy, singleLogPolicy, verifyCheckpointWithPolicy } from '../src/policy.js';
import { claimToJson, decodeClaim, encodeClaim } from '../src/claim.js';
import { openSignedClaim } from '../src/signedclaim.js';
import { decodeReceipt, encodeReceipt, formatTlogProof, parseAnyReceipt, parseTlogProof, ReceiptStepError, verifyReceipt } from '../src/receipt.js';
import { evidenceId, parseEvidence, verifyEvidence } from '../src/evidence.js';
import { checkBundleAgainstTile, decodeEntryBundle, parseHashTile, parseTilePath, TileReader, tilePath } from '../src/tiles.js';
import { VerifyError } from '../src/errors.js';

const logKey = () => parseVkey(vecText('keys/log.vkey').trim());
const policy = () => parsePolicy(vec('policy.txt'));
// The 2026 formats (ML-DSA-44, the log's timestamp cosignature, SCITT) and
// the verifiable index register their vector tests from these modules.
import { covered, vectorTest } from './coverage.js';
import './vectors-pq.js';
import './vectors-scitt.js';
import './vectors-index.js';

vectorTest(['keys/log.vkey', 'keys/log.skey', 'keys/vendor.vkey', 'keys/vendor.skey', 'keys/witness.vkey', 'keys/witness.skey'], 'keys parse, round-trip, and each skey derives its vkey', () => {
  for (const k of ['log', 'vendor', 'witness']) {
    const vtext = vecText(`keys/${k}.vkey`);
    assert.ok(vtext.endsWith('\n') && !vtext.slice(0, -1).includes('\n'), `${k}.vkey is one line`);
    const vk = parseVkey(vtext.trim());
    assert.equal(vk.vkey, vtext.trim());
    const sk = parseSkey(vecText(`keys/${k}.skey`).trim());
    assert.equal(sk.vkey.vkey, vk.vkey);
    assert.equal(vk.type, k === 'witness' ? 0x04 : 0x01);
    // Spec: the vector seeds are 32 bytes of 0x01, 0x02, 0x03.
    assert.deepEqual([...new Set(sk.seed)], [{ log: 1, vendor: 2, witness: 3 }[k]]);
  }
});

vectorTest(['tree.json'], 'leaf hashes, every root, every inclusion and consistency proof; tampered proofs rejected', () => {
  const tree = JSON.parse(vecText('tree.json')) as {
    entries: string[];
    leaf_hashes: string[];
    roots: Record<string, string>;
    inclusion: { index: number; size: number; proof: string[] }[];
    consistency: { old: number; new: number; proof: string[] }[];
  };
  const leaves = tree.entries.map((e) => leafHash(fromHex(e)!));
  assert.deepEqual(leaves.map(toHex), tree.leaf_hashes);
  for (let n = 0; n <= leaves.length; n++) assert.equal(toHex(treeHash(leaves.slice(0, n))), tree.roots[String(n)], `root ${n}`);
  // Every entry in the tree is a valid signed claim.
  for (const e of tree.entries) openSignedClaim(fromHex(e)!);
  const root = (n: number): Hash => fromHex(tree.roots[String(n)]!)!;
  assert.equal(tree.inclusion.length, 28); // every (index, size) with index < size <= 7
  for (const p of tree.inclusion) {
    const proof = p.proof.map((h) => fromHex(h)!);
    const [i, n] = [BigInt(p.index), BigInt(p.size)];
    verifyInclusion(leaves[p.index]!, i, n, proof, root(p.size));
    assert.deepEqual(inclusionPath(leaves.slice(0, p.size), p.index).map(toHex), p.proof);
    const what = `inclusion ${p.index}/${p.size}`;
    for (let k = 0; k < proof.length; k++) {
      const t = proof.map((h) => h.slice());
      t[k]![0]! ^= 1;
      rejects(() => verifyInclusion(leaves[p.index]!, i, n, t, root(p.size)), `${what} flipped hash ${k}`, 'inclusion');
      rejects(() => verifyInclusion(leaves[p.index]!, i, n, proof.filter((_, j) => j !== k), root(p.size)), `${what} dropped hash ${k}`, 'inclusion');
    }
    rejects(() => verifyInclusion(leaves[p.index]!, i, n, [...proof, leaves[0]!], root(p.size)), `${what} extra hash`, 'inclusion');
    if (proof.length >= 2) rejects(() => verifyInclusion(leaves[p.index]!, i, n, [proof[1]!, proof[0]!, ...proof.slice(2)], root(p.size)), `${what} reordered`, 'inclusion');
    rejects(() => verifyInclusion(leaves[p.index]!, n, n, proof, root(p.size)), `${what} index = size`, 'inclusion');
    if (p.size < 7) rejects(() => verifyInclusion(leaves[p.index]!, i, n + 1n, proof, root(p.size + 1)), `${what} wrong size`, 'inclusion');
    if (p.size > 1) rejects(() => verifyInclusion(leaves[(p.index + 1) % p.size]!, i, n, proof, root(p.size)), `${what} other leaf`, 'inclusion');
  }
  assert.equal(tree.consistency.length, 36); // every (old, new) with old <= new <= 7
  for (const p of tree.consistency) {
    const proof = p.proof.map((h) => fromHex(h)!);
    const [m, n] = [BigInt(p.old), BigInt(p.new)];
    verifyConsistency(m, n, root(p.old), root(p.new), proof);
    assert.deepEqual(consistencyPath(leaves.slice(0, p.new), p.old).map(toHex), p.proof);
    const what = `consistency ${p.old}->${p.new}`;
    for (let k = 0; k < proof.length; k++) {
      const t = proof.map((h) => h.slice());
      t[k]![31]! ^= 0x80;
      rejects(() => verifyConsistency(m, n, root(p.old), root(p.new), t), `${what} flipped ${k}`, 'consistency');
      rejects(() => verifyConsistency(m, n, root(p.old), root(p.new), proof.filter((_, j) => j !== k)), `${what} dropped ${k}`, 'consistency');
    }
    rejects(() => verifyConsistency(m, n, root(p.old), root(p.new), [...proof, leaves[0]!]), `${what} extra`, 'consistency');
    if (p.old > 0 && p.old < p.new) {
      rejects(() => verifyConsistency(m, n, new Uint8Array(32), root(p.new), proof), `${what} wrong old root`, 'consistency');
      rejects(() => verifyConsistency(m, n, root(p.old), new Uint8Array(32), proof), `${what} wrong new root`, 'consistency');
      if (p.new < 7) rejects(() => verifyConsistency(m, n + 1n, root(p.old), root(p.new + 1), proof), `${what} wrong size`, 'consistency');
    }
    if (p.old > p.new) assert.fail('unexpected');
  }
  rejects(() => verifyConsistency(3n, 2n, root(3), root(2), []), 'old > new', 'consistency');
  rejects(() => verifyConsistency(0n, 3n, leaves[0]!, root(3), []), 'empty tree with a wrong root', 'consistency');
});

vectorTest(['checkpoint', 'checkpoint.3', 'checkpoint.cosigned'], 'verify under the log key; every byte flip and dropped line rejected', () => {
  const key = logKey();
  for (const [f, size] of [['checkpoint', 7n], ['checkpoint.3', 3n], ['checkpoint.cosigned', 7n]] as const) {
    const b = vec(f);
    const v = verifyCheckpoint(b, key);
    assert.equal(v.checkpoint.size, size);
    assert.equal(v.checkpoint.timestampMs, 1790000000000n + size);
    assert.equal(v.checkpoint.origin, key.name);
    assert.equal(parseNote(b).text + '\n' + parseNote(b).signatures.map((s) => s.line + '\n').join(''), vecText(f));
    for (const { at, bytes } of byteFlips(b)) {
      // A flip inside the witness line only changes a line the log key does
      // not know about (ignored by design); everything else must fail.
      const witnessLine = f === 'checkpoint.cosigned' && at >= vecText('checkpoint').length;
      if (witnessLine) continue;
      rejects(() => verifyCheckpoint(bytes, key), `${f} flip at ${at}`);
    }
    const lines = vecText(f).split('\n');
    for (let k = 0; k < lines.length - 1; k++) {
      const dropped = [...lines.slice(0, k), ...lines.slice(k + 1)].join('\n');
      if (f === 'checkpoint.cosigned' && k === lines.length - 2) {
        verifyCheckpoint(dropped, key); // dropping the cosignature leaves a valid log-signed note
        continue;
      }
      rejects(() => verifyCheckpoint(dropped, key), `${f} without line ${k}`);
    }
  }
  // checkpoint.3 and checkpoint are the same tree at sizes 3 and 7.
  const tree = JSON.parse(vecText('tree.json')) as { roots: Record<string, string> };
  assert.equal(toHex(verifyCheckpoint(vec('checkpoint.3'), key).checkpoint.root), tree.roots['3']);
  assert.equal(toHex(verifyCheckpoint(vec('checkpoint'), key).checkpoint.root), tree.roots['7']);
  // Under another key of the same name the note is not signed.
  const other = parseVkey(vecText('keys/vendor.vkey').trim());
  rejects(() => verifyCheckpoint(vec('checkpoint'), other), 'wrong key', 'note-signature');
});

vectorTest(['policy.txt'], 'parses, formats back, and demands the witness', () => {
  const p = policy();
  assert.equal(p.logs.length, 1);
  assert.equal(p.logs[0]!.key.vkey, logKey().vkey);
  assert.equal(p.witnesses[0]!.key.vkey, vecText('keys/witness.vkey').trim());
  assert.equal(p.quorum, 'witness.example');
  assert.equal(formatPolicy(p), vecText('policy.txt'));
  const v = verifyCheckpointWithPolicy(vec('checkpoint.cosigned'), p);
  assert.deepEqual(v.cosigners.map((c) => [c.name, c.timestamp]), [['witness.example', 1790000001n]]);
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint'), p), 'uncosigned', 'quorum');
  // Every flip in the cosigned note fails under the policy (a changed witness line means no quorum).
  for (const { at, bytes } of byteFlips(vec('checkpoint.cosigned'))) rejects(() => verifyCheckpointWithPolicy(bytes, p), `flip at ${at}`);
});

vectorTest(['claim-0.cbor', 'claim-0.json'], 'decodes, re-encodes byte for byte, displays as the JSON', () => {
  const b = vec('claim-0.cbor');
  const c = decodeClaim(b);
  assert.deepEqual(encodeClaim(c), b);
  assert.deepEqual(claimToJson(c), JSON.parse(vecText('claim-0.json')));
  // Every flip is either rejected or decodes to a different valid claim
  // (e.g. another letter in a name) that is exactly its own encoding.
  let rejected = 0;
  for (const { bytes } of byteFlips(b)) {
    try {
      assert.deepEqual(encodeClaim(decodeClaim(bytes)), bytes);
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      rejected++;
    }
  }
  assert.ok(rejected > b.length, `most flips are rejected (${rejected} of ${2 * b.length})`);
});

vectorTest(['signed-claim-0.cose'], 'decodes and verifies; every byte flip rejected', () => {
  const b = vec('signed-claim-0.cose');
  const sc = openSignedClaim(b);
  assert.equal(sc.kid.vkey, vecText('keys/vendor.vkey').trim());
  assert.deepEqual(sc.payload, vec('claim-0.cbor'));
  for (const { at, bytes } of byteFlips(b)) rejects(() => openSignedClaim(bytes), `flip at ${at}`);
  rejects(() => openSignedClaim(b.subarray(0, b.length - 1)), 'truncated', 'cbor');
  rejects(() => openSignedClaim(Uint8Array.of(...b, 0)), 'trailing byte', 'cbor');
});

vectorTest(['receipt-5.provlog', 'receipt-5.tlog-proof'], 'both encodings, same receipt, verified offline; tampered copies rejected naming the step', () => {
  const cbor = vec('receipt-5.provlog');
  const text = vecText('receipt-5.tlog-proof');
  const a = decodeReceipt(cbor);
  const b = parseTlogProof(text);
  assert.deepEqual(a, b);
  assert.deepEqual(encodeReceipt(a), cbor);
  assert.equal(formatTlogProof(a), text);
  assert.equal(parseAnyReceipt(cbor).format, 'cbor');
  assert.equal(parseAnyReceipt(utf8(text)).format, 'tlog-proof');
  const p = policy();
  const v = verifyReceipt(a, p);
  assert.equal(v.index, 5n);
  assert.equal(v.cosigners[0]!.name, 'witness.example');
  assert.equal(v.signedClaim.claim.sequence, 5n);
  const tree = JSON.parse(vecText('tree.json')) as { entries: string[] };
  assert.equal(toHex(a.entry), tree.entries[5]);
  // The asset: the claim's sha256; a different file is rejected at step "asset".
  verifyReceipt(a, p, { sha256: v.signedClaim.claim.asset.sha256 });
  const e = (() => {
    try {
      verifyReceipt(a, p, { bytes: utf8('not the asset') });
    } catch (x) {
      return x;
    }
    return null;
  })();
  assert.ok(e instanceof ReceiptStepError && e.step === 'asset');
  // Every byte flip of the CBOR file and of the text file is rejected.
  for (const { at, bytes } of byteFlips(cbor)) rejects(() => verifyReceipt(decodeReceipt(bytes), p), `cbor flip at ${at}`);
  for (const { at, bytes } of byteFlips(utf8(text))) {
    try {
      verifyReceipt(parseTlogProof(bytes), p);
      assert.fail(`text flip at ${at} accepted`);
    } catch (x) {
      if (!(x instanceof VerifyError || x instanceof ReceiptStepError)) throw x;
    }
  }
  // Each dropped line of the text form is rejected.
  const lines = text.split('\n');
  for (let k = 0; k < lines.length - 1; k++) {
    const t = [...lines.slice(0, k), ...lines.slice(k + 1)].join('\n');
    try {
      verifyReceipt(parseTlogProof(t), p);
      assert.fail(`dropped line ${k} accepted`);
    } catch (x) {
      if (!(x instanceof VerifyError || x instanceof ReceiptStepError)) throw x;
    }
  }
  // Tampered fields name their step.
  const step = (r: typeof a, want: string, pol = p): void => {
    try {
      verifyReceipt(r, pol);
      assert.fail(`accepted (want ${want})`);
    } catch (x) {
      assert.ok(x instanceof ReceiptStepError, String(x));
      assert.equal(x.step, want, x.message);
    }
  };
  step({ ...a, index: 4n }, 'inclusion');
  step({ ...a, proof: a.proof.slice(1) }, 'inclusion');
  step({ ...a, proof: [...a.proof].reverse() }, 'inclusion');
  step({ ...a, entry: fromHex(tree.entries[4]!)! }, 'inclusion');
  const badSig = a.entry.slice();
  badSig[badSig.length - 1]! ^= 1;
  step({ ...a, entry: badSig }, 'claim');
  step({ ...a, checkpoint: vec('checkpoint') }, 'checkpoint'); // no cosignature: quorum
  step({ ...a, checkpoint: vec('checkpoint.3') }, 'checkpoint');
});

vectorTest(['evidence-split-view.json'], 'verifies with the accused log key; tampered bundles rejected', () => {
  const raw = vecText('evidence-split-view.json');
  const key = logKey();
  const ev = parseEvidence(raw);
  const v = verifyEvidence(ev, key);
  assert.equal(v.kind, 'same-size-different-roots');
  assert.equal(v.smaller.size, 7n);
  assert.equal(evidenceId(ev), 'a23dd96707cf529966080201f2863312048e319cccd3c6fdafbfe5ab52bb4dda'); // spec/evidence.md
  assert.equal(evidenceId(ev), evidenceId({ ...ev, smaller: ev.larger, larger: ev.smaller }));
  const j = JSON.parse(raw) as Record<string, unknown>;
  const bad = (x: unknown, what: string): void => {
    rejects(() => verifyEvidence(parseEvidence(JSON.stringify(x)), key), what, 'evidence');
  };
  bad({ ...j, extra: 1 }, 'unknown field');
  bad({ ...j, format: 'provlog-evidence/v2' }, 'format');
  bad({ ...j, kind: 'inconsistent-prefix' }, 'wrong kind');
  bad({ ...j, larger: j.smaller }, 'same note twice');
  bad({ ...j, origin: 'example.com/other' }, 'origin');
  bad({ ...j, signer: vecText('keys/vendor.vkey').trim() }, 'signer');
  bad({ ...j, proof: [toBase64(new Uint8Array(32))] }, 'proof on same-size');
  bad({ ...j, larger: (j.larger as string).replace('\n7\n', '\n8\n') }, 'edited size');
  // A missing "proof" is the empty list (spec/evidence.md); a missing other field is not.
  const { proof: _p, ...noProof } = j;
  verifyEvidence(parseEvidence(JSON.stringify(noProof)), key);
  const { origin: _o, ...noOrigin } = j;
  bad(noOrigin, 'missing origin');
  rejects(() => parseEvidence(raw.replace('"kind"', '"kind": "x", "kind"')), 'duplicate key', 'evidence');
  rejects(() => verifyEvidence(ev, parseVkey(vecText('keys/witness.vkey').trim())), 'another key', 'evidence');
});

vectorTest(['tiles/tile/0/000.p/7', 'tiles/tile/entries/000.p/7'], 'tile and bundle of the 7-entry tree: leaf hashes, root, proofs', () => {
  const tree = JSON.parse(vecText('tree.json')) as { entries: string[]; leaf_hashes: string[]; roots: Record<string, string>; inclusion: { index: number; size: number; proof: string[] }[] };
  const t = parseTilePath('tile/0/000.p/7');
  assert.deepEqual(t, { level: 0, index: 0n, width: 7 });
  const hashes = parseHashTile(vec('tiles/tile/0/000.p/7'), 7);
  assert.deepEqual(hashes.map(toHex), tree.leaf_hashes);
  const entries = decodeEntryBundle(vec('tiles/tile/entries/000.p/7'), 7);
  assert.deepEqual(entries.map(toHex), tree.entries);
  checkBundleAgainstTile(entries, hashes);
  const reader = new TileReader(7n, (l, i, w) => vec('tiles/' + tilePath({ level: l, index: i, width: w })));
  assert.equal(toHex(reader.root()), tree.roots['7']);
  for (const p of tree.inclusion.filter((x) => x.size === 7)) assert.deepEqual(reader.inclusionProof(BigInt(p.index)).map(toHex), p.proof);
  rejects(() => parseHashTile(vec('tiles/tile/0/000.p/7'), 6), 'wrong width', 'tile');
  rejects(() => parseHashTile(vec('tiles/tile/0/000.p/7').subarray(1), 7), 'short tile', 'tile');
  rejects(() => decodeEntryBundle(vec('tiles/tile/entries/000.p/7'), 6), 'bundle width', 'bundle');
  rejects(() => decodeEntryBundle(vec('tiles/tile/entries/000.p/7').subarray(0, 100)), 'truncated bundle', 'bundle');
  const swapped = [entries[1]!, entries[0]!, ...entries.slice(2)];
  rejects(() => checkBundleAgainstTile(swapped, hashes), 'reordered bundle', 'bundle');
});

// No exceptions: a new vector file needs a test.
test('every file in spec/vectors has a test', () => {
  assert.deepEqual(allVectorFiles().filter((f) => !covered.has(f)), []);
});
