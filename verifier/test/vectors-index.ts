// spec/vectors/index: the verifiable index (spec/lookup.md): key material
// and hashes, the vector log and its commits (recomputed here from the
// entries), the index-commit and vendor-key entries, every lookup proof,
// the vendor-key status, and the omission evidence. Tampered copies
// rejected.
import assert from 'node:assert/strict';
import { vectorTest } from './coverage.js';
import { byteFlips, rejects, vec, vecText } from './util.js';
import { fromHex, toBase64, toHex, utf8 } from '../src/bytes.js';
import { verifyCheckpoint } from '../src/checkpoint.js';
import { VerifyError } from '../src/errors.js';
import { leafHash, sha256 } from '../src/hash.js';
import { inclusionPath, treeHash } from '../src/merkle.js';
import { parseVkey } from '../src/note.js';
import { parsePolicy } from '../src/policy.js';
import { decodeLookupProof, encodeLookupProof, LookupFalseEntryError, lookupSummary, vendorKeyStatus, verifyLookup } from '../src/lookup.js';
import { parseIndexEvidence, verifyIndexEvidence } from '../src/indexevidence.js';
import { verifyAnyEvidence } from '../src/evidence.js';
import {
  classifyEntry,
  decodeIndexCommit,
  decodeKeyMaterial,
  decodeVendorKeyEntry,
  encodeIndexCommit,
  encodeKeyMaterial,
  entryKeys,
  formatIndexKey,
  keyHash,
  listLeafHash,
  listPeaks,
  listRoot,
  listTailRoot,
  parseIndexKey,
  prefixInteriorHash,
  prefixLeafHash,
  recomputeIndex,
  verifyVendorKeyEntry,
} from '../src/vindex.js';

const vk = (n: string) => parseVkey(vecText(`keys/${n}.vkey`).trim());
const LOG = () => JSON.parse(vecText('index/log.json')) as { entries: string[]; commits: { keys: number; root: string; size: number }[]; tree_root: string; tree_size: number };
const entries = () => LOG().entries.map((e) => fromHex(e)!);
const LOOKUPS = ['index/lookup-asset-found.cbor', 'index/lookup-vendor-tail.cbor', 'index/lookup-vendor-key-status.cbor', 'index/lookup-absent-other.cbor', 'index/lookup-absent-empty.cbor'];

