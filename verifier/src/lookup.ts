// Lookups, two formats:
//
// - the lookup PROOF bundle of spec/lookup.md §6 (CBOR): `verifyLookup`
//   proves every entry for a key, complete as of an index-commit, or that
//   no entry carries it; `vendorKeyStatus` applies §5 to a vendor-key
//   lookup;
// - the older JSON answer of `GET /v1/lookup?asset=<hex>` (spec/http-api.md),
//   which the page reads today: `verifyLookupAnswer` checks the checkpoint
//   and every returned entry, but it proves nothing about entries the log
//   did not return (`LookupCompleteness` 'none').

import { bytesEqual, fromBase64, fromHex, toHex, utf8 } from './bytes.js';
import { array, bytes, decode, encode, type Item, map, textKeyedMap, uint } from './cbor.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, leafHash } from './hash.js';
import { type Json, parseJsonStrict } from './json.js';
import { TYPE_ED25519 } from './keytypes.js';
import { verifyInclusion } from './merkle.js';
import type { VerifierKey } from './note.js';
import { type Policy, type PolicyVerified, singleLogPolicy, verifyCheckpointWithPolicy } from './policy.js';
import { decodeSignedClaim, MAX_ENTRY_SIZE, type SignedClaim, verifySignedClaim } from './signedclaim.js';
import {
  bit,
  classifyEntry,
  decodeIndexCommit,
  decodeKeyMaterial,
  EMPTY,
  entryCarriesKey,
  formatIndexKey,
  type IndexCommit,
  type IndexKey,
  keyHash,
  listTailRoot,
  MAX_INDEX_ENTRY_SIZE,
  MAX_KEY_MATERIAL,
  parseIndexKey,
  prefixInteriorHash,
  prefixLeafHash,
  sameKey,
  encodeKeyMaterial,
  type VendorKeyEntry,
  verifyVendorKeyEntry,
} from './vindex.js';

export const MAX_LOOKUP_ENTRIES = 1000;
/** A generous bound on a lookup body: 1000 entries of at most 16 KiB, base64, with proofs. */
export const MAX_LOOKUP_BODY = 32 * 1024 * 1024;

export interface LookupEntry {
  readonly index: bigint;
  readonly entry: Uint8Array;
  readonly proof: readonly Hash[];
}
export interface LookupResponse {
  readonly asset: Hash;
  readonly checkpoint: string;
  readonly entries: readonly LookupEntry[];
}

/**
 * What the answer proves about entries the log did NOT return. Only
 * 'none' exists today; the verifiable-lookup work adds the proof kinds.
 */
export type LookupCompleteness = { readonly kind: 'none'; readonly reason: string };

function bad(msg: string): never {
  return fail('lookup', msg);
}

function obj(j: Json, what: string): { [k: string]: Json } {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return bad(`${what} must be a JSON object`);
  return j as { [k: string]: Json };
}

/** Parses a lookup response body. Unknown fields are ignored (the API may add proofs). */
export function parseLookupResponse(body: string): LookupResponse {
  if (utf8(body).length > MAX_LOOKUP_BODY) bad('the lookup response is too large');
  const j = obj(parseJsonStrict(body, 'lookup', { bigInts: true }), 'the lookup response');
  const asset = typeof j.asset === 'string' ? fromHex(j.asset, 32) : null;
  if (!asset) bad('"asset" must be 64 lowercase hex digits');
  if (typeof j.checkpoint !== 'string') bad('"checkpoint" must be a string');
  if (!Array.isArray(j.entries)) bad('"entries" must be an array');
  const list = j.entries as Json[];
  if (list.length > MAX_LOOKUP_ENTRIES) bad(`more than ${MAX_LOOKUP_ENTRIES} entries`);
  const entries = list.map((e, n) => {
    const o = obj(e, `entry ${n}`);
    if (typeof o.index !== 'bigint' || o.index < 0n) bad(`entry ${n}: "index" must be an unsigned integer`);
    const entry = typeof o.entry === 'string' ? fromBase64(o.entry) : null;
    if (!entry) bad(`entry ${n}: "entry" must be canonical base64`);
    if (!Array.isArray(o.proof)) bad(`entry ${n}: "proof" must be an array`);
    const proof = (o.proof as Json[]).map((h, i) => {
      const b = typeof h === 'string' ? fromBase64(h) : null;
      if (!b || b.length !== 32) bad(`entry ${n}: proof element ${i} is not base64 of a 32-byte hash`);
      return b as Uint8Array;
    });
    return { index: o.index as bigint, entry: entry as Uint8Array, proof };
  });
  return { asset: asset as Uint8Array, checkpoint: j.checkpoint as string, entries };
}

