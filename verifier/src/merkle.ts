// RFC 6962 / RFC 9162 Merkle tree: proof verification (spec/tree.md §5) and,
// for tests and tile readers, the reference tree hash and proofs (§2, §4).
// Sizes and indexes are bigints: the spec's sizes are unsigned 64-bit.

import { bytesEqual, toHex, U64_MAX } from './bytes.js';
import { fail } from './errors.js';
import { EMPTY_ROOT, type Hash, nodeHash } from './hash.js';

function bitlen(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function popcount(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

function trailingZeros(x: bigint): number {
  // x > 0
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function checkU64(name: string, v: bigint, check: 'inclusion' | 'consistency'): void {
  if (v < 0n || v > U64_MAX) fail(check, `${name} ${v} is not an unsigned 64-bit integer`);
}

function checkHashes(proof: readonly Hash[], check: 'inclusion' | 'consistency'): void {
  for (const [i, h] of proof.entries()) {
    if (h.length !== 32) fail(check, `proof hash ${i} is ${h.length} bytes, not 32`);
  }
}

/** Inclusion proof length for leaf `i` of a tree of size `n` (i < n). */
export function inclusionProofLength(i: bigint, n: bigint): number {
  const inner = bitlen(i ^ (n - 1n));
  return inner + popcount(i >> BigInt(inner));
}

/**
 * The root an inclusion proof leads to (spec/tree.md §5.1 steps 1-3);
 * throws (check `inclusion`) if the index, size or proof length is wrong.
 */
export function rootFromInclusion(leaf: Hash, index: bigint, size: bigint, proof: readonly Hash[]): Hash {
  checkU64('index', index, 'inclusion');
  checkU64('size', size, 'inclusion');
  if (leaf.length !== 32) fail('inclusion', 'leaf hash is not 32 bytes');
  checkHashes(proof, 'inclusion');
  if (index >= size) fail('inclusion', `index ${index} is not below the tree size ${size}`);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) {
    fail('inclusion', `inclusion proof has ${proof.length} hashes; index ${index} in a tree of ${size} needs exactly ${want}`);
  }
  let f = index;
  let s = size - 1n;
  let r = leaf;
  for (const c of proof) {
    if (s === 0n) fail('inclusion', 'inclusion proof is too long');
    if ((f & 1n) === 1n || f === s) {
      r = nodeHash(c, r);
      if ((f & 1n) === 0n) {
        while (!((f & 1n) === 1n || f === 0n)) {
          f >>= 1n;
          s >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, c);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (s !== 0n) fail('inclusion', 'inclusion proof is too short');
  return r;
}

/** Verifies an inclusion proof against `root` (spec/tree.md §5.1); throws on failure. */
export function verifyInclusion(leaf: Hash, index: bigint, size: bigint, proof: readonly Hash[], root: Hash): void {
  const r = rootFromInclusion(leaf, index, size, proof);
  if (!bytesEqual(r, root)) {
    fail('inclusion', `inclusion proof for entry ${index} leads to root ${toHex(r)}, not the checkpoint's ${toHex(root)}`);
  }
}

/** Consistency proof length from `m` to `n` (0 < m < n), RFC form (no seed when m is a power of two). */
export function consistencyProofLength(m: bigint, n: bigint): number {
  const z = trailingZeros(m);
  const f0 = (m - 1n) >> BigInt(z);
  const s0 = (n - 1n) >> BigInt(z);
  const inner = bitlen(f0 ^ s0);
  const border = popcount(f0 >> BigInt(inner));
  const seed = m === 1n << BigInt(z) ? 0 : 1;
  return seed + inner + border;
}

/**
 * Folds a consistency proof (spec/tree.md §5.2 steps 4-7) for 0 < m < n and
 * returns the old and new roots it implies. `seed` is the starting hash when
 * the proof does not carry it (m a power of two, RFC form); with
 * `seedInProof` the proof always starts with the old tree's first node
 * (the evidence form, spec/evidence.md).
 */
export function consistencyRoots(
  m: bigint,
  n: bigint,
  proof: readonly Hash[],
  opts: { seed?: Hash; seedInProof?: boolean } = {},
): { oldRoot: Hash; newRoot: Hash } {
  checkU64('old size', m, 'consistency');
  checkU64('new size', n, 'consistency');
  checkHashes(proof, 'consistency');
  if (!(m > 0n && m < n)) fail('consistency', `consistency fold needs 0 < old size < new size, got ${m} and ${n}`);
  const z = trailingZeros(m);
  const pow2 = m === 1n << BigInt(z);
  let want = consistencyProofLength(m, n);
  const carriesSeed = !pow2 || opts.seedInProof === true;
  if (pow2 && opts.seedInProof) want += 1;
  if (proof.length !== want) {
    fail('consistency', `consistency proof has ${proof.length} hashes; ${m} to ${n} needs exactly ${want}`);
  }
  let start: Hash;
  let rest: readonly Hash[];
  if (carriesSeed) {
    start = proof[0]!;
    rest = proof.slice(1);
  } else {
    if (!opts.seed) fail('consistency', 'no old root to start the fold from');
    start = opts.seed;
    rest = proof;
  }
  let f = m - 1n;
  let s = n - 1n;
  while ((f & 1n) === 1n) {
    f >>= 1n;
    s >>= 1n;
  }
  let fr = start;
  let sr = start;
  for (const c of rest) {
    if (s === 0n) fail('consistency', 'consistency proof is too long');
    if ((f & 1n) === 1n || f === s) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((f & 1n) === 0n) {
        while (!((f & 1n) === 1n || f === 0n)) {
          f >>= 1n;
          s >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (s !== 0n) fail('consistency', 'consistency proof is too short');
  return { oldRoot: fr, newRoot: sr };
}

/** Verifies a consistency proof (spec/tree.md §5.2); throws on failure. */
export function verifyConsistency(m: bigint, n: bigint, oldRoot: Hash, newRoot: Hash, proof: readonly Hash[]): void {
  checkU64('old size', m, 'consistency');
  checkU64('new size', n, 'consistency');
  if (oldRoot.length !== 32 || newRoot.length !== 32) fail('consistency', 'roots must be 32 bytes');
  if (m > n) fail('consistency', `old size ${m} is larger than new size ${n}`);
  if (m === n) {
    if (proof.length !== 0) fail('consistency', 'a proof between equal sizes must be empty');
    if (!bytesEqual(oldRoot, newRoot)) fail('consistency', `two different roots for the same size ${m}`);
    return;
  }
  if (m === 0n) {
    if (proof.length !== 0) fail('consistency', 'a proof from the empty tree must be empty');
    if (!bytesEqual(oldRoot, EMPTY_ROOT)) fail('consistency', 'the root of the empty tree must be SHA-256("")');
    return;
  }
  const { oldRoot: fr, newRoot: sr } = consistencyRoots(m, n, proof, { seed: oldRoot });
  if (!bytesEqual(fr, oldRoot)) fail('consistency', `consistency proof implies old root ${toHex(fr)}, not ${toHex(oldRoot)}`);
  if (!bytesEqual(sr, newRoot)) fail('consistency', `consistency proof implies new root ${toHex(sr)}, not ${toHex(newRoot)}`);
}

// ---- Reference tree computation (spec/tree.md §2, §4), over leaf hashes ----

/** k(n): the largest power of two smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes `leaves[a:b]`. */
export function treeHash(leaves: readonly Hash[], a = 0, b = leaves.length): Hash {
  const m = b - a;
  if (m === 0) return EMPTY_ROOT;
  if (m === 1) return leaves[a]!;
  const k = split(m);
  return nodeHash(treeHash(leaves, a, a + k), treeHash(leaves, a + k, b));
}

/** PATH(i, D[a:b]) (spec/tree.md §4.1). */
export function inclusionPath(leaves: readonly Hash[], i: number, a = 0, b = leaves.length): Hash[] {
  const m = b - a;
  if (m <= 1) return [];
  const k = split(m);
  if (i < a + k) return [...inclusionPath(leaves, i, a, a + k), treeHash(leaves, a + k, b)];
  return [...inclusionPath(leaves, i, a + k, b), treeHash(leaves, a, a + k)];
}

/** Consistency proof from size m to leaves.length (spec/tree.md §4.2). */
export function consistencyPath(leaves: readonly Hash[], m: number): Hash[] {
  const n = leaves.length;
  if (m === 0 || m === n) return [];
  const sub = (a: number, b: number, whole: boolean): Hash[] => {
    if (m === b) return whole ? [] : [treeHash(leaves, a, b)];
    const k = split(b - a);
    if (m <= a + k) return [...sub(a, a + k, whole), treeHash(leaves, a + k, b)];
    return [...sub(a + k, b, false), treeHash(leaves, a, a + k)];
  };
  return sub(0, n, true);
}