vectorTest(['index/keys.json'], 'key material, key hashes and CLI forms of each kind; the hash examples; malformed material rejected', () => {
  const j = JSON.parse(vecText('index/keys.json')) as { keys: { hash: string; key: string; material: string }[]; hashes: Record<string, string> };
  assert.deepEqual(j.keys.map((k) => decodeKeyMaterial(fromHex(k.material)!).kind), [1, 2, 3, 4, 5, 6]);
  for (const k of j.keys) {
    const m = fromHex(k.material)!;
    const d = decodeKeyMaterial(m);
    assert.equal(formatIndexKey(d), k.key);
    assert.deepEqual(encodeKeyMaterial(parseIndexKey(k.key)), m);
    assert.equal(toHex(keyHash(m)), k.hash);
    for (const { at, bytes } of byteFlips(m)) {
      // Either rejected, or another valid key with another hash.
      try {
        const o = decodeKeyMaterial(bytes);
        assert.notEqual(toHex(keyHash(encodeKeyMaterial(o))), k.hash, `flip at ${at}`);
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
      }
    }
    rejects(() => decodeKeyMaterial(m.subarray(0, m.length - 1)), `${k.key} truncated`);
    rejects(() => decodeKeyMaterial(Uint8Array.of(...m, 0)), `${k.key} trailing`);
  }
  const z = new Uint8Array(32);
  const o = new Uint8Array(32).fill(1);
  assert.equal(toHex(prefixInteriorHash(z, o)), j.hashes['interior_hash(00..00, 01..01)']);
  assert.equal(toHex(prefixLeafHash(z, 1n, o)), j.hashes['leaf_hash(key=00..00, count=1, list_root=01..01)']);
  assert.equal(toHex(listLeafHash(5n)), j.hashes['list_leaf_hash(5)']);
  assert.equal(toHex(listRoot([1n, 2n, 4n])), j.hashes['list_root([1, 2, 4])']);
  assert.equal(toHex(listRoot([1n, 4n])), j.hashes['list_root([1, 4])']);
  assert.equal(toHex(listRoot([1n, 4n])).slice(0, 8), 'e487edf7'); // spec/lookup.md §3.2
  // A list tail from every position gives the whole list's root.
  const list = [1n, 2n, 4n, 9n, 10n, 13n, 20n];
  for (let f = 0; f < list.length; f++) assert.deepEqual(listTailRoot(BigInt(f), listPeaks(list, f), list.slice(f)), { count: 7n, root: listRoot(list) });
  rejects(() => listTailRoot(3n, listPeaks(list, 2), list.slice(3)), 'wrong number of peaks', 'index');
  // Malformed material.
  const cbor = (h: string) => fromHex(h)!;
  for (const [h, what] of [
    ['8101', 'kind only'],
    ['820158' + '1f' + '00'.repeat(31), '31-byte asset'],
    ['8307' + '6161' + '4100', 'unknown kind 7'],
    ['83026673686131' + '5820' + '00'.repeat(32), 'hard alg "sha1"'],
    ['8302667368613338345820' + '00'.repeat(32), 'sha384 with 32 bytes'],
    ['830361' + '20' + '4100', 'soft alg with a space'],
    ['8303616140', 'empty soft value'],
    ['820460', 'empty vkey'],
    ['8204636120', 'truncated'],
    ['8204' + '63612062', 'vkey with a space'],
    ['83056161' + '3a', 'negative bucket'],
    ['9f0158200000000000000000000000000000000000000000000000000000000000000000ff', 'indefinite array'],
    ['82' + '1801' + '5820' + '00'.repeat(32), 'non-shortest kind'],
  ] as const) {
    rejects(() => decodeKeyMaterial(cbor(h)), what);
  }
  rejects(() => decodeKeyMaterial(new Uint8Array(2063)), 'over the size limit', 'index');
  // CLI forms: a soft-binding alg and a vkey name may contain ":" (the value follows the last one).
  assert.deepEqual(parseIndexKey('soft:com.example:v1:beef'), { kind: 3, alg: 'com.example:v1', value: fromHex('beef') });
  assert.deepEqual(parseIndexKey('vendor-seq:a:b+x:7'), { kind: 5, vkey: 'a:b+x', bucket: 7n });
  for (const s of ['asset:E9', 'asset:e9c1', 'hard:md5:00', 'soft::00', 'vendor:', 'vendor-seq:v:01', 'other:x', 'asset']) rejects(() => parseIndexKey(s), s, 'index');
});

vectorTest(['index/log.json', 'index/checkpoint'], 'the index vector log: entries classified, keys derived, both commits recomputed from the entries, the tree and its signed checkpoint', () => {
  const l = LOG();
  const es = entries();
  assert.deepEqual(es.map((e) => classifyEntry(e).kind), ['vendor-key', 'claim', 'claim', 'index-commit', 'claim', 'claim', 'index-commit']);
  // Entries 1, 2 and 5 are claims 0, 1 and 2 of the main vectors.
  const tree = JSON.parse(vecText('tree.json')) as { entries: string[] };
  assert.deepEqual([1, 2, 5].map((i) => l.entries[i]), tree.entries.slice(0, 3));
  assert.deepEqual(entryKeys(es[4]!).map((k) => k.kind), [1, 2, 3, 4, 5]);
  assert.deepEqual(entryKeys(es[0]!).map(formatIndexKey), [`vendor-key:${vk('vendor').vkey}`]);
  assert.deepEqual(entryKeys(es[3]!), []);
  for (const c of l.commits) {
    const r = recomputeIndex(es.slice(0, c.size));
    assert.equal(toHex(r.root), c.root, `commit at ${c.size}`);
    assert.equal(r.keys, BigInt(c.keys));
    assert.deepEqual(decodeIndexCommit(es[c.size]!), { keys: BigInt(c.keys), root: fromHex(c.root), size: BigInt(c.size) });
    // Leaving one entry out, or listing one twice, changes the root.
    assert.notEqual(toHex(recomputeIndex(es.slice(0, c.size).filter((_, i) => i !== 1)).root), c.root);
  }
  const leaves = es.map(leafHash);
  assert.equal(toHex(treeHash(leaves)), l.tree_root);
  const v = verifyCheckpoint(vec('index/checkpoint'), vk('log'));
  assert.equal(v.checkpoint.size, BigInt(l.tree_size));
  assert.equal(toHex(v.checkpoint.root), l.tree_root);
  for (const { at, bytes } of byteFlips(vec('index/checkpoint'))) rejects(() => verifyCheckpoint(bytes, vk('log')), `checkpoint flip at ${at}`);
});