export interface VerifiedLookupEntry {
  readonly index: bigint;
  readonly signedClaim: SignedClaim;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
}
export interface VerifiedLookup {
  readonly checkpoint: PolicyVerified;
  readonly entries: readonly VerifiedLookupEntry[];
  readonly completeness: LookupCompleteness;
}

/**
 * Verifies a lookup answer for the asset whose SHA-256 is `asset`: the
 * checkpoint under `policy`, and for every entry its signed claim, its
 * signature, that it claims this asset, and its inclusion proof.
 */
export function verifyLookupAnswer(resp: LookupResponse, asset: Hash, policy: Policy): VerifiedLookup {
  if (!bytesEqual(resp.asset, asset)) bad(`the answer is for asset ${toHex(resp.asset)}, not ${toHex(asset)}`);
  const checkpoint = verifyCheckpointWithPolicy(resp.checkpoint, policy);
  const seen = new Set<bigint>();
  const entries = resp.entries.map((e) => {
    const where = `entry ${e.index}`;
    if (seen.has(e.index)) bad(`${where} is listed twice`);
    seen.add(e.index);
    let sc: SignedClaim;
    try {
      sc = decodeSignedClaim(e.entry);
      verifySignedClaim(sc);
    } catch (err) {
      if (err instanceof VerifyError) throw new VerifyError(err.check, `${where}: ${err.message}`);
      throw err;
    }
    if (!bytesEqual(sc.claim.asset.sha256, asset)) bad(`${where} is a claim for another asset (${toHex(sc.claim.asset.sha256)})`);
    const leaf = leafHash(e.entry);
    try {
      verifyInclusion(leaf, e.index, checkpoint.checkpoint.size, e.proof, checkpoint.checkpoint.root);
    } catch (err) {
      if (err instanceof VerifyError) throw new VerifyError('inclusion', `${where}: ${err.message}`);
      throw err;
    }
    return { index: e.index, signedClaim: sc, leafHash: leaf, proof: e.proof };
  });
  return {
    checkpoint,
    entries,
    completeness: { kind: 'none', reason: 'this log does not yet prove that a lookup answer is complete' },
  };
}

// ---- Lookup proof bundles (spec/lookup.md §6) ----

export const MAX_LOOKUP_PROOF_SIZE = 20 * 1024 * 1024;
const MAX_PATH = 256;
const MAX_HASHES = 64;
const MAX_LIST = 1024;
const MAX_CHECKPOINT_NOTE = 64 * 1024;

export interface LookupProofEntry {
  readonly index: bigint;
  readonly entry: Uint8Array;
  readonly proof: readonly Hash[];
}

/** A decoded lookup proof bundle (structure and limits only). */
export interface LookupProof {
  readonly key: Uint8Array;
  readonly path: readonly Uint8Array[];
  readonly commit: Uint8Array;
  readonly proof: readonly Hash[];
  readonly checkpoint: Uint8Array;
  readonly found?: { readonly from: bigint; readonly peaks: readonly Hash[]; readonly indexes: readonly bigint[] };
  readonly other?: { readonly kh: Hash; readonly count: bigint; readonly listRoot: Hash };
  readonly entries?: readonly LookupProofEntry[];
}

function lbad(msg: string): never {
  return fail('lookup', msg);
}

function hashList(i: Item | undefined, what: string, max: number): Hash[] {
  if (i?.t !== 'array') return lbad(`${what} must be an array`);
  if (i.v.length > max) lbad(`${what} has ${i.v.length} hashes, over ${max}`);
  return i.v.map((h, n) => (h.t === 'bytes' && h.v.length === 32 ? h.v : lbad(`${what} element ${n} is not a 32-byte hash`)));
}

function uintOf(i: Item | undefined, what: string): bigint {
  return i?.t === 'uint' ? i.v : lbad(`${what} must be an unsigned integer`);
}

