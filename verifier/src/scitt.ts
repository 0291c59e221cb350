// SCITT (spec/scitt.md): log keys as COSE_Key and their RFC 9679
// thumbprints, the COSE_KeySet, RFC 9942 COSE receipts for RFC9162_SHA256
// (vds 1), and transparent statements (a statement with its receipts in
// unprotected header 394). Every decoder re-encodes deterministically and
// compares: one encoding each.

import { bytesEqual, toHex, utf8 } from './bytes.js';
import { array, bytes, decode, encode, type Item, kind, text } from './cbor.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, leafHash, sha256 } from './hash.js';
import { TYPE_ED25519, TYPE_MLDSA44 } from './keytypes.js';
import { rootFromInclusion } from './merkle.js';
import { MLDSA44_PUBLIC_KEY_LENGTH } from './mldsa.js';
import { formatVkey, keyLabel, parseVkey, type VerifierKey } from './note.js';
import { COSE_ALGS, coseInt, decodeSignedClaim, MAX_ENTRY_SIZE, type SignedClaim, sigStructure, verifySignedClaim } from './signedclaim.js';

const COSE_SIGN1_TAG = 18n;
/** RFC 9942 header parameters. */
export const HDR_RECEIPTS = 394n;
export const HDR_VDS = 395n;
export const HDR_VDP = 396n;
/** RFC9162_SHA256. */
export const VDS_RFC9162_SHA256 = 1n;
export const MAX_COSE_RECEIPT_SIZE = 8 * 1024;
export const MAX_RECEIPT_ISS = 1024;
export const MAX_RECEIPT_PATH = 64;
export const MAX_TS_RECEIPTS = 8;
export const MAX_TRANSPARENT_STATEMENT_SIZE = MAX_ENTRY_SIZE + MAX_TS_RECEIPTS * MAX_COSE_RECEIPT_SIZE;

const u = (v: bigint | number): Item => ({ t: 'uint', v: BigInt(v) });

function bad(msg: string): never {
  return fail('scitt', msg);
}

/** Reads a map with integer labels, rejecting duplicates and labels outside `allowed`. */
function intMap(i: Item, what: string, allowed: readonly bigint[]): Map<bigint, Item> {
  if (i.t !== 'map') bad(`${what} must be a map, not ${kind(i)}`);
  const m = new Map<bigint, Item>();
  for (const [k, v] of i.v) {
    if (k.t !== 'uint' && k.t !== 'nint') bad(`${what} has a label that is ${kind(k)}`);
    if (!allowed.includes(k.v)) bad(`${what} has the unexpected label ${k.v}`);
    if (m.has(k.v)) bad(`${what} has the label ${k.v} twice`);
    m.set(k.v, v);
  }
  return m;
}

