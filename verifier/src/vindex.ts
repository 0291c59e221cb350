// The verifiable index (spec/lookup.md §2-4): key material and key hashes,
// the map function (which keys a log entry carries), the prefix-tree and
// list-tree hashing, the index-commit and vendor-key entries, and a
// reference computation of the index root (what a monitor recomputes).

import { be64, bytesEqual, compareBytes, concat, fromHex, toHex, utf8 } from './bytes.js';
import { array, bytes, decode, encode, type Item, kind, text, textKeyedMap, uint } from './cbor.js';
import { HASH_ALGS, type HashAlg } from './claim.js';
import { verifyStrict } from './ed25519.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, nodeHash, sha256 } from './hash.js';
import { TYPE_ED25519 } from './keytypes.js';
import { parseVkey, type VerifierKey } from './note.js';
import { decodeSignedClaim, MAX_MLDSA_KID_SIZE, type SignedClaim } from './signedclaim.js';

function bad(msg: string): never {
  return fail('index', msg);
}

// ---- Keys (§2.1) ----

export const MAX_KEY_MATERIAL = 2062;
/** Longest vkey in a key (the longest kid, signed-claim.md §7.1). */
export const MAX_KEY_VKEY = MAX_MLDSA_KID_SIZE;
export const KEY_DOMAIN = utf8('provlog/index/v1/key');

export type IndexKey =
  | { readonly kind: 1; readonly asset: Uint8Array }
  | { readonly kind: 2; readonly alg: HashAlg; readonly hash: Uint8Array }
  | { readonly kind: 3; readonly alg: string; readonly value: Uint8Array }
  | { readonly kind: 4; readonly vkey: string }
  | { readonly kind: 5; readonly vkey: string; readonly bucket: bigint }
  | { readonly kind: 6; readonly vkey: string };

const SOFT_ALG = /^[A-Za-z0-9._:/+-]{1,128}$/;

