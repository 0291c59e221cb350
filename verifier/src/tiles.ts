// C2SP tlog-tiles as provlog serves it (spec/tiles.md): tile coordinates,
// strict paths, which tiles exist for a size, hash tiles, entry bundles,
// and reading any complete node (hence roots and proofs) from tiles.

import { bytesEqual, U64_MAX } from './bytes.js';
import { fail } from './errors.js';
import { EMPTY_ROOT, type Hash, leafHash, nodeHash } from './hash.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** A tile: hash tile level 0..63, or the entry bundles. Width 1..256 (256 = full). */
export interface Tile {
  readonly level: number | 'entries';
  readonly index: bigint;
  readonly width: number;
}

function indexPath(n: bigint): string {
  let s = n.toString();
  while (s.length % 3 !== 0) s = '0' + s;
  const groups: string[] = [];
  for (let i = 0; i < s.length; i += 3) groups.push(s.slice(i, i + 3));
  return groups.map((g, i) => (i < groups.length - 1 ? 'x' + g : g)).join('/');
}

/** The tile's path, relative to the log's URL prefix. */
export function tilePath(t: Tile): string {
  const lv = t.level === 'entries' ? 'entries' : String(t.level);
  const suffix = t.width < TILE_WIDTH ? `.p/${t.width}` : '';
  return `tile/${lv}/${indexPath(t.index)}${suffix}`;
}

const PATH_RE = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,6}[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** Parses a tile path, accepting only the exact canonical string (spec/tiles.md §4). */
export function parseTilePath(p: string): Tile {
  if (p.length > 64) fail('tile', 'tile path is longer than 64 bytes');
  const m = PATH_RE.exec(p);
  if (!m) fail('tile', `${JSON.stringify(p)} is not a tile path`);
  const level = m[1] === 'entries' ? 'entries' : Number(m[1]);
  if (level !== 'entries' && level > 63) fail('tile', 'tile level above 63');
  const index = BigInt(m[2]!.replaceAll('x', '').replaceAll('/', ''));
  if (index > U64_MAX) fail('tile', 'tile index above 2^64 - 1');
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (m[3] !== undefined && width > 255) fail('tile', 'a partial tile has width 1 to 255');
  const t: Tile = { level, index, width };
  if (tilePath(t) !== p) fail('tile', `${JSON.stringify(p)} is not the canonical path of its tile`);
  return t;
}

/** Complete nodes at tile level L for tree size n: floor(n / 256^L). */
function countAt(level: number, size: bigint): bigint {
  return level * 8 >= 64 ? 0n : size >> BigInt(level * 8);
}

/** The width tile (level, index) has at tree size `size`, or 0 if it does not exist (spec/tiles.md §2). */
export function tileWidth(level: number | 'entries', index: bigint, size: bigint): number {
  const c = level === 'entries' ? size : countAt(level, size);
  const first = index * BigInt(TILE_WIDTH);
  if (first >= c) return 0;
  const w = c - first;
  return w >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(w);
}

/** Every tile that exists for a tree of size `size`, level by level (entry bundles last). */
export function tilesForSize(size: bigint): Tile[] {
  const out: Tile[] = [];
  for (let level = 0; level < 8; level++) {
    const c = countAt(level, size);
    for (let n = 0n; n * 256n < c; n++) out.push({ level, index: n, width: tileWidth(level, n, size) });
  }
  for (let n = 0n; n * 256n < size; n++) out.push({ level: 'entries', index: n, width: tileWidth('entries', n, size) });
  return out;
}

/** Splits hash tile data of width `width` into its hashes; exactly 32·width bytes. */
export function parseHashTile(data: Uint8Array, width: number): Hash[] {
  if (data.length !== 32 * width) fail('tile', `a hash tile of width ${width} is ${32 * width} bytes, this one is ${data.length}`);
  const out: Hash[] = [];
  for (let i = 0; i < width; i++) out.push(data.slice(32 * i, 32 * i + 32));
  return out;
}

/** Decodes an entry bundle (spec/tiles.md §3); with `width`, the entry count must equal it. */
export function decodeEntryBundle(data: Uint8Array, width?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < data.length) {
    if (out.length === TILE_WIDTH) fail('bundle', 'an entry bundle holds at most 256 entries');
    if (p + 2 > data.length) fail('bundle', 'entry bundle ends inside a length prefix');
    const n = (data[p]! << 8) | data[p + 1]!;
    p += 2;
    if (p + n > data.length) fail('bundle', 'entry bundle ends inside an entry');
    out.push(data.slice(p, p + n));
    p += n;
  }
  if (width !== undefined && out.length !== width) fail('bundle', `entry bundle has ${out.length} entries, the tile's width is ${width}`);
  return out;
}