function needBytes(i: Item | undefined, what: string, len?: number): Uint8Array {
  if (i?.t !== 'bytes') return bad(`${what} must be a byte string, not ${i ? kind(i) : 'missing'}`);
  if (len !== undefined && i.v.length !== len) bad(`${what} must be ${len} bytes, not ${i.v.length}`);
  return i.v;
}
function needUint(i: Item | undefined, what: string): bigint {
  if (i?.t !== 'uint') return bad(`${what} must be an unsigned integer, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}
function needText(i: Item | undefined, what: string): string {
  if (i?.t !== 'text') return bad(`${what} must be a text string, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}

// ---- COSE_Key (spec/scitt.md §3) ----

const KTY_OKP = 1n;
const KTY_AKP = 7n;
const CRV_ED25519 = 6n;

/** The RFC 9679 thumbprint input: the required members only. */
function thumbprintMembers(k: VerifierKey): Item {
  if (k.type === TYPE_ED25519) return { t: 'map', v: [[u(1), u(KTY_OKP)], [coseInt(-1n), u(CRV_ED25519)], [coseInt(-2n), bytes(k.publicKey)]] };
  if (k.type === TYPE_MLDSA44) return { t: 'map', v: [[u(1), u(KTY_AKP)], [u(3), coseInt(-48n)], [coseInt(-1n), bytes(k.publicKey)]] };
  return bad(`a ${k.keyType.name} key has no COSE_Key form`);
}

/** RFC 9679 COSE Key Thumbprint (SHA-256) of a log key. */
export function coseKeyThumbprint(k: VerifierKey): Hash {
  return sha256(encode(thumbprintMembers(k)));
}

/** The COSE_Key item of a log key: OKP Ed25519 or AKP ML-DSA-44, kid = its thumbprint. */
export function coseKeyItem(k: VerifierKey): Item {
  const kid = bytes(coseKeyThumbprint(k));
  if (k.type === TYPE_ED25519) return { t: 'map', v: [[u(1), u(KTY_OKP)], [u(2), kid], [u(3), coseInt(-8n)], [coseInt(-1n), u(CRV_ED25519)], [coseInt(-2n), bytes(k.publicKey)]] };
  return { t: 'map', v: [[u(1), u(KTY_AKP)], [u(2), kid], [u(3), coseInt(-48n)], [coseInt(-1n), bytes(k.publicKey)]] };
}

/** A key read from a COSE_KeySet. */
export interface CoseKey {
  readonly type: typeof TYPE_ED25519 | typeof TYPE_MLDSA44;
  readonly publicKey: Uint8Array;
  readonly kid: Hash;
}

export const MAX_COSE_KEY_SET_SIZE = 64 * 1024;

/**
 * Decodes a COSE_KeySet of log keys (`/.well-known/scitt-keys`): an array
 * of OKP Ed25519 and AKP ML-DSA-44 keys with exactly the members of §3,
 * each kid its thumbprint, in deterministic encoding.
 */
export function decodeCoseKeySet(b: Uint8Array): CoseKey[] {
  if (b.length > MAX_COSE_KEY_SET_SIZE) bad(`the key set is ${b.length} bytes, over ${MAX_COSE_KEY_SET_SIZE}`);
  const item = decode(b, { maxDepth: 2 });
  if (item.t !== 'array') bad(`a COSE_KeySet is an array, not ${kind(item)}`);
  if (item.v.length === 0) bad('the COSE_KeySet is empty');
  const out = item.v.map((ki, n): CoseKey => {
    const what = `COSE_Key ${n}`;
    const m = intMap(ki, what, [1n, 2n, 3n, -1n, -2n]);
    const kty = needUint(m.get(1n), `${what} kty`);
    const kid = needBytes(m.get(2n), `${what} kid`, 32);
    const alg = m.get(3n);
    let type: CoseKey['type'];
    let pub: Uint8Array;
    if (kty === KTY_OKP) {
      if (alg?.t !== 'nint' || alg.v !== -8n) bad(`${what}: an OKP log key has alg EdDSA (-8)`);
      if (needUint(m.get(-1n), `${what} crv`) !== CRV_ED25519) bad(`${what}: the curve must be Ed25519 (6)`);
      pub = needBytes(m.get(-2n), `${what} x`, 32);
      type = TYPE_ED25519;
    } else if (kty === KTY_AKP) {
      if (alg?.t !== 'nint' || alg.v !== -48n) bad(`${what}: an AKP log key has alg ML-DSA-44 (-48)`);
      if (m.has(-2n)) bad(`${what}: an AKP key has no label -2`);
      pub = needBytes(m.get(-1n), `${what} pub`, MLDSA44_PUBLIC_KEY_LENGTH);
      type = TYPE_MLDSA44;
    } else {
      return bad(`${what}: key type ${kty} is neither OKP (1) nor AKP (7)`);
    }
    // Validity of the key itself (a point, not of small order) via its vkey form.
    let vk: VerifierKey;
    try {
      vk = parseVkey(formatVkey('cose-key', type, pub));
    } catch (e) {
      return bad(`${what}: ${e instanceof VerifyError ? e.message : String(e)}`);
    }
    if (!bytesEqual(kid, coseKeyThumbprint(vk))) bad(`${what}: the kid is not the key's RFC 9679 thumbprint`);
    return { type, publicKey: pub, kid };
  });
  if (!bytesEqual(encode(array(out.map((k) => coseKeyItem(parseVkey(formatVkey('cose-key', k.type, k.publicKey)))))), b)) fail('cbor', 'the COSE_KeySet is not in deterministic encoding');
  return out;
}

/** The verifier keys of a COSE_KeySet under the log's name (a COSE_Key carries none). */
export function keysFromCoseKeySet(b: Uint8Array, name: string): VerifierKey[] {
  return decodeCoseKeySet(b).map((k) => parseVkey(formatVkey(name, k.type, k.publicKey)));
}

/** Encodes a COSE_KeySet (Ed25519 keys first, spec/scitt.md §3). */
export function encodeCoseKeySet(keys: readonly VerifierKey[]): Uint8Array {
  const sorted = [...keys.filter((k) => k.type === TYPE_ED25519), ...keys.filter((k) => k.type !== TYPE_ED25519)];
  return encode(array(sorted.map(coseKeyItem)));
}

// ---- COSE receipts (spec/scitt.md §1) ----

export interface CoseReceipt {
  readonly bytes: Uint8Array;
  readonly protectedHeader: Uint8Array;
  readonly alg: bigint;
  readonly kid: Hash;
  readonly iss: string;
  readonly sub: string;
  readonly iat?: bigint;
  readonly treeSize: bigint;
  readonly leafIndex: bigint;
  readonly path: readonly Hash[];
  readonly signature: Uint8Array;
}

function receiptProtected(r: { alg: bigint; kid: Hash; iss: string; sub: string; iat?: bigint }): Uint8Array {
  const cwt: [Item, Item][] = [[u(1), text(r.iss)], [u(2), text(r.sub)]];
  if (r.iat !== undefined) cwt.push([u(6), u(r.iat)]);
  return encode({ t: 'map', v: [[u(1), coseInt(r.alg)], [u(4), bytes(r.kid)], [u(15), { t: 'map', v: cwt }], [u(HDR_VDS), u(VDS_RFC9162_SHA256)]] });
}

function inclusionProofBytes(size: bigint, index: bigint, path: readonly Hash[]): Uint8Array {
  return encode(array([u(size), u(index), array(path.map(bytes))]));
}

/** The receipt bytes for the given fields (canonical). */
export function encodeCoseReceipt(r: Omit<CoseReceipt, 'bytes' | 'protectedHeader'>): Uint8Array {
  const unprot: Item = { t: 'map', v: [[u(HDR_VDP), { t: 'map', v: [[coseInt(-1n), array([bytes(inclusionProofBytes(r.treeSize, r.leafIndex, r.path))])]] }]] };
  return encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([bytes(receiptProtected(r)), unprot, { t: 'simple', v: 'null' }, bytes(r.signature)]) });
}