/** The deterministic encoding of a bundle. */
export function encodeLookupProof(p: LookupProof): Uint8Array {
  const fields: [string, Item][] = [
    ['v', uint(1)],
    ['key', bytes(p.key)],
    ['path', array(p.path.map(bytes))],
    ['commit', bytes(p.commit)],
    ['proof', array(p.proof.map(bytes))],
    ['checkpoint', bytes(p.checkpoint)],
  ];
  if (p.found) fields.push(['found', array([uint(p.found.from), array(p.found.peaks.map(bytes)), array(p.found.indexes.map(uint))])]);
  if (p.other) fields.push(['other', array([bytes(p.other.kh), uint(p.other.count), bytes(p.other.listRoot)])]);
  if (p.entries) fields.push(['entries', array(p.entries.map((e) => array([uint(e.index), bytes(e.entry), array(e.proof.map(bytes))])))]);
  return encode(map(fields));
}

/** Decodes a lookup proof bundle strictly (§6.1, §6.2 step 1). */
export function decodeLookupProof(b: Uint8Array): LookupProof {
  if (b.length > MAX_LOOKUP_PROOF_SIZE) lbad(`the lookup proof is ${b.length} bytes, over ${MAX_LOOKUP_PROOF_SIZE}`);
  const item = decode(b, { maxDepth: 4 });
  let m: Map<string, Item>;
  try {
    m = textKeyedMap(item, 'the lookup proof', 'receipt');
  } catch (e) {
    if (e instanceof VerifyError && e.check === 'receipt') lbad(e.message);
    throw e;
  }
  for (const k of m.keys()) if (!['v', 'key', 'path', 'found', 'other', 'proof', 'commit', 'entries', 'checkpoint'].includes(k)) lbad(`the lookup proof has the unknown key "${k}"`);
  if (uintOf(m.get('v'), '"v"') !== 1n) lbad('unsupported lookup proof version');
  const key = m.get('key');
  if (key?.t !== 'bytes') lbad('"key" must be a byte string');
  if (key.v.length > MAX_KEY_MATERIAL) lbad(`"key" is over ${MAX_KEY_MATERIAL} bytes`);
  const path = m.get('path');
  if (path?.t !== 'array') lbad('"path" must be an array');
  if (path.v.length > MAX_PATH) lbad(`"path" has ${path.v.length} siblings, over ${MAX_PATH}`);
  const siblings = path.v.map((h, n) => (h.t === 'bytes' && (h.v.length === 32 || h.v.length === 0) ? h.v : lbad(`path element ${n} is neither 32 bytes nor empty`)));
  const commit = m.get('commit');
  if (commit?.t !== 'bytes') lbad('"commit" must be a byte string');
  if (commit.v.length > MAX_INDEX_ENTRY_SIZE) lbad(`"commit" is over ${MAX_INDEX_ENTRY_SIZE} bytes`);
  const proof = hashList(m.get('proof'), '"proof"', MAX_HASHES);
  const cp = m.get('checkpoint');
  if (cp?.t !== 'bytes') lbad('"checkpoint" must be a byte string');
  if (cp.v.length > MAX_CHECKPOINT_NOTE) lbad('"checkpoint" is over 64 KiB');
  let found: LookupProof['found'];
  const f = m.get('found');
  if (f !== undefined) {
    if (f.t !== 'array' || f.v.length !== 3) lbad('"found" is [from, peaks, indexes]');
    const idx = f.v[2]!;
    if (idx.t !== 'array') lbad('found indexes must be an array');
    if (idx.v.length > MAX_LIST) lbad(`found lists ${idx.v.length} indexes, over ${MAX_LIST}`);
    found = { from: uintOf(f.v[0], 'found from'), peaks: hashList(f.v[1], 'found peaks', MAX_HASHES), indexes: idx.v.map((x, n) => uintOf(x, `found index ${n}`)) };
  }
  let other: LookupProof['other'];
  const o = m.get('other');
  if (o !== undefined) {
    if (o.t !== 'array' || o.v.length !== 3) lbad('"other" is [key hash, count, list root]');
    const [kh, c, r] = o.v as [Item, Item, Item];
    if (kh.t !== 'bytes' || kh.v.length !== 32 || r.t !== 'bytes' || r.v.length !== 32) lbad('"other" holds two 32-byte hashes');
    other = { kh: kh.v, count: uintOf(c, 'other count'), listRoot: r.v };
  }
  if (found && other) lbad('a lookup proof has at most one of "found" and "other"');
  let entries: LookupProofEntry[] | undefined;
  const es = m.get('entries');
  if (es !== undefined) {
    if (es.t !== 'array' || es.v.length < 1 || es.v.length > MAX_LIST) lbad(`"entries" is an array of 1 to ${MAX_LIST} entries`);
    entries = es.v.map((e, n) => {
      if (e.t !== 'array' || e.v.length !== 3) lbad(`entries element ${n} is [index, entry, proof]`);
      const eb = e.v[1]!;
      if (eb.t !== 'bytes' || eb.v.length > MAX_ENTRY_SIZE) lbad(`entries element ${n}: the entry is a byte string of at most ${MAX_ENTRY_SIZE} bytes`);
      return { index: uintOf(e.v[0], `entries element ${n} index`), entry: eb.v, proof: hashList(e.v[2], `entries element ${n} proof`, MAX_HASHES) };
    });
  }
  const p: LookupProof = { key: key.v, path: siblings, commit: commit.v, proof, checkpoint: cp.v, ...(found ? { found } : {}), ...(other ? { other } : {}), ...(entries ? { entries } : {}) };
  if (!bytesEqual(encodeLookupProof(p), b)) fail('cbor', 'the lookup proof is not in deterministic encoding');
  return p;
}

