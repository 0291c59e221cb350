// spec/tree.md §7 conformance values, exhaustive proof checks over many
// sizes with tampering, and spec/tiles.md paths, widths and tile reading
// (including the Tessera test log's tiles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../src/bytes.js';
import { EMPTY_ROOT, type Hash, leafHash, nodeHash } from '../src/hash.js';
import { consistencyProofLength, consistencyRoots, inclusionProofLength, rootFromInclusion, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { checkBundleAgainstTile, decodeEntryBundle, encodeEntryBundle, parseHashTile, parseTilePath, rangeNodes, TileReader, tilePath, tilesForSize, tileWidth } from '../src/tiles.js';
import { parseVkey } from '../src/note.js';
import { verifyCheckpoint } from '../src/checkpoint.js';
import { rejects, tesseraDir } from './util.js';

/** A memoised reference tree over leaf hashes (spec/tree.md §2, §4). */
class RefTree {
  private memo = new Map<string, Hash>();
  constructor(readonly leaves: Hash[]) {}
  mth(a: number, b: number): Hash {
    const key = `${a},${b}`;
    let h = this.memo.get(key);
    if (h) return h;
    const m = b - a;
    if (m === 0) h = EMPTY_ROOT;
    else if (m === 1) h = this.leaves[a]!;
    else {
      let k = 1;
      while (k * 2 < m) k *= 2;
      h = nodeHash(this.mth(a, a + k), this.mth(a + k, b));
    }
    this.memo.set(key, h);
    return h;
  }
  path(i: number, a: number, b: number): Hash[] {
    if (b - a <= 1) return [];
    let k = 1;
    while (k * 2 < b - a) k *= 2;
    return i < a + k ? [...this.path(i, a, a + k), this.mth(a + k, b)] : [...this.path(i, a + k, b), this.mth(a, a + k)];
  }
  consistency(m: number, n: number): Hash[] {
    if (m === 0 || m === n) return [];
    const sub = (a: number, b: number, whole: boolean): Hash[] => {
      if (m === b) return whole ? [] : [this.mth(a, b)];
      let k = 1;
      while (k * 2 < b - a) k *= 2;
      return m <= a + k ? [...sub(a, a + k, whole), this.mth(a + k, b)] : [...sub(a + k, b, false), this.mth(a, a + k)];
    };
    return sub(0, n, true);
  }
}

test('Certificate Transparency reference roots for sizes 1..8 (spec/tree.md §7)', () => {
  const entries = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
  const want = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const t = new RefTree(entries.map((e) => leafHash(fromHex(e)!)));
  for (let n = 1; n <= 8; n++) assert.equal(toHex(t.mth(0, n)), want[n - 1]);
  assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('every inclusion and consistency proof for sizes 1..80 verifies; every tampered one is rejected', () => {
  const N = 80;
  const t = new RefTree(Array.from({ length: N }, (_, i) => leafHash(Uint8Array.of(i, i >> 8))));
  const junk = new Uint8Array(32).fill(0xaa);
  for (let n = 1; n <= N; n++) {
    const root = t.mth(0, n);
    for (let i = 0; i < n; i++) {
      const p = t.path(i, 0, n);
      assert.equal(p.length, inclusionProofLength(BigInt(i), BigInt(n)));
      verifyInclusion(t.leaves[i]!, BigInt(i), BigInt(n), p, root);
      if (p.length > 0) {
        const k = (i * 7) % p.length;
        const bad = p.map((h, j) => (j === k ? junk : h));
        rejects(() => verifyInclusion(t.leaves[i]!, BigInt(i), BigInt(n), bad, root), `incl ${i}/${n} replaced`, 'inclusion');
        rejects(() => verifyInclusion(t.leaves[i]!, BigInt(i), BigInt(n), p.slice(0, -1), root), `incl ${i}/${n} short`, 'inclusion');
      }
      rejects(() => verifyInclusion(t.leaves[i]!, BigInt(i), BigInt(n), [...p, junk], root), `incl ${i}/${n} long`, 'inclusion');
      // The same proof for another index or size never verifies unless it is that proof too.
      if (i + 1 < n) {
        const q = t.path(i + 1, 0, n);
        if (q.length !== p.length || q.some((h, j) => toHex(h) !== toHex(p[j]!))) {
          rejects(() => verifyInclusion(t.leaves[i]!, BigInt(i + 1), BigInt(n), p, root), `incl ${i}/${n} as ${i + 1}`, 'inclusion');
        }
      }
    }
    for (let m = 0; m <= n; m++) {
      const p = t.consistency(m, n);
      const old = t.mth(0, m);
      verifyConsistency(BigInt(m), BigInt(n), old, root, p);
      if (m > 0 && m < n) {
        assert.equal(p.length, consistencyProofLength(BigInt(m), BigInt(n)));
        const k = (m * 5) % p.length;
        rejects(() => verifyConsistency(BigInt(m), BigInt(n), old, root, p.map((h, j) => (j === k ? junk : h))), `cons ${m}->${n} replaced`, 'consistency');
        rejects(() => verifyConsistency(BigInt(m), BigInt(n), old, root, p.slice(1)), `cons ${m}->${n} short`, 'consistency');
        rejects(() => verifyConsistency(BigInt(m), BigInt(n), old, root, [...p, junk]), `cons ${m}->${n} long`, 'consistency');
        rejects(() => verifyConsistency(BigInt(m), BigInt(n), junk, root, p), `cons ${m}->${n} old root`, 'consistency');
        // The evidence form (seed always in the proof) implies the same roots.
        const pow2 = (m & (m - 1)) === 0;
        const ev = pow2 ? [old, ...p] : p;
        const r = consistencyRoots(BigInt(m), BigInt(n), ev, { seedInProof: true });
        assert.equal(toHex(r.oldRoot), toHex(old));
        assert.equal(toHex(r.newRoot), toHex(root));
      }
    }
  }
});

test('proof lengths and bounds at 64-bit sizes never overflow', () => {
  const max = 2n ** 64n - 1n;
  assert.equal(inclusionProofLength(max - 1n, max), 63);
  assert.equal(inclusionProofLength(0n, max), 64);
  const leaf = new Uint8Array(32);
  rejects(() => rootFromInclusion(leaf, max, max, []), 'index = size', 'inclusion');
  rejects(() => rootFromInclusion(leaf, 0n, 2n ** 64n, []), 'size over u64', 'inclusion');
  rejects(() => verifyInclusion(leaf, 0n, 0n, [], EMPTY_ROOT), 'empty tree', 'inclusion');
  assert.equal(consistencyProofLength(2n ** 62n, max) > 0, true);
});

test('tile paths: the spec examples, round-trips, and the rejection list (spec/tiles.md §4)', () => {
  const ex: [bigint, string][] = [
    [0n, '000'],
    [1000n, 'x001/000'],
    [1234067n, 'x001/x234/067'],
    [2n ** 64n - 1n, 'x018/x446/x744/x073/x709/x551/615'],
  ];
  for (const [n, s] of ex) {
    assert.equal(tilePath({ level: 0, index: n, width: 256 }), `tile/0/${s}`);
    assert.deepEqual(parseTilePath(`tile/0/${s}`), { level: 0, index: n, width: 256 });
  }
  for (const p of ['tile/0/000.p/1', 'tile/63/x001/000.p/255', 'tile/entries/x018/x446/x744/x073/x709/x551/615.p/7', 'tile/5/999']) assert.equal(tilePath(parseTilePath(p)), p);
  for (const level of [0, 1, 9, 10, 63, 'entries'] as const) {
    for (const index of [0n, 7n, 999n, 1000n, 123456789n]) {
      for (const width of [1, 100, 255, 256]) {
        const t = { level, index, width };
        assert.deepEqual(parseTilePath(tilePath(t)), t);
      }
    }
  }
  const bad = [
    '/tile/0/000', 'tile/0/000/', 'tile//000', 'tile/0//000', 'tile/./000', 'tile/../000', 'tile/0/../000', 'tile/00/000', 'tile/01/000', 'tile/64/000',
    'tile/x/000', 'tile/entry/000', 'tile/Entries/000', 'tile/0/00', 'tile/0/0000', 'tile/0/001/000', 'tile/0/x001', 'tile/0/x000/001', 'tile/0/x001/x000',
    'tile/0/x018/x446/x744/x073/x709/x551/616', 'tile/0/x001/x001/x001/x001/x001/x001/x001/000', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/300',
    'tile/0/000.p/01', 'tile/0/000.p/', 'tile/0/x001.p/1/000', 'tile/0/ 000', 'tile/0/+00', 'tile/0/-00', 'tile/0/%30%30%30', 'tile/0/000?', 'tile/0/000#',
    'tile\\0\\000', 'tile/0/٠٠٠', 'tile/0/000.p/1/', 'tile/0/000.P/1', 'tile/0/' + 'x001/'.repeat(12) + '000',
  ];
  for (const p of bad) rejects(() => parseTilePath(p), p, 'tile');
});

test('which tiles exist: the C2SP examples (spec/tiles.md §2)', () => {
  const summary = (n: bigint): string[] => {
    const byLevel = new Map<string, number[]>();
    for (const t of tilesForSize(n)) {
      const k = String(t.level);
      byLevel.set(k, [...(byLevel.get(k) ?? []), t.width]);
    }
    return [...byLevel].filter(([k]) => k !== 'entries').map(([k, ws]) => `${k}:${ws.filter((w) => w === 256).length}full+${ws.filter((w) => w < 256).join(',') || '-'}`);
  };
  assert.deepEqual(summary(70000n), ['0:273full+112', '1:1full+17', '2:0full+1']);
  assert.deepEqual(summary(256n), ['0:1full+-', '1:0full+1']);
  assert.equal(tileWidth('entries', 273n, 70000n), 112);
  assert.equal(tileWidth(0, 274n, 70000n), 0);
  assert.equal(tileWidth(8, 0n, 2n ** 64n - 1n), 0);
});

test('entry bundles: encoding, zero-length entries, truncation and counts', () => {
  const es = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(300)];
  const b = encodeEntryBundle(es);
  assert.deepEqual(decodeEntryBundle(b, 3), es);
  rejects(() => decodeEntryBundle(b.subarray(0, 1)), 'inside a prefix', 'bundle');
  rejects(() => decodeEntryBundle(b.subarray(0, b.length - 1)), 'inside an entry', 'bundle');
  rejects(() => decodeEntryBundle(b, 2), 'count', 'bundle');
  rejects(() => decodeEntryBundle(encodeEntryBundle(Array.from({ length: 256 }, () => new Uint8Array(0))), 255), '256 entries as 255', 'bundle');
  const many = new Uint8Array(2 * 257);
  rejects(() => decodeEntryBundle(many), '257 entries', 'bundle');
});

test('reading nodes from tiles: roots and proofs across the 256 and 65,536 boundaries equal the reference', () => {
  for (const n of [1, 255, 256, 257, 511, 512, 513, 1000]) {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(Uint8Array.of(i & 255, i >> 8, 7)));
    const ref = new RefTree(leaves);
    // Build the tiles this size has, from the reference tree.
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesForSize(BigInt(n))) {
      if (t.level === 'entries') continue;
      const span = 256 ** t.level;
      const out = new Uint8Array(32 * t.width);
      for (let j = 0; j < t.width; j++) {
        const a = (Number(t.index) * 256 + j) * span;
        out.set(ref.mth(a, a + span), 32 * j);
      }
      tiles.set(tilePath(t), out);
    }
    const fetched: string[] = [];
    const reader = new TileReader(BigInt(n), (l, i, w) => {
      fetched.push(tilePath({ level: l, index: i, width: w }));
      const b = tiles.get(tilePath({ level: l, index: i, width: w }));
      if (!b) throw new Error('missing tile');
      return b;
    });
    assert.equal(toHex(reader.root()), toHex(ref.mth(0, n)), `root ${n}`);
    for (const i of [0, n >> 1, n - 1]) assert.deepEqual(reader.inclusionProof(BigInt(i)).map(toHex), ref.path(i, 0, n).map(toHex), `proof ${i}/${n}`);
    assert.equal(new Set(fetched).size, fetched.length, 'each tile fetched once');
  }
  assert.deepEqual(rangeNodes(0n, 7n), [{ level: 2, index: 0n }, { level: 1, index: 2n }, { level: 0, index: 6n }]);
  assert.deepEqual(rangeNodes(4n, 6n), [{ level: 1, index: 2n }]);
});