/** Decodes an RFC 9942 receipt strictly (spec/scitt.md §1, "Strict decoding"); does not verify it. */
export function decodeCoseReceipt(b: Uint8Array): CoseReceipt {
  if (b.length > MAX_COSE_RECEIPT_SIZE) bad(`the receipt is ${b.length} bytes, over the limit of ${MAX_COSE_RECEIPT_SIZE}`);
  const item = decode(b, { maxDepth: 5, allowSimple: true });
  if (item.t !== 'tag' || item.tag !== COSE_SIGN1_TAG) bad('a COSE receipt is a COSE_Sign1 tagged 18');
  const arr = item.v;
  if (arr.t !== 'array' || arr.v.length !== 4) bad('COSE_Sign1 must be an array of 4 elements');
  const [p, un, payload, sig] = arr.v as [Item, Item, Item, Item];
  const prot = needBytes(p, 'the protected header');
  const ph = intMap(decode(prot, { maxDepth: 2 }), 'the protected header', [1n, 4n, 15n, HDR_VDS]);
  const a = ph.get(1n);
  if (!a || (a.t !== 'nint' && a.t !== 'uint') || !COSE_ALGS.has(a.v)) bad('the receipt alg must be EdDSA (-8) or ML-DSA-44 (-48)');
  const alg = COSE_ALGS.get(a.v)!;
  const kid = needBytes(ph.get(4n), 'the receipt kid', 32);
  const cwtItem = ph.get(15n);
  if (!cwtItem) bad('the receipt has no CWT claims (15)');
  const cwt = intMap(cwtItem, 'the CWT claims', [1n, 2n, 6n]);
  const iss = needText(cwt.get(1n), 'iss');
  if (utf8(iss).length > MAX_RECEIPT_ISS) bad(`iss is over ${MAX_RECEIPT_ISS} bytes`);
  const sub = needText(cwt.get(2n), 'sub');
  const iat = cwt.has(6n) ? needUint(cwt.get(6n), 'iat') : undefined;
  if (needUint(ph.get(HDR_VDS), 'vds') !== VDS_RFC9162_SHA256) bad('the verifiable data structure must be RFC9162_SHA256 (1)');
  const um = intMap(un, 'the unprotected header', [HDR_VDP]);
  const vdp = um.get(HDR_VDP);
  if (!vdp) bad('the receipt has no verifiable data structure proofs (396)');
  const proofs = intMap(vdp, 'the proofs (396)', [-1n]).get(-1n);
  if (!proofs) bad('the receipt has no inclusion proofs (-1)');
  if (proofs.t !== 'array' || proofs.v.length !== 1) bad('the receipt must carry exactly one inclusion proof');
  const ipb = needBytes(proofs.v[0], 'the inclusion proof');
  const ip = decode(ipb, { maxDepth: 2 });
  if (ip.t !== 'array' || ip.v.length !== 3) bad('an inclusion proof is [tree_size, leaf_index, path]');
  const treeSize = needUint(ip.v[0], 'tree_size');
  const leafIndex = needUint(ip.v[1], 'leaf_index');
  if (leafIndex >= treeSize) bad(`leaf_index ${leafIndex} is not below tree_size ${treeSize}`);
  const pathItem = ip.v[2]!;
  if (pathItem.t !== 'array') bad('the inclusion path must be an array');
  if (pathItem.v.length > MAX_RECEIPT_PATH) bad(`the inclusion path has ${pathItem.v.length} hashes, over ${MAX_RECEIPT_PATH}`);
  const path = pathItem.v.map((h, i) => needBytes(h, `path hash ${i}`, 32));
  if (!(payload.t === 'simple' && payload.v === 'null')) bad('the receipt payload must be detached (nil): it is the tree root');
  const signature = needBytes(sig, 'the signature');
  if (signature.length !== alg.sigLength) bad(`an ${alg.name} signature is ${alg.sigLength} bytes, not ${signature.length}`);
  const fields = { alg: a.v, kid, iss, sub, ...(iat === undefined ? {} : { iat }), treeSize, leafIndex, path, signature };
  if (!bytesEqual(encodeCoseReceipt(fields), b)) fail('cbor', 'the COSE receipt is not in its one canonical encoding');
  return { bytes: b, protectedHeader: prot, ...fields };
}