/** An entry of a verified found result. */
export interface VerifiedLookupProofEntry {
  readonly index: bigint;
  readonly entry: Uint8Array;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
}

/** A verified lookup proof (spec/lookup.md §6.2 "Result"). */
export interface VerifiedLookupProof {
  readonly key: IndexKey;
  readonly keyHash: Hash;
  readonly outcome: 'found' | 'absent';
  /** Found: the list's length c; absent: 0. */
  readonly count: bigint;
  /** Found: the list position of the first listed index (a tail when > 0). */
  readonly from: bigint;
  /** Found: the listed indexes (positions from..count-1). */
  readonly indexes: readonly bigint[];
  /** Present when the bundle carried entries: each verified and carrying the key. */
  readonly entries?: readonly VerifiedLookupProofEntry[];
  readonly commit: IndexCommit;
  /** C = N + 1: the answer is complete for entries [0, N) and the commit at N. */
  readonly coveredSize: bigint;
  /** S: the size of the checkpoint the commit is shown in. */
  readonly checkpointSize: bigint;
  readonly checkpoint: PolicyVerified;
}

/**
 * An entry listed by a verified lookup that does not carry the key:
 * evidence (spec/lookup.md §7.2 `index-false-entry`), not merely a bad
 * bundle. `index`, `entry` and `proof` are what the evidence needs.
 */
export class LookupFalseEntryError extends VerifyError {
  readonly index: bigint;
  readonly entry: Uint8Array;
  readonly proof: readonly Hash[];
  constructor(index: bigint, entry: Uint8Array, proof: readonly Hash[], key: IndexKey) {
    super('lookup', `entry ${index} is listed for ${formatIndexKey(key)} but does not carry that key: this bundle is index-false-entry evidence against the log`);
    this.name = 'LookupFalseEntryError';
    this.index = index;
    this.entry = entry;
    this.proof = proof;
  }
}

function asPolicy(p: Policy | VerifierKey): Policy {
  return 'logs' in p ? p : singleLogPolicy(p);
}

function asKey(k: IndexKey | Uint8Array | string): Uint8Array {
  if (typeof k === 'string') return encodeKeyMaterial(parseIndexKey(k));
  return k instanceof Uint8Array ? k : encodeKeyMaterial(k);
}