vectorTest(['index/index-commit.cbor', 'index/vendor-key.cbor'], 'the index-commit (entry 6) and vendor-key (entry 0) entries: decode, re-encode, signature by the log key; tampered copies rejected', () => {
  const es = entries();
  const ic = vec('index/index-commit.cbor');
  assert.deepEqual(ic, es[6]);
  const c = decodeIndexCommit(ic);
  assert.deepEqual(encodeIndexCommit(c), ic);
  assert.equal(c.size, 6n);
  assert.equal(toHex(ic), 'da706c6f67a561746c696e6465782d636f6d6d6974617601646b6579730864726f6f74582022fe941ecd27122ac7fec9ba1375c0b7d39bff7d2644264250cd781e4f95a5e46473697a6506');
  for (const { at, bytes } of byteFlips(ic)) {
    try {
      const d = decodeIndexCommit(bytes);
      assert.ok(d.keys !== c.keys || d.size !== c.size || toHex(d.root) !== toHex(c.root), `flip at ${at} decodes to the same commit`);
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
    }
  }
  const vkb = vec('index/vendor-key.cbor');
  assert.deepEqual(vkb, es[0]);
  const e = decodeVendorKeyEntry(vkb);
  assert.equal(e.op, 'add');
  assert.equal(e.key.vkey, vk('vendor').vkey);
  verifyVendorKeyEntry(e, vk('log'));
  rejects(() => verifyVendorKeyEntry(e, vk('witness')), 'another key');
  rejects(() => verifyVendorKeyEntry(e, vk('log-mldsa')), 'not an Ed25519 key', 'index');
  for (const { at, bytes } of byteFlips(vkb)) {
    try {
      verifyVendorKeyEntry(decodeVendorKeyEntry(bytes), vk('log'));
      assert.fail(`flip at ${at} accepted`);
    } catch (x) {
      if (!(x instanceof VerifyError)) throw x;
    }
  }
  // The signed message can never be a note text: 0xda after the newline is not UTF-8.
  rejects(() => decodeIndexCommit(vkb), 'a vendor-key entry is not an index-commit', 'index');
  rejects(() => decodeVendorKeyEntry(ic), 'an index-commit is not a vendor-key entry', 'index');
  assert.equal(classifyEntry(Uint8Array.of(0xda, 0x70)).kind, 'other');
});