function vkeyTextProblem(s: string): string | null {
  const n = utf8(s).length;
  if (n < 1 || n > MAX_KEY_VKEY) return `a key's vkey is 1 to ${MAX_KEY_VKEY} bytes`;
  // No white space or control characters (bytes <= 0x20 and 0x7f, and the
  // Unicode ones).
  if (/[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(s)) return "a key's vkey has no white space or control characters";
  return null;
}

/** Checks a key's fields (§2.1); throws naming the rule. */
export function checkIndexKey(k: IndexKey): void {
  switch (k.kind) {
    case 1:
      if (k.asset.length !== 32) bad('an asset key is a 32-byte SHA-256');
      return;
    case 2:
      if (!(k.alg in HASH_ALGS)) bad(`hard-binding alg ${JSON.stringify(k.alg)} is not sha256, sha384 or sha512`);
      if (k.hash.length !== HASH_ALGS[k.alg]) bad(`a ${k.alg} hard binding is ${HASH_ALGS[k.alg]} bytes, not ${k.hash.length}`);
      return;
    case 3:
      if (!SOFT_ALG.test(k.alg)) bad('a soft-binding alg is 1 to 128 characters of [A-Za-z0-9._:/+-]');
      if (k.value.length < 1 || k.value.length > 1024) bad('a soft-binding value is 1 to 1,024 bytes');
      return;
    case 4:
    case 5:
    case 6: {
      const p = vkeyTextProblem(k.vkey);
      if (p) bad(p);
      return;
    }
  }
}

function keyItem(k: IndexKey): Item {
  switch (k.kind) {
    case 1:
      return array([uint(1), bytes(k.asset)]);
    case 2:
      return array([uint(2), text(k.alg), bytes(k.hash)]);
    case 3:
      return array([uint(3), text(k.alg), bytes(k.value)]);
    case 4:
      return array([uint(4), text(k.vkey)]);
    case 5:
      return array([uint(5), text(k.vkey), uint(k.bucket)]);
    case 6:
      return array([uint(6), text(k.vkey)]);
  }
}

/** The key material: deterministic CBOR (§2.1). */
export function encodeKeyMaterial(k: IndexKey): Uint8Array {
  return encode(keyItem(k));
}

/** Decodes key material strictly (§2.1): shape, kind, fields, one encoding. */
export function decodeKeyMaterial(b: Uint8Array): IndexKey {
  if (b.length > MAX_KEY_MATERIAL) bad(`key material is ${b.length} bytes, over ${MAX_KEY_MATERIAL}`);
  const item = decode(b, { maxDepth: 1 });
  if (item.t !== 'array' || item.v.length < 2) bad('key material is an array [kind, ...]');
  const [kindItem, a, c] = item.v as [Item, Item, Item | undefined];
  if (kindItem.t !== 'uint') bad('the key kind must be an unsigned integer');
  const n = item.v.length;
  const want = (len: number): void => {
    if (n !== len) bad(`a kind-${kindItem.v} key has ${len} elements, not ${n}`);
  };
  const bstr = (i: Item | undefined, what: string): Uint8Array => (i?.t === 'bytes' ? i.v : bad(`${what} must be a byte string`));
  const tstr = (i: Item | undefined, what: string): string => (i?.t === 'text' ? i.v : bad(`${what} must be a text string`));
  let k: IndexKey;
  switch (kindItem.v) {
    case 1n:
      want(2);
      k = { kind: 1, asset: bstr(a, 'the asset hash') };
      break;
    case 2n:
      want(3);
      k = { kind: 2, alg: tstr(a, 'the hard-binding alg') as HashAlg, hash: bstr(c, 'the hard-binding hash') };
      break;
    case 3n:
      want(3);
      k = { kind: 3, alg: tstr(a, 'the soft-binding alg'), value: bstr(c, 'the soft-binding value') };
      break;
    case 4n:
      want(2);
      k = { kind: 4, vkey: tstr(a, 'the vendor vkey') };
      break;
    case 5n:
      want(3);
      if (c?.t !== 'uint') bad('the sequence bucket must be an unsigned integer');
      k = { kind: 5, vkey: tstr(a, 'the vendor vkey'), bucket: c.v };
      break;
    case 6n:
      want(2);
      k = { kind: 6, vkey: tstr(a, 'the vendor vkey') };
      break;
    default:
      return bad(`unknown key kind ${kindItem.v}`);
  }
  checkIndexKey(k);
  if (!bytesEqual(encodeKeyMaterial(k), b)) fail('cbor', 'the key material is not in deterministic encoding');
  return k;
}

/** kh = H("provlog/index/v1/key" ‖ material) (§2.1). */
export function keyHash(material: Uint8Array): Hash {
  return sha256(concat(KEY_DOMAIN, material));
}

/** The key hash of a key. */
export function indexKeyHash(k: IndexKey): Hash {
  return keyHash(encodeKeyMaterial(k));
}

/** Equality of keys (by material). */
export function sameKey(a: IndexKey, b: IndexKey): boolean {
  return bytesEqual(encodeKeyMaterial(a), encodeKeyMaterial(b));
}

/** The CLI form of a key (§2.1 table). */
export function formatIndexKey(k: IndexKey): string {
  switch (k.kind) {
    case 1:
      return `asset:${toHex(k.asset)}`;
    case 2:
      return `hard:${k.alg}:${toHex(k.hash)}`;
    case 3:
      return `soft:${k.alg}:${toHex(k.value)}`;
    case 4:
      return `vendor:${k.vkey}`;
    case 5:
      return `vendor-seq:${k.vkey}:${k.bucket}`;
    case 6:
      return `vendor-key:${k.vkey}`;
  }
}

/**
 * Parses the CLI form. Hex is lowercase. A soft-binding alg and a vkey's
 * name may themselves contain `:`, so the hex value of `soft:` and the
 * bucket of `vendor-seq:` are what follows the LAST colon.
 */
export function parseIndexKey(s: string): IndexKey {
  const colon = s.indexOf(':');
  if (colon < 0) bad(`${JSON.stringify(s)} is not a key (asset:, hard:, soft:, vendor:, vendor-seq:, vendor-key:)`);
  const kw = s.slice(0, colon);
  const rest = s.slice(colon + 1);
  const last = rest.lastIndexOf(':');
  const hex = (h: string, what: string): Uint8Array => fromHex(h) ?? bad(`${what} must be lowercase hex`);
  let k: IndexKey;
  switch (kw) {
    case 'asset':
      k = { kind: 1, asset: hex(rest, 'the asset hash') };
      break;
    case 'hard':
      if (last < 0) bad('expected hard:<alg>:<hex>');
      k = { kind: 2, alg: rest.slice(0, last) as HashAlg, hash: hex(rest.slice(last + 1), 'the hard-binding hash') };
      break;
    case 'soft':
      if (last < 0) bad('expected soft:<alg>:<hex>');
      k = { kind: 3, alg: rest.slice(0, last), value: hex(rest.slice(last + 1), 'the soft-binding value') };
      break;
    case 'vendor':
      k = { kind: 4, vkey: rest };
      break;
    case 'vendor-seq': {
      const b = last < 0 ? '' : rest.slice(last + 1);
      if (!/^(0|[1-9][0-9]{0,19})$/.test(b) || BigInt(b) >= 1n << 64n) bad('expected vendor-seq:<vkey>:<bucket>, the bucket a canonical decimal');
      k = { kind: 5, vkey: rest.slice(0, last), bucket: BigInt(b) };
      break;
    }
    case 'vendor-key':
      k = { kind: 6, vkey: rest };
      break;
    default:
      return bad(`unknown key kind ${JSON.stringify(kw)}`);
  }
  checkIndexKey(k);
  return k;
}

// ---- Hashing (§3) ----

/** The hash of an empty subtree, and the root of the empty index. */
export const EMPTY: Hash = new Uint8Array(32);

/** H(0x10 ‖ kh ‖ u64be(count) ‖ list root). */
export function prefixLeafHash(kh: Hash, count: bigint, listRoot: Hash): Hash {
  return sha256(concat(Uint8Array.of(0x10), kh, be64(count), listRoot));
}

/** H(0x11 ‖ left ‖ right). */
export function prefixInteriorHash(left: Hash, right: Hash): Hash {
  return sha256(concat(Uint8Array.of(0x11), left, right));
}

/** H(0x12 ‖ u64be(entry index)). */
export function listLeafHash(index: bigint): Hash {
  return sha256(concat(Uint8Array.of(0x12), be64(index)));
}

/** Bit i of a 32-byte hash, most significant bit of byte 0 first. */
export function bit(k: Hash, i: number): number {
  return (k[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Appends a leaf to a compact range (spec/tree.md §6); `peaks` and the size are updated in place. */
function appendPeak(peaks: Hash[], size: bigint, h: Hash): void {
  let index = size;
  while ((index & 1n) === 1n) {
    h = nodeHash(peaks.pop()!, h);
    index >>= 1n;
  }
  peaks.push(h);
}

/** The right-to-left fold of the peaks. */
function foldPeaks(peaks: readonly Hash[]): Hash {
  let acc = peaks[peaks.length - 1]!;
  for (let i = peaks.length - 2; i >= 0; i--) acc = nodeHash(peaks[i]!, acc);
  return acc;
}

function popcount(x: bigint): number {
  let n = 0;
  for (; x > 0n; x >>= 1n) n += Number(x & 1n);
  return n;
}

/**
 * The (count, root) of a list tail (§3.2): the peaks of the first `from`
 * list leaves, then the indexes from position `from` on. Requires
 * popcount(from) peaks and at least one index overall.
 */
export function listTailRoot(from: bigint, peaks: readonly Hash[], indexes: readonly bigint[]): { count: bigint; root: Hash } {
  if (peaks.length !== popcount(from)) bad(`a list tail from position ${from} carries ${popcount(from)} peaks, not ${peaks.length}`);
  const count = from + BigInt(indexes.length);
  if (count < 1n) bad('a list has at least one entry');
  const ps = peaks.map((p) => {
    if (p.length !== 32) bad('a list peak is 32 bytes');
    return p;
  });
  let size = from;
  for (const i of indexes) {
    appendPeak(ps, size, listLeafHash(i));
    size++;
  }
  return { count, root: foldPeaks(ps) };
}

/** The list root of a whole list (§3.2): RFC 6962 over the list leaves. */
export function listRoot(indexes: readonly bigint[]): Hash {
  return listTailRoot(0n, [], indexes).root;
}

/** The peaks of the first `n` list leaves of a list (for building tails). */
export function listPeaks(indexes: readonly bigint[], n: number): Hash[] {
  const ps: Hash[] = [];
  for (let i = 0; i < n; i++) appendPeak(ps, BigInt(i), listLeafHash(indexes[i]!));
  return ps;
}

/** One key's leaf: its key hash and list. */
export interface IndexLeaf {
  readonly kh: Hash;
  readonly indexes: readonly bigint[];
}

/**
 * The index root T(all leaves, 0) of §3.1, computed from scratch (the
 * reference a monitor recomputes; cost O(n log n) hashes).
 */
export function indexRoot(leaves: readonly IndexLeaf[]): Hash {
  const sorted = [...leaves].sort((a, b) => compareBytes(a.kh, b.kh));
  for (let i = 1; i < sorted.length; i++) if (bytesEqual(sorted[i - 1]!.kh, sorted[i]!.kh)) bad('two leaves with one key hash');
  const t = (lo: number, hi: number, d: number): Hash => {
    if (lo === hi) return EMPTY;
    if (hi - lo === 1) {
      const l = sorted[lo]!;
      return prefixLeafHash(l.kh, BigInt(l.indexes.length), listRoot(l.indexes));
    }
    let mid = lo;
    while (mid < hi && bit(sorted[mid]!.kh, d) === 0) mid++;
    return prefixInteriorHash(t(lo, mid, d + 1), t(mid, hi, d + 1));
  };
  return t(0, sorted.length, 0);
}

// ---- Log entries added by the index (§4) ----

export const PLOG_TAG = 0x706c6f67n;
export const MAX_INDEX_ENTRY_SIZE = 4096;
const VENDOR_KEY_DOMAIN = utf8('provlog/vendor-key/v1\n');

export interface IndexCommit {
  readonly keys: bigint;
  readonly root: Hash;
  readonly size: bigint;
}

function plogMap(b: Uint8Array, type: string): Map<string, Item> {
  if (b.length > MAX_INDEX_ENTRY_SIZE) bad(`a ${type} entry is at most ${MAX_INDEX_ENTRY_SIZE} bytes, this one is ${b.length}`);
  const item = decode(b, { maxDepth: 2 });
  if (item.t !== 'tag' || item.tag !== PLOG_TAG) bad(`a ${type} entry is tagged ${PLOG_TAG} ("plog")`);
  let m: Map<string, Item>;
  try {
    m = textKeyedMap(item.v, `the ${type} entry`, 'receipt');
  } catch (e) {
    if (e instanceof VerifyError) bad(e.message);
    throw e;
  }
  const t = m.get('t');
  if (t?.t !== 'text' || t.v !== type) bad(`the entry's type is ${t?.t === 'text' ? JSON.stringify(t.v) : 'missing'}, not "${type}"`);
  const v = m.get('v');
  if (v?.t !== 'uint' || v.v !== 1n) bad(`unsupported ${type} version`);
  return m;
}

function onlyKeys(m: Map<string, Item>, allowed: readonly string[], what: string): void {
  for (const k of m.keys()) if (!allowed.includes(k)) bad(`the ${what} entry has the unknown key "${k}"`);
}

export function encodeIndexCommit(c: IndexCommit): Uint8Array {
  return encode({ t: 'tag', tag: PLOG_TAG, v: { t: 'map', v: [[text('t'), text('index-commit')], [text('v'), uint(1)], [text('keys'), uint(c.keys)], [text('root'), bytes(c.root)], [text('size'), uint(c.size)]] } });
}

/** Decodes an index-commit entry (§4.1). */
export function decodeIndexCommit(b: Uint8Array): IndexCommit {
  const m = plogMap(b, 'index-commit');
  onlyKeys(m, ['t', 'v', 'keys', 'root', 'size'], 'index-commit');
  const keys = m.get('keys');
  const root = m.get('root');
  const size = m.get('size');
  if (keys?.t !== 'uint') bad('"keys" must be an unsigned integer');
  if (root?.t !== 'bytes' || root.v.length !== 32) bad('"root" must be 32 bytes');
  if (size?.t !== 'uint') bad('"size" must be an unsigned integer');
  const c = { keys: keys.v, root: root.v, size: size.v };
  if (!bytesEqual(encodeIndexCommit(c), b)) fail('cbor', 'the index-commit is not in deterministic encoding');
  return c;
}

export type VendorKeyOp = 'add' | 'revoke' | 'rotate';

export interface VendorKeyEntry {
  readonly op: VendorKeyOp;
  readonly key: VerifierKey;
  readonly old?: VerifierKey;
  readonly time: bigint;
  readonly sig: Uint8Array;
}

function vendorKeyItem(e: { op: VendorKeyOp; key: string; old?: string; time: bigint }, sig?: Uint8Array): Item {
  const v: [Item, Item][] = [
    [text('t'), text('vendor-key')],
    [text('v'), uint(1)],
    [text('op'), text(e.op)],
    [text('key'), text(e.key)],
  ];
  if (e.old !== undefined) v.push([text('old'), text(e.old)]);
  v.push([text('time'), uint(e.time)]);
  if (sig) v.push([text('sig'), bytes(sig)]);
  return { t: 'tag', tag: PLOG_TAG, v: { t: 'map', v } };
}

/** The message the log signs for a vendor-key entry (§4.2). */
export function vendorKeyMessage(e: { op: VendorKeyOp; key: string; old?: string; time: bigint }): Uint8Array {
  return concat(VENDOR_KEY_DOMAIN, encode(vendorKeyItem(e)));
}

export function encodeVendorKeyEntry(e: { op: VendorKeyOp; key: string; old?: string; time: bigint }, sig: Uint8Array): Uint8Array {
  return encode(vendorKeyItem(e, sig));
}

function ed25519Vkey(s: string, what: string): VerifierKey {
  let k: VerifierKey;
  try {
    k = parseVkey(s);
  } catch (e) {
    return bad(`${what}: ${e instanceof VerifyError ? e.message : String(e)}`);
  }
  if (k.type !== TYPE_ED25519) bad(`${what} must be an Ed25519 (0x01) vkey`);
  if (k.vkey !== s) bad(`${what} is not in its canonical vkey form`);
  return k;
}

/** Decodes a vendor-key entry (§4.2); does not check its signature. */
export function decodeVendorKeyEntry(b: Uint8Array): VendorKeyEntry {
  const m = plogMap(b, 'vendor-key');
  onlyKeys(m, ['t', 'v', 'op', 'key', 'old', 'time', 'sig'], 'vendor-key');
  const op = m.get('op');
  if (op?.t !== 'text' || !['add', 'revoke', 'rotate'].includes(op.v)) bad('"op" must be add, revoke or rotate');
  const keyItem = m.get('key');
  if (keyItem?.t !== 'text') bad('"key" must be a text string');
  const key = ed25519Vkey(keyItem.v, '"key"');
  const oldItem = m.get('old');
  if ((op.v === 'rotate') !== (oldItem !== undefined)) bad('"old" is present exactly for "rotate"');
  let old: VerifierKey | undefined;
  if (oldItem !== undefined) {
    if (oldItem.t !== 'text') bad('"old" must be a text string');
    old = ed25519Vkey(oldItem.v, '"old"');
    if (old.vkey === key.vkey) bad('"old" and "key" must differ');
  }
  const time = m.get('time');
  if (time?.t !== 'uint') bad('"time" must be an unsigned integer');
  const sig = m.get('sig');
  if (sig?.t !== 'bytes' || sig.v.length !== 64) bad('"sig" must be 64 bytes');
  const e = { op: op.v as VendorKeyOp, key, ...(old ? { old } : {}), time: time.v, sig: sig.v };
  if (!bytesEqual(encodeVendorKeyEntry({ op: e.op, key: key.vkey, ...(old ? { old: old.vkey } : {}), time: e.time }, e.sig), b)) fail('cbor', 'the vendor-key entry is not in deterministic encoding');
  return e;
}

/** Verifies a vendor-key entry's signature under the log's Ed25519 key (§4.2). */
export function verifyVendorKeyEntry(e: VendorKeyEntry, logKey: VerifierKey): void {
  if (logKey.type !== TYPE_ED25519) bad('vendor-key entries are signed by the log\'s Ed25519 key');
  const msg = vendorKeyMessage({ op: e.op, key: e.key.vkey, ...(e.old ? { old: e.old.vkey } : {}), time: e.time });
  if (!verifyStrict(logKey.publicKey, msg, e.sig)) bad(`the vendor-key entry's signature does not verify under the log key ${logKey.vkey}`);
}

/** What kind of entry a log entry is (§2.2, §4). */
export type ClassifiedEntry =
  | { readonly kind: 'claim'; readonly claim: SignedClaim }
  | { readonly kind: 'vendor-key'; readonly entry: VendorKeyEntry }
  | { readonly kind: 'index-commit'; readonly commit: IndexCommit }
  | { readonly kind: 'other' };

/** Classifies an entry by its first byte and whether it parses (signatures not checked). */
export function classifyEntry(b: Uint8Array): ClassifiedEntry {
  try {
    if (b[0] === 0xd2) return { kind: 'claim', claim: decodeSignedClaim(b) };
    if (b[0] === 0xda) {
      try {
        return { kind: 'index-commit', commit: decodeIndexCommit(b) };
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
      }
      return { kind: 'vendor-key', entry: decodeVendorKeyEntry(b) };
    }
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
  }
  return { kind: 'other' };
}

/** The keys of a signed claim (§2.2), in order, without duplicates. */
export function claimKeys(sc: SignedClaim): IndexKey[] {
  const c = sc.claim;
  const out: IndexKey[] = [{ kind: 1, asset: c.asset.sha256 }];
  if (c.c2pa) out.push({ kind: 2, alg: c.c2pa.hard.alg, hash: c.c2pa.hard.hash });
  for (const s of c.soft ?? []) {
    const k: IndexKey = { kind: 3, alg: s.alg, value: s.value };
    if (!out.some((x) => sameKey(x, k))) out.push(k);
  }
  out.push({ kind: 4, vkey: sc.kid.vkey });
  if (c.sequence !== undefined) out.push({ kind: 5, vkey: sc.kid.vkey, bucket: c.sequence >> 8n });
  return out;
}

/** The keys of any log entry (§2.2): a pure function of its bytes. */
export function entryKeys(b: Uint8Array): IndexKey[] {
  const c = classifyEntry(b);
  if (c.kind === 'claim') return claimKeys(c.claim);
  if (c.kind === 'vendor-key') return c.entry.old ? [{ kind: 6, vkey: c.entry.key.vkey }, { kind: 6, vkey: c.entry.old.vkey }] : [{ kind: 6, vkey: c.entry.key.vkey }];
  return [];
}

/** Whether the entry carries the key (§2.2). */
export function entryCarriesKey(b: Uint8Array, k: IndexKey): boolean {
  return entryKeys(b).some((x) => sameKey(x, k));
}

/**
 * Recomputes the index over entries [0, n) (a monitor's check of an
 * index-commit, §7.1): the root and the number of distinct keys.
 */
export function recomputeIndex(entries: readonly Uint8Array[]): { root: Hash; keys: bigint } {
  const lists = new Map<string, { kh: Hash; indexes: bigint[] }>();
  for (const [i, e] of entries.entries()) {
    for (const k of entryKeys(e)) {
      const kh = indexKeyHash(k);
      const id = toHex(kh);
      let l = lists.get(id);
      if (!l) lists.set(id, (l = { kh, indexes: [] }));
      l.indexes.push(BigInt(i));
    }
  }
  const leaves = [...lists.values()];
  return { root: indexRoot(leaves), keys: BigInt(leaves.length) };
}