test('Tessera test log tiles: entries hash to the level-0 tile, which gives both checkpoint roots and proofs', () => {
  const dir = tesseraDir();
  const key = parseVkey('example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx');
  const c15 = verifyCheckpoint(readFileSync(join(dir, 'checkpoint')), key).checkpoint;
  const c7 = verifyCheckpoint(readFileSync(join(dir, 'checkpoint.7')), key).checkpoint;
  const tile = parseHashTile(new Uint8Array(readFileSync(join(dir, 'tile/0/000.p/15'))), 15);
  const entries = decodeEntryBundle(new Uint8Array(readFileSync(join(dir, 'tile/entries/000.p/15'))), 15);
  checkBundleAgainstTile(entries, tile);
  assert.equal(new TextDecoder().decode(entries[0]), 'one');
  const reader = new TileReader(15n, (l, i, w) => new Uint8Array(readFileSync(join(dir, tilePath({ level: l, index: i, width: w })))));
  assert.equal(toHex(reader.root()), toHex(c15.root));
  const ref = new RefTree(tile);
  assert.equal(toHex(ref.mth(0, 7)), toHex(c7.root));
  for (let i = 0n; i < 15n; i++) verifyInclusion(leafHash(entries[Number(i)]!), i, 15n, reader.inclusionProof(i), c15.root);
  verifyConsistency(7n, 15n, c7.root, c15.root, ref.consistency(7, 15));
});