vectorTest(LOOKUPS, 'lookup proofs: found with entries, a tail, vendor-key status, absent (neighbour leaf and empty subtree); every byte flip and swapped key rejected', () => {
  const log = vk('log');
  const es = entries();
  const asset0 = decodeKeyMaterial(fromHex((JSON.parse(vecText('index/keys.json')) as { keys: { material: string }[] }).keys[0]!.material)!);
  const want: Record<string, [string, bigint, bigint, bigint[], number | undefined]> = {
    'index/lookup-asset-found.cbor': ['found', 2n, 0n, [1n, 4n], 2],
    'index/lookup-vendor-tail.cbor': ['found', 4n, 2n, [4n, 5n], undefined],
    'index/lookup-vendor-key-status.cbor': ['found', 1n, 0n, [0n], 1],
    'index/lookup-absent-other.cbor': ['absent', 0n, 0n, [], undefined],
    'index/lookup-absent-empty.cbor': ['absent', 0n, 0n, [], undefined],
  };
  const summaries: string[] = [];
  for (const f of LOOKUPS) {
    const b = vec(f);
    const p = decodeLookupProof(b);
    assert.deepEqual(encodeLookupProof(p), b);
    const v = verifyLookup(b, log);
    const [outcome, count, from, indexes, n] = want[f]!;
    assert.deepEqual([v.outcome, v.count, v.from, v.indexes, v.entries?.length], [outcome, count, from, indexes, n], f);
    assert.equal(v.coveredSize, 7n);
    assert.equal(v.checkpointSize, 7n);
    summaries.push(lookupSummary(v));
    // Asked about its own key (material, IndexKey, CLI form): fine; about another: rejected.
    verifyLookup(b, log, p.key);
    verifyLookup(b, log, formatIndexKey(v.key));
    const other = f === LOOKUPS[0] ? { kind: 1 as const, asset: new Uint8Array(32) } : asset0;
    rejects(() => verifyLookup(b, log, other), `${f} for another key`, 'lookup');
    // The bundle's checkpoint is the vector log's; wrong keys and unmet policies fail.
    rejects(() => verifyLookup(b, vk('vendor')), `${f} under the vendor key`);
    rejects(() => verifyLookup(b, vk('log-mldsa')), `${f} under the ML-DSA-44 key`);
    rejects(() => verifyLookup(b, parsePolicy(vecText('policy.txt'))), `${f} under a policy with a witness quorum`, 'quorum');
    // Asked about the vector's key: a flip inside the key material would
    // otherwise give a VALID proof for another key whose walk ends at the
    // same terminal (an absence proof speaks for every such key).
    for (const { at, bytes } of byteFlips(b)) {
      try {
        verifyLookup(bytes, log, p.key);
        assert.fail(`${f} flip at ${at} accepted`);
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
      }
    }
    rejects(() => verifyLookup(b.subarray(0, b.length - 1), log), `${f} truncated`);
    // Structural tampering, re-encoded canonically so only verification catches it.
    const bad = (q: typeof p, what: string): void => {
      rejects(() => verifyLookup(encodeLookupProof(q), log), `${f} ${what}`);
    };
    if (p.path.length > 0) {
      bad({ ...p, path: p.path.slice(1) }, 'root sibling dropped');
      bad({ ...p, path: p.path.slice(0, -1) }, 'last sibling dropped');
      bad({ ...p, path: [...p.path.slice(0, -1), new Uint8Array(0)] }, 'empty terminal sibling');
      bad({ ...p, path: [...p.path, new Uint8Array(32)] }, 'extra sibling');
    }
    bad({ ...p, proof: p.proof.slice(1) }, 'commit proof short');
    bad({ ...p, commit: encodeIndexCommit({ ...decodeIndexCommit(p.commit), size: 3n }) }, 'commit of another size');
    bad({ ...p, commit: es[3]! }, 'the first commit');
    bad({ ...p, checkpoint: vec('checkpoint') }, 'the main vectors checkpoint');
    if (p.found) {
      bad({ ...p, found: { ...p.found, indexes: p.found.indexes.slice(1) } }, 'index dropped');
      bad({ ...p, found: { ...p.found, indexes: [...p.found.indexes, 6n] } }, 'the commit index added');
      if (p.found.indexes.length > 1) bad({ ...p, found: { ...p.found, indexes: [...p.found.indexes].reverse() } }, 'indexes reversed');
      bad({ ...p, found: { ...p.found, from: p.found.from + 1n } }, 'from + 1');
      if (p.found.from > 0n) {
        // A tail with no index: the peaks of the whole list would fold to the right root; §3.2 requires f < c.
        const list = [1n, 2n, 4n, 5n];
        bad({ ...p, found: { from: 4n, peaks: listPeaks(list, 4), indexes: [] } }, 'empty tail');
        bad({ ...p, found: { from: 0n, peaks: [], indexes: p.found.indexes } }, 'tail presented as the whole list');
      }
      const { found: _f, ...absent } = p;
      bad({ ...absent }, 'found result dropped');
      if (p.entries) {
        if (p.entries.length > 1) bad({ ...p, entries: [...p.entries].reverse() }, 'entries reordered');
        bad({ ...p, entries: p.entries.slice(1) }, 'an entry dropped');
        bad({ ...p, entries: p.entries.map((e, i) => (i === 0 ? { ...e, proof: e.proof.slice(1) } : e)) }, 'entry proof short');
        bad({ ...p, entries: p.entries.map((e, i) => (i === 0 ? { ...e, entry: es[5]! } : e)) }, 'another entry');
        const { entries: _e, ...noEntries } = p;
        verifyLookup(encodeLookupProof(noEntries), log); // entries are optional
      }
    } else {
      if (p.other) {
        bad({ ...p, other: { ...p.other, count: p.other.count + 1n } }, 'neighbour count');
        const kh = keyHash(p.key);
        bad({ ...p, other: { ...p.other, kh } }, 'neighbour is the key itself');
        const { other: _o, ...empty } = p;
        bad(empty, 'neighbour dropped');
      } else {
        bad({ ...p, other: { kh: new Uint8Array(32), count: 1n, listRoot: new Uint8Array(32) } }, 'a neighbour invented');
      }
      bad({ ...p, entries: [{ index: 1n, entry: es[1]!, proof: inclusionPath(es.map(leafHash), 1) }] }, 'entries on an absence proof');
    }
  }
  assert.deepEqual(summaries, [
    'VERIFIED: 2 claims (complete as of checkpoint 7)',
    'VERIFIED: 4 claims, the last 2 from list position 2 (complete as of checkpoint 7)',
    'VERIFIED: 1 claims (complete as of checkpoint 7)',
    'VERIFIED ABSENT as of checkpoint 7',
    'VERIFIED ABSENT as of checkpoint 7',
  ]);
  // The absent keys are the asset SHA-256 of "absent N" (spec/lookup.md §10).
  for (const f of LOOKUPS.slice(3)) {
    const k = decodeKeyMaterial(decodeLookupProof(vec(f)).key);
    assert.equal(k.kind, 1);
    const n = Array.from({ length: 1000 }, (_, i) => i).find((i) => toHex(sha256(utf8(`absent ${i}`))) === toHex((k as { asset: Uint8Array }).asset));
    assert.ok(n !== undefined, `${f}: the key is SHA-256("absent N")`);
    assert.equal(decodeLookupProof(vec(f)).other !== undefined, f.endsWith('other.cbor'));
  }
  // Asset 0's claims are entries 1 and 4, and they carry the key.
  const found = verifyLookup(vec(LOOKUPS[0]!), log, asset0);
  assert.deepEqual(found.entries!.map((e) => toHex(e.entry)), [LOG().entries[1], LOG().entries[4]]);
  // A listed entry that does not carry the key is evidence, not just a bad bundle: crafted
  // by swapping in entry 2 with its own valid inclusion proof, so only the map function fails.
  const p = decodeLookupProof(vec(LOOKUPS[0]!));
  const leaves = es.map(leafHash);
  const forged = { ...p, found: { ...p.found!, indexes: [1n, 2n] }, entries: [p.entries![0]!, { index: 2n, entry: es[2]!, proof: inclusionPath(leaves, 2) }] };
  try {
    // The list changed, so the fold fails first; the false-entry path is checked in the evidence test.
    verifyLookup(encodeLookupProof(forged), log);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof VerifyError && !(e instanceof LookupFalseEntryError));
  }
  // Vendor-key status (spec/lookup.md §5).
  const st = verifyLookup(vec('index/lookup-vendor-key-status.cbor'), log);
  const vendor = vk('vendor').vkey;
  assert.deepEqual(vendorKeyStatus(st, vendor, 0n), { status: 'never-added' });
  for (const i of [1n, 2n, 5n]) assert.deepEqual(vendorKeyStatus(st, vendor, i), { status: 'accepted', since: 0n });
  rejects(() => vendorKeyStatus(st, vendor, 6n), 'index not covered', 'lookup');
  rejects(() => vendorKeyStatus(st, vk('witness').vkey, 1n), 'another key', 'lookup');
  rejects(() => vendorKeyStatus(verifyLookup(vec(LOOKUPS[0]!), log), vendor, 1n), 'an asset lookup', 'lookup');
  const { entries: _e, ...bare } = decodeLookupProof(vec('index/lookup-vendor-key-status.cbor'));
  rejects(() => vendorKeyStatus(verifyLookup(encodeLookupProof(bare), log), vendor, 1n), 'without entries', 'lookup');
});