/** The trusted key a receipt names (kid = thumbprint, name = iss, type matching alg), if any. */
export function receiptKey(r: CoseReceipt, keys: readonly VerifierKey[]): VerifierKey | undefined {
  const want = COSE_ALGS.get(r.alg)!.keyType;
  return keys.find((k) => k.type === want && k.name === r.iss && bytesEqual(coseKeyThumbprint(k), r.kid));
}

export interface VerifiedCoseReceipt {
  readonly receipt: CoseReceipt;
  readonly key: VerifierKey;
  readonly root: Hash;
  readonly leafHash: Hash;
}

/**
 * Verifies a receipt for an entry (spec/scitt.md §1.1): the key is the
 * trusted one named by kid and iss; sub is `iss/tree_size`; the inclusion
 * proof of the entry's leaf gives the root; the signature over
 * Sig_structure(protected, root) verifies.
 */
export function verifyCoseReceipt(r: CoseReceipt, entry: Uint8Array, keys: readonly VerifierKey[]): VerifiedCoseReceipt {
  const key = receiptKey(r, keys);
  if (!key) bad(`unknown key: no trusted ${COSE_ALGS.get(r.alg)!.name} log key named ${JSON.stringify(r.iss)} has the thumbprint ${toHex(r.kid)}`);
  if (r.sub !== `${r.iss}/${r.treeSize}`) bad(`the receipt's subject ${JSON.stringify(r.sub)} is not ${JSON.stringify(`${r.iss}/${r.treeSize}`)}`);
  const leaf = leafHash(entry);
  let root: Hash;
  try {
    root = rootFromInclusion(leaf, r.leafIndex, r.treeSize, r.path);
  } catch (e) {
    if (e instanceof VerifyError) fail('inclusion', `the receipt's inclusion proof: ${e.message}`);
    throw e;
  }
  const alg = COSE_ALGS.get(r.alg)!;
  if (!alg.verify(key.publicKey, sigStructure(r.protectedHeader, root), r.signature)) {
    bad(`the receipt's ${alg.name} signature by ${keyLabel(key)} does not verify over the root of tree size ${r.treeSize} (a wrong entry, index, path or signature)`);
  }
  return { receipt: r, key, root, leafHash: leaf };
}

// ---- Transparent statements (spec/scitt.md §2, §4) ----

