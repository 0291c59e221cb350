// The verifiable index beyond the vectors: proofs built here from random
// indexes (a prover written from spec/lookup.md §3 and §6) verify, and
// every tampering fails; a lying log's false entry and misplaced commit
// become evidence that verifies with the log key alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesEqual, compareBytes, toBase64, utf8 } from '../src/bytes.js';
import { leafHash, sha256, type Hash } from '../src/hash.js';
import { inclusionPath, treeHash } from '../src/merkle.js';
import { encodeLookupProof, type LookupProof, LookupFalseEntryError, verifyLookup } from '../src/lookup.js';
import { parseIndexEvidence, verifyIndexEvidence } from '../src/indexevidence.js';
import { bit, EMPTY, encodeIndexCommit, encodeKeyMaterial, entryKeys, type IndexKey, indexKeyHash, indexRoot, listPeaks, listRoot, prefixInteriorHash, prefixLeafHash } from '../src/vindex.js';
import { fromHex } from '../src/bytes.js';
import { note, signatureLine, vectorKey } from './signers.js';
import { rejects, vecText } from './util.js';

interface Leaf {
  kh: Hash;
  indexes: bigint[];
}

function subtree(s: Leaf[], d: number): Hash {
  if (s.length === 0) return EMPTY;
  if (s.length === 1) return prefixLeafHash(s[0]!.kh, BigInt(s[0]!.indexes.length), listRoot(s[0]!.indexes));
  return prefixInteriorHash(subtree(s.filter((l) => bit(l.kh, d) === 0), d + 1), subtree(s.filter((l) => bit(l.kh, d) === 1), d + 1));
}

/** The prefix-tree walk for `kh` (spec/lookup.md §3.1): siblings root first, and where it ends. */
function walk(leaves: Leaf[], kh: Hash): { path: Uint8Array[]; end: Leaf | null } {
  let s = leaves;
  const path: Uint8Array[] = [];
  for (let d = 0; ; d++) {
    if (s.length === 0) return { path, end: null };
    if (s.length === 1) return { path, end: s[0]! };
    const b = bit(kh, d);
    const mine = s.filter((l) => bit(l.kh, d) === b);
    const sib = subtree(s.filter((l) => bit(l.kh, d) !== b), d + 1);
    path.push(bytesEqual(sib, EMPTY) ? new Uint8Array(0) : sib);
    s = mine;
  }
}

const log = vectorKey('log');
const origin = log.vkey.name;

/** A log of `entries` ending with an index-commit of `leaves`, its signed checkpoint, and a prover. */
function buildLog(entries: Uint8Array[], leaves: Leaf[]) {
  const commit = encodeIndexCommit({ keys: BigInt(leaves.length), root: indexRoot(leaves), size: BigInt(entries.length) });
  const all = [...entries, commit];
  const lh = all.map(leafHash);
  const text = `${origin}\n${all.length}\n${toBase64(treeHash(lh))}\n`;
  const checkpoint = utf8(note(text, [signatureLine(log, text)]));
  const prove = (key: IndexKey, from = 0, withEntries = false): LookupProof => {
    const kh = indexKeyHash(key);
    const { path, end } = walk(leaves, kh);
    const base = { key: encodeKeyMaterial(key), path, commit, proof: inclusionPath(lh, entries.length), checkpoint };
    if (end && bytesEqual(end.kh, kh)) {
      const idx = end.indexes.slice(from);
      return { ...base, found: { from: BigInt(from), peaks: listPeaks(end.indexes, from), indexes: idx }, ...(withEntries ? { entries: idx.map((i) => ({ index: i, entry: all[Number(i)]!, proof: inclusionPath(lh, Number(i)) })) } : {}) };
    }
    if (end) return { ...base, other: { kh: end.kh, count: BigInt(end.indexes.length), listRoot: listRoot(end.indexes) } };
    return base;
  };
  return { all, lh, checkpoint, prove };
}