vectorTest(['index/evidence-omission.json'], 'index-omission evidence: the lying lookup leaves entry 4 out; verifies with the log key alone; tampered bundles rejected', () => {
  const raw = vecText('index/evidence-omission.json');
  const key = vk('log');
  const ev = parseIndexEvidence(raw);
  const v = verifyIndexEvidence(ev, key);
  assert.equal(v.kind, 'index-omission');
  assert.equal(v.index, 4n);
  assert.equal(v.commit.size, 6n);
  assert.equal(verifyAnyEvidence(raw, key).format, 'provlog-index-evidence/v1');
  const lookup = decodeLookupProof(Uint8Array.from(Buffer.from(ev.lookup!, 'base64')));
  assert.deepEqual(lookup.found?.indexes, [1n]);
  const j = JSON.parse(raw) as Record<string, unknown>;
  const bad = (x: unknown, what: string): void => {
    rejects(() => verifyIndexEvidence(parseIndexEvidence(JSON.stringify(x)), key), what, 'evidence');
  };
  const es = entries();
  const leaves = es.map(leafHash);
  bad({ ...j, extra: 1 }, 'unknown field');
  bad({ ...j, format: 'provlog-evidence/v1' }, 'format');
  bad({ ...j, kind: 'index-false-entry' }, 'not listed, so not a false entry');
  bad({ ...j, kind: 'index-commit-size' }, 'commit-size without a checkpoint');
  bad({ ...j, checkpoint: vecText('index/checkpoint') }, 'a checkpoint next to the lookup');
  bad({ ...j, signer: vk('vendor').vkey }, 'signer');
  bad({ ...j, index: 1 }, 'index 1 is listed');
  bad({ ...j, index: 5 }, 'index 5 with entry 4');
  bad({ ...j, index: 5, entry: toBase64(es[5]!), proof: inclusionPath(leaves, 5).map(toBase64) }, 'entry 5 does not carry the key');
  bad({ ...j, index: 6, entry: toBase64(es[6]!), proof: inclusionPath(leaves, 6).map(toBase64) }, 'entry 6 is not covered');
  bad({ ...j, proof: (j.proof as string[]).slice(1) }, 'short proof');
  bad({ ...j, entry: toBase64(es[1]!) }, 'another entry');
  bad({ ...j, lookup: toBase64(vec('index/lookup-asset-found.cbor')) }, 'the honest lookup lists entry 4');
  bad({ ...j, lookup: (j.lookup as string).slice(0, -8) }, 'truncated lookup');
  const { lookup: _l, ...noLookup } = j;
  bad(noLookup, 'no lookup');
  rejects(() => verifyIndexEvidence(ev, vk('witness')), 'another key', 'evidence');
  rejects(() => parseIndexEvidence(raw.replace('"kind"', '"kind": "x", "kind"')), 'duplicate key', 'evidence');
  // The honest vendor tail does not speak for entries before its first listed index.
  const tail = { ...j, lookup: toBase64(vec('index/lookup-vendor-tail.cbor')), index: 1, entry: toBase64(es[1]!), proof: inclusionPath(leaves, 1).map(toBase64) };
  bad(tail, 'a tail says nothing about index 1');
  // index-commit-size: the vector commits sit at their sizes, so no bundle against them verifies.
  const cs = { format: 'provlog-index-evidence/v1', kind: 'index-commit-size', signer: key.vkey, checkpoint: vecText('index/checkpoint'), index: 6, entry: toBase64(es[6]!), proof: inclusionPath(leaves, 6).map(toBase64) };
  bad(cs, 'commit at its own size');
  bad({ ...cs, index: 3, entry: toBase64(es[3]!), proof: inclusionPath(leaves, 3).map(toBase64) }, 'the first commit at its own size');
  bad({ ...cs, index: 1, entry: toBase64(es[1]!), proof: inclusionPath(leaves, 1).map(toBase64) }, 'a claim is not a commit');
  bad({ ...cs, lookup: j.lookup }, 'commit-size with a lookup');
});