export interface TransparentStatement {
  readonly bytes: Uint8Array;
  /** The statement with an empty unprotected header: the log entry (§2). */
  readonly statement: Uint8Array;
  readonly signedClaim: SignedClaim;
  readonly receipts: readonly CoseReceipt[];
}

/** Decodes a transparent statement strictly; the statement must be a valid signed claim (not yet verified). */
export function decodeTransparentStatement(b: Uint8Array): TransparentStatement {
  if (b.length > MAX_TRANSPARENT_STATEMENT_SIZE) bad(`the transparent statement is ${b.length} bytes, over ${MAX_TRANSPARENT_STATEMENT_SIZE}`);
  const item = decode(b, { maxDepth: 4, allowSimple: true });
  if (item.t !== 'tag' || item.tag !== COSE_SIGN1_TAG) bad('a transparent statement is a COSE_Sign1 tagged 18');
  const arr = item.v;
  if (arr.t !== 'array' || arr.v.length !== 4) bad('COSE_Sign1 must be an array of 4 elements');
  const [p, un, payload, sig] = arr.v as [Item, Item, Item, Item];
  const rl = intMap(un, 'the unprotected header', [HDR_RECEIPTS]).get(HDR_RECEIPTS);
  if (!rl) bad('the unprotected header has no receipts (394)');
  if (rl.t !== 'array' || rl.v.length < 1 || rl.v.length > MAX_TS_RECEIPTS) bad(`394 must be an array of 1 to ${MAX_TS_RECEIPTS} receipts`);
  const receipts = rl.v.map((r, i) => {
    const rb = needBytes(r, `receipt ${i}`);
    try {
      return decodeCoseReceipt(rb);
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(e.check, `receipt ${i}: ${e.message}`);
      throw e;
    }
  });
  const statement = encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([p, { t: 'map', v: [] }, payload, sig]) });
  const signedClaim = decodeSignedClaim(statement);
  const again = encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([p, { t: 'map', v: [[u(HDR_RECEIPTS), array(receipts.map((r) => bytes(r.bytes)))]] }, payload, sig]) });
  if (!bytesEqual(again, b)) fail('cbor', 'the transparent statement is not in its one canonical encoding');
  return { bytes: b, statement, signedClaim, receipts };
}

/** Attaches receipts to a statement (the statement's `a0` becomes `{394: [receipts]}`). */
export function makeTransparentStatement(statement: Uint8Array, receipts: readonly Uint8Array[]): Uint8Array {
  const sc = decodeSignedClaim(statement);
  const p = bytes(sc.protectedHeader);
  return encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([p, { t: 'map', v: [[u(HDR_RECEIPTS), array(receipts.map(bytes))]] }, bytes(sc.payload), bytes(sc.signature)]) });
}

export interface VerifiedTransparentStatement {
  readonly signedClaim: SignedClaim;
  readonly leafHash: Hash;
  /** The receipts by trusted keys, all verified, in order. */
  readonly receipts: readonly VerifiedCoseReceipt[];
  /** How many receipts were by keys not trusted (ignored). */
  readonly ignored: number;
}

/**
 * Verifies a transparent statement (spec/scitt.md §4): the statement's
 * signature; every receipt by a trusted key (a bad one rejects the whole
 * statement); at least one such receipt. With `asset`, the claim's asset
 * hash must be the file's.
 */
export function verifyTransparentStatement(ts: TransparentStatement, keys: readonly VerifierKey[], asset?: { sha256: Hash } | { bytes: Uint8Array }): VerifiedTransparentStatement {
  verifySignedClaim(ts.signedClaim);
  const verified: VerifiedCoseReceipt[] = [];
  let ignored = 0;
  for (const [i, r] of ts.receipts.entries()) {
    if (!receiptKey(r, keys)) {
      ignored++;
      continue;
    }
    try {
      verified.push(verifyCoseReceipt(r, ts.statement, keys));
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(e.check, `receipt ${i}: ${e.message}`);
      throw e;
    }
  }
  if (verified.length === 0) bad('no receipt is by a trusted log key');
  if (asset) {
    const h = 'sha256' in asset ? asset.sha256 : sha256(asset.bytes);
    if (!bytesEqual(h, ts.signedClaim.claim.asset.sha256)) fail('asset-hash', `the file hashes to ${toHex(h)}, the claim is for ${toHex(ts.signedClaim.claim.asset.sha256)}`);
  }
  return { signedClaim: ts.signedClaim, leafHash: leafHash(ts.statement), receipts: verified, ignored };
}