function withCheck<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError && !(e instanceof LookupFalseEntryError)) throw new VerifyError(e.check, `${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Steps 1-6 of spec/lookup.md §6.2: the key, the checkpoint under the
 * policy, the commit's inclusion, and the prefix-tree fold to the commit's
 * root. `entries` are decoded but not checked (step 7).
 */
export function verifyLookupIndex(bundle: Uint8Array | LookupProof, policyOrKey: Policy | VerifierKey, asked?: IndexKey | Uint8Array | string): Omit<VerifiedLookupProof, 'entries'> & { readonly bundle: LookupProof } {
  const p = bundle instanceof Uint8Array ? decodeLookupProof(bundle) : bundle;
  // 2. The key.
  const key = withCheck('the key', () => decodeKeyMaterial(p.key));
  if (asked !== undefined && !bytesEqual(asKey(asked), p.key)) lbad(`the bundle answers for ${formatIndexKey(key)}, not for the key asked about`);
  const kh = keyHash(p.key);
  // 3. The checkpoint.
  const checkpoint = verifyCheckpointWithPolicy(p.checkpoint, asPolicy(policyOrKey));
  const S = checkpoint.checkpoint.size;
  const R = checkpoint.checkpoint.root;
  // 4. The commit and its inclusion at index N.
  const commit = withCheck('the index-commit', () => decodeIndexCommit(p.commit));
  const N = commit.size;
  if (!(N < S)) lbad(`the index-commit covers ${N} entries, so it sits at index ${N}, not below the checkpoint's size ${S}`);
  try {
    verifyInclusion(leafHash(p.commit), N, S, p.proof, R);
  } catch (e) {
    if (e instanceof VerifyError) fail('inclusion', `the index-commit at index ${N}: ${e.message}`);
    throw e;
  }
  // 5. The terminal hash.
  const d = p.path.length;
  let t: Hash;
  let outcome: 'found' | 'absent';
  let count = 0n;
  let from = 0n;
  let indexes: readonly bigint[] = [];
  if (p.found) {
    const f = p.found;
    for (let i = 0; i < f.indexes.length; i++) {
      if (i > 0 && !(f.indexes[i]! > f.indexes[i - 1]!)) lbad('the listed indexes are not strictly increasing');
      if (!(f.indexes[i]! < N)) lbad(`listed index ${f.indexes[i]} is not below the commit's size ${N}`);
    }
    if (f.indexes.length === 0) lbad('a found list (or list tail) lists at least one index');
    const tail = withCheck('the list', () => listTailRoot(f.from, f.peaks, f.indexes));
    count = tail.count;
    from = f.from;
    indexes = f.indexes;
    t = prefixLeafHash(kh, tail.count, tail.root);
    outcome = 'found';
  } else if (p.other) {
    const o = p.other;
    if (bytesEqual(o.kh, kh)) lbad('the neighbouring leaf of an absence proof is the key itself');
    for (let i = 0; i < d; i++) if (bit(o.kh, i) !== bit(kh, i)) lbad(`the neighbouring leaf differs from the key at bit ${i}, above its depth ${d}`);
    if (o.count < 1n) lbad('the neighbouring leaf has an empty list');
    t = prefixLeafHash(o.kh, o.count, o.listRoot);
    outcome = 'absent';
  } else {
    t = EMPTY;
    outcome = 'absent';
  }
  if (d > 0 && p.path[d - 1]!.length === 0) lbad('the terminal node has an empty sibling, which a prefix tree never has');
  // 6. The fold.
  for (let i = d - 1; i >= 0; i--) {
    const s = p.path[i]!.length === 0 ? EMPTY : p.path[i]!;
    t = bit(kh, i) === 0 ? prefixInteriorHash(t, s) : prefixInteriorHash(s, t);
  }
  if (!bytesEqual(t, commit.root)) lbad(`the path does not lead to the index root of the commit (it gives ${toHex(t)})`);
  if (outcome === 'absent' && p.entries) lbad('an absence proof carries no entries');
  return { bundle: p, key, keyHash: kh, outcome, count, from, indexes, commit, coveredSize: N + 1n, checkpointSize: S, checkpoint };
}

/**
 * Verifies a lookup proof bundle (spec/lookup.md §6.2,
 * `verify_lookup(bundle, policy, key?)`) under a trust policy or a bare log
 * key (the policy with that one log and no quorum), optionally for the key
 * asked about (material bytes, an IndexKey, or its CLI form). Throws a
 * VerifyError naming the check; a listed entry that does not carry the key
 * throws LookupFalseEntryError (evidence).
 */