/** Encodes an entry bundle. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH) throw new Error('more than 256 entries');
  let n = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new Error('entry over 65,535 bytes');
    n += 2 + e.length;
  }
  const out = new Uint8Array(n);
  let p = 0;
  for (const e of entries) {
    out[p] = e.length >> 8;
    out[p + 1] = e.length & 0xff;
    out.set(e, p + 2);
    p += 2 + e.length;
  }
  return out;
}

/** A node (level, index) of the tree (spec/tree.md §3). */
export interface Node {
  readonly level: number;
  readonly index: bigint;
}

function floorLog2(x: bigint): number {
  let n = -1;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function trailingZeros(x: bigint): number {
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** The complete nodes partitioning [a, b) (spec/tree.md §3), largest first. */
export function rangeNodes(a: bigint, b: bigint): Node[] {
  const out: Node[] = [];
  let lo = a;
  while (lo < b) {
    let level = floorLog2(b - lo);
    if (lo > 0n) level = Math.min(level, trailingZeros(lo));
    out.push({ level, index: lo >> BigInt(level) });
    lo += 1n << BigInt(level);
  }
  return out;
}

/** The tile holding node (l, i) and the node's offset in it. */
export function tileOfNode(n: Node): { level: number; index: bigint; offset: number; count: number } {
  const tl = Math.floor(n.level / TILE_HEIGHT);
  const s = n.level % TILE_HEIGHT;
  const first = n.index << BigInt(s);
  return { level: tl, index: first / 256n, offset: Number(first % 256n), count: 1 << s };
}

/**
 * Reads nodes of the tree of size `size` from hash tiles. `getTile(level,
 * index, width)` returns the tile's bytes at the width it has at `size`
 * (a client never asks for a width only a larger size has). Tiles are
 * fetched once each.
 */
export class TileReader {
  private readonly cache = new Map<string, Hash[]>();
  constructor(
    readonly size: bigint,
    private readonly getTile: (level: number, index: bigint, width: number) => Uint8Array,
  ) {}

  private tile(level: number, index: bigint): Hash[] {
    const key = `${level}/${index}`;
    let t = this.cache.get(key);
    if (!t) {
      const width = tileWidth(level, index, this.size);
      if (width === 0) fail('tile', `tile ${level}/${index} does not exist at size ${this.size}`);
      t = parseHashTile(this.getTile(level, index, width), width);
      this.cache.set(key, t);
    }
    return t;
  }

  /** Node (level, index), which must be complete in the tree. */
  node(n: Node): Hash {
    if (((n.index + 1n) << BigInt(n.level)) > this.size) fail('tile', `node (${n.level}, ${n.index}) is not complete at size ${this.size}`);
    const loc = tileOfNode(n);
    const t = this.tile(loc.level, loc.index);
    let layer = t.slice(loc.offset, loc.offset + loc.count);
    if (layer.length !== loc.count) fail('tile', 'tile too short for node');
    while (layer.length > 1) {
      const next: Hash[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(nodeHash(layer[i]!, layer[i + 1]!));
      layer = next;
    }
    return layer[0]!;
  }

  /** MTH of [a, b), from complete nodes (right-to-left fold). */
  rangeHash(a: bigint, b: bigint): Hash {
    const nodes = rangeNodes(a, b).map((n) => this.node(n));
    if (nodes.length === 0) return EMPTY_ROOT;
    let acc = nodes[nodes.length - 1]!;
    for (let i = nodes.length - 2; i >= 0; i--) acc = nodeHash(nodes[i]!, acc);
    return acc;
  }

  root(): Hash {
    return this.rangeHash(0n, this.size);
  }

  /** Inclusion proof for leaf `i` (spec/tree.md §4.1). */
  inclusionProof(i: bigint): Hash[] {
    if (i >= this.size) fail('inclusion', 'index beyond the tree');
    const path = (a: bigint, b: bigint): Hash[] => {
      const m = b - a;
      if (m === 1n) return [];
      let k = 1n;
      while (k * 2n < m) k *= 2n;
      if (i < a + k) return [...path(a, a + k), this.rangeHash(a + k, b)];
      return [...path(a + k, b), this.rangeHash(a, a + k)];
    };
    return path(0n, this.size);
  }
}

/** Checks an entry bundle against the level-0 tile: each entry's leaf hash is the tile's hash. */
export function checkBundleAgainstTile(entries: readonly Uint8Array[], leafTile: readonly Hash[]): void {
  if (entries.length !== leafTile.length) fail('bundle', 'entry bundle and level-0 tile differ in width');
  for (const [i, e] of entries.entries()) {
    if (!bytesEqual(leafHash(e), leafTile[i]!)) fail('bundle', `entry ${i} of the bundle does not hash to the tile's leaf hash`);
  }
}