/** A small deterministic PRNG (xorshift) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('random indexes: found, tail and absent proofs built from spec/lookup.md verify; tampering fails', () => {
  for (let round = 0; round < 12; round++) {
    const r = rng(round + 1);
    const nKeys = [0, 1, 2, 3, 5, 8, 13, 40][round % 8]!;
    const keys: IndexKey[] = Array.from({ length: nKeys }, (_, i) => ({ kind: 1, asset: sha256(utf8(`key ${round} ${i}`)) }));
    const nEntries = 30;
    const leaves: Leaf[] = keys.map((k) => {
      const idx = new Set<bigint>();
      const n = 1 + Math.floor(r() * 6);
      while (idx.size < n) idx.add(BigInt(Math.floor(r() * nEntries)));
      return { kh: indexKeyHash(k), indexes: [...idx].sort((a, b) => (a < b ? -1 : 1)) };
    });
    assert.deepEqual(indexRoot(leaves), subtree(leaves, 0));
    const entries = Array.from({ length: nEntries }, (_, i) => utf8(`entry ${i}`));
    const L = buildLog(entries, leaves);
    for (const [i, k] of keys.entries()) {
      const p = L.prove(k);
      const v = verifyLookup(encodeLookupProof(p), log.vkey, k);
      assert.equal(v.outcome, 'found');
      assert.deepEqual(v.indexes, leaves[i]!.indexes);
      for (let f = 1; f < leaves[i]!.indexes.length; f++) {
        const t = verifyLookup(encodeLookupProof(L.prove(k, f)), log.vkey, k);
        assert.deepEqual([t.from, t.count], [BigInt(f), BigInt(leaves[i]!.indexes.length)]);
      }
      // Tampering: a dropped or added index, a wrong list, a proof for another key.
      const bad = (q: LookupProof, what: string, asked: IndexKey = k): void => {
        rejects(() => verifyLookup(encodeLookupProof(q), log.vkey, asked), `round ${round} key ${i}: ${what}`);
      };
      const f = p.found!;
      if (f.indexes.length > 1) bad({ ...p, found: { ...f, indexes: f.indexes.slice(1) } }, 'dropped index');
      bad({ ...p, found: { ...f, indexes: [...f.indexes, 1000n] } }, 'added index');
      bad({ ...p, found: { ...f, indexes: f.indexes.map((x) => x + 1n) } }, 'shifted list');
      const absentKey: IndexKey = { kind: 1, asset: sha256(utf8(`not there ${round} ${i}`)) };
      bad({ ...p, key: encodeKeyMaterial(absentKey) }, 'another key', absentKey);
      if (keys.length > 1) bad(L.prove(keys[(i + 1) % keys.length]!), 'the proof of another key');
      const at = p.path.findIndex((x) => x.length > 0);
      if (at >= 0) bad({ ...p, path: p.path.map((s, j) => (j === at ? Uint8Array.from(s, (x, n) => (n === 0 ? x ^ 1 : x)) : s)) }, 'flipped sibling');
      if (p.path.length > 0) bad({ ...p, path: p.path.slice(1) }, 'a level dropped');
    }
    for (let j = 0; j < 12; j++) {
      const k: IndexKey = { kind: 1, asset: sha256(utf8(`absent ${round} ${j}`)) };
      const p = L.prove(k);
      const v = verifyLookup(encodeLookupProof(p), log.vkey, k);
      assert.equal(v.outcome, 'absent');
      if (p.other) {
        // Claiming the neighbour is absent, or that the key is found with the neighbour's list, fails.
        rejects(() => verifyLookup(encodeLookupProof({ ...p, found: { from: 0n, peaks: [], indexes: [0n] }, other: undefined } as LookupProof), log.vkey, k), 'found instead of absent');
        const { other: _o, ...empty } = p;
        rejects(() => verifyLookup(encodeLookupProof(empty), log.vkey, k), 'empty instead of the neighbour');
      } else if (keys.length > 0) {
        rejects(() => verifyLookup(encodeLookupProof({ ...p, other: { kh: leaves[0]!.kh, count: 1n, listRoot: new Uint8Array(32) } }), log.vkey, k), 'invented neighbour');
      }
    }
    // Sizes and roots: the commit must be the checkpoint's, at its own size.
    if (keys.length > 0) {
      const p = L.prove(keys[0]!);
      rejects(() => verifyLookup(encodeLookupProof({ ...p, proof: inclusionPath(L.lh, 0) }), log.vkey), 'commit proof of another entry', 'inclusion');
    }
  }
});

test('a lying log: a listed entry that lacks the key is index-false-entry evidence; a misplaced commit is index-commit-size evidence', () => {
  const tree = JSON.parse(vecText('tree.json')) as { entries: string[] };
  const claims = tree.entries.slice(0, 3).map((e) => fromHex(e)!);
  const asset0 = entryKeys(claims[0]!)[0]!; // [1, asset of claim 0]
  // The liar lists entries 0 AND 1 under claim 0's asset; the other keys are honest.
  const honest = new Map<string, Leaf>();
  for (const [i, c] of claims.entries()) {
    for (const k of entryKeys(c)) {
      const kh = indexKeyHash(k);
      const id = toBase64(kh);
      const l = honest.get(id) ?? { kh, indexes: [] };
      l.indexes.push(BigInt(i));
      honest.set(id, l);
    }
  }
  const leaves = [...honest.values()].map((l) => (bytesEqual(l.kh, indexKeyHash(asset0)) ? { kh: l.kh, indexes: [0n, 1n] } : l));
  leaves.sort((a, b) => compareBytes(a.kh, b.kh));
  const L = buildLog(claims, leaves);
  const p = L.prove(asset0, 0, true);
  try {
    verifyLookup(encodeLookupProof(p), log.vkey, asset0);
    assert.fail('a false entry was accepted');
  } catch (e) {
    assert.ok(e instanceof LookupFalseEntryError, String(e));
    assert.equal(e.index, 1n);
    const { entries: _e, ...lookup } = p;
    const ev = { format: 'provlog-index-evidence/v1', kind: 'index-false-entry', signer: log.vkey.vkey, lookup: toBase64(encodeLookupProof(lookup)), index: 1, entry: toBase64(e.entry), proof: e.proof.map(toBase64) };
    const v = verifyIndexEvidence(parseIndexEvidence(JSON.stringify(ev)), log.vkey);
    assert.equal(v.kind, 'index-false-entry');
    rejects(() => verifyIndexEvidence(parseIndexEvidence(JSON.stringify({ ...ev, index: 0, entry: toBase64(claims[0]!), proof: inclusionPath(L.lh, 0).map(toBase64) })), log.vkey), 'entry 0 does carry the key', 'evidence');
    rejects(() => verifyIndexEvidence(parseIndexEvidence(JSON.stringify({ ...ev, kind: 'index-omission' })), log.vkey), 'listed, so not omitted', 'evidence');
  }
  // A commit at index 3 claiming size 2.
  const bad = encodeIndexCommit({ keys: 0n, root: EMPTY, size: 2n });
  const all = [...claims, bad];
  const lh = all.map(leafHash);
  const text = `${origin}\n${all.length}\n${toBase64(treeHash(lh))}\n`;
  const cp = note(text, [signatureLine(log, text)]);
  const ev = { format: 'provlog-index-evidence/v1', kind: 'index-commit-size', signer: log.vkey.vkey, checkpoint: cp, index: 3, entry: toBase64(bad), proof: inclusionPath(lh, 3).map(toBase64) };
  assert.equal(verifyIndexEvidence(parseIndexEvidence(JSON.stringify(ev)), log.vkey).commit.size, 2n);
  rejects(() => verifyIndexEvidence(parseIndexEvidence(JSON.stringify(ev)), vectorKey('vendor').vkey), 'another key', 'evidence');
  rejects(() => verifyIndexEvidence(parseIndexEvidence(JSON.stringify({ ...ev, checkpoint: cp.replace('\n4\n', '\n5\n') })), log.vkey), 'edited checkpoint', 'evidence');
});