export function verifyLookup(bundle: Uint8Array | LookupProof, policyOrKey: Policy | VerifierKey, key?: IndexKey | Uint8Array | string): VerifiedLookupProof {
  const { bundle: p, ...v } = verifyLookupIndex(bundle, policyOrKey, key);
  if (!p.entries) return v;
  // 7. Entries: one per listed index, in order, included, carrying the key.
  if (p.entries.length !== v.indexes.length) lbad(`the bundle carries ${p.entries.length} entries for ${v.indexes.length} listed indexes`);
  const { size, root } = v.checkpoint.checkpoint;
  const entries = p.entries.map((e, n): VerifiedLookupProofEntry => {
    if (e.index !== v.indexes[n]) lbad(`entries element ${n} is entry ${e.index}, the list says ${v.indexes[n]}`);
    const leaf = leafHash(e.entry);
    try {
      verifyInclusion(leaf, e.index, size, e.proof, root);
    } catch (err) {
      if (err instanceof VerifyError) fail('inclusion', `entry ${e.index}: ${err.message}`);
      throw err;
    }
    if (!entryCarriesKey(e.entry, v.key)) throw new LookupFalseEntryError(e.index, e.entry, e.proof, v.key);
    return { index: e.index, entry: e.entry, leafHash: leaf, proof: e.proof };
  });
  return { ...v, entries };
}

/** The result lines of spec/lookup.md §6.3. */
export function lookupSummary(v: VerifiedLookupProof): string {
  const C = v.coveredSize;
  let line: string;
  if (v.outcome === 'absent') line = `VERIFIED ABSENT as of checkpoint ${C}`;
  else if (v.from === 0n) line = `VERIFIED: ${v.count} claims (complete as of checkpoint ${C})`;
  else line = `VERIFIED: ${v.count} claims, the last ${v.indexes.length} from list position ${v.from} (complete as of checkpoint ${C})`;
  if (v.checkpointSize > C) line += `; checkpoint ${v.checkpointSize} has entries [${C}, ${v.checkpointSize}) not covered`;
  return line;
}

/** A vendor key's status at a log index (spec/lookup.md §5). */
export type KeyStatus =
  | { readonly status: 'accepted'; readonly since: bigint }
  | { readonly status: 'revoked'; readonly at: bigint }
  | { readonly status: 'never-added' };

/**
 * Was `vkey` accepted at log index `index` (spec/lookup.md §5)? `lookup`
 * must be a verified, complete (from 0) lookup of `[6, vkey]` with its
 * entries, or an absence proof, covering the index; every listed entry must
 * be a vendor-key entry signed by the log's Ed25519 key; those before
 * `index` are replayed in log order.
 */
export function vendorKeyStatus(lookup: VerifiedLookupProof, vkey: string, index: bigint): KeyStatus {
  const want: IndexKey = { kind: 6, vkey };
  if (!sameKey(lookup.key, want)) lbad(`the lookup is for ${formatIndexKey(lookup.key)}, not vendor-key:${vkey}`);
  if (!(index < lookup.commit.size)) lbad(`index ${index} is not covered by the lookup (its commit covers entries below ${lookup.commit.size})`);
  if (lookup.outcome === 'absent') return { status: 'never-added' };
  if (lookup.from !== 0n) lbad('a key status needs the whole list, not a tail');
  if (!lookup.entries) lbad('a key status needs the listed entries');
  const logKey = lookup.checkpoint.logKeys.find((k) => k.type === TYPE_ED25519);
  if (!logKey) lbad('vendor-key entries are checked with the log\'s Ed25519 key, and none signed the checkpoint');
  let status: KeyStatus = { status: 'never-added' };
  for (const e of lookup.entries) {
    const c = classifyEntry(e.entry);
    if (c.kind !== 'vendor-key') lbad(`entry ${e.index} is listed under a vendor-key status key but is not a vendor-key entry`);
    verifyVendorKeyEntry(c.entry, logKey);
    if (e.index >= index) continue;
    status = applyVendorKeyOp(status, c.entry, vkey, e.index);
  }
  return status;
}

function applyVendorKeyOp(s: KeyStatus, e: VendorKeyEntry, vkey: string, at: bigint): KeyStatus {
  if (e.key.vkey === vkey) return e.op === 'revoke' ? { status: 'revoked', at } : { status: 'accepted', since: at };
  if (e.op === 'rotate' && e.old?.vkey === vkey) return { status: 'revoked', at };
  return s;
}

