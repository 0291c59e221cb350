// The signed claim: a tagged COSE_Sign1 whose kid is the vendor's vkey
// (spec/signed-claim.md), in the original form (§1) or the SCITT statement
// form with CWT claims (§7), signed with Ed25519 or ML-DSA-44.

import { bytesEqual, toBase64Url, utf8, utf8Decode } from './bytes.js';
import { array, bytes, decode, encode, type Item, kind, text } from './cbor.js';
import { type Claim, decodeClaim } from './claim.js';
import { fail, VerifyError } from './errors.js';
import { keyType, TYPE_ED25519, TYPE_MLDSA44 } from './keytypes.js';
import { keyLabel, parseVkey, type VerifierKey } from './note.js';
import { verifyZip215 } from './ed25519.js';
import { MLDSA44_SIGNATURE_LENGTH, mldsa44Verify } from './mldsa.js';

export const MAX_ENTRY_SIZE = 16384;
/** Longest kid of an EdDSA claim (§2). */
export const MAX_KID_SIZE = 512;
/** Longest kid of an ML-DSA-44 claim (§7.1). */
export const MAX_MLDSA_KID_SIZE = 2048;
/** The CWT Claims header parameter (RFC 9597). */
export const CWT_CLAIMS = 15n;
export const CONTENT_TYPE = 'application/vnd.provlog.claim+cbor';
const COSE_SIGN1_TAG = 18n;
const ENVELOPE_DEPTH = 4;
const HEADER_DEPTH = 2;

/**
 * COSE algorithms by label, each bound to the signed-note key type its kid
 * must have, the longest kid, and its verification: EdDSA (-8, Ed25519 under
 * ZIP-215, spec/signed-claim.md §1.1) and ML-DSA-44 (-48, draft-ietf-cose-dilithium: FIPS 204
 * ML-DSA.Verify with the empty context).
 */
export interface CoseAlg {
  readonly keyType: number;
  readonly name: string;
  readonly sigLength: number;
  readonly maxKid: number;
  readonly verify: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => boolean;
}
export const COSE_ALGS: ReadonlyMap<bigint, CoseAlg> = new Map<bigint, CoseAlg>([
  [-8n, { keyType: TYPE_ED25519, name: 'EdDSA', sigLength: 64, maxKid: MAX_KID_SIZE, verify: verifyZip215 }],
  [-48n, { keyType: TYPE_MLDSA44, name: 'ML-DSA-44', sigLength: MLDSA44_SIGNATURE_LENGTH, maxKid: MAX_MLDSA_KID_SIZE, verify: mldsa44Verify }],
]);

/** The COSE integer item for a value. */
export function coseInt(v: bigint): Item {
  return v < 0n ? { t: 'nint', v } : { t: 'uint', v };
}

/** The CWT claims of the statement form (§7): issuer and subject. */
export interface StatementClaims {
  readonly iss: string;
  readonly sub: string;
}

/** The subject of a statement about an asset: an RFC 6920 ni URI of its SHA-256 (§7.1). */
export function assetSubject(sha256: Uint8Array): string {
  return `ni:///sha-256;${toBase64Url(sha256)}`;
}

export interface SignedClaim {
  /** The entry bytes exactly as logged. */
  readonly bytes: Uint8Array;
  readonly protectedHeader: Uint8Array;
  readonly alg: bigint;
  readonly kid: VerifierKey;
  /** Present exactly in the statement form (§7). */
  readonly statement?: StatementClaims;
  readonly payload: Uint8Array;
  readonly claim: Claim;
  readonly signature: Uint8Array;
}

function bad(msg: string): never {
  return fail('signed-claim', msg);
}

/** The canonical protected header `{1: alg, 3: CONTENT_TYPE, 4: kid, ?15: {1: iss, 2: sub}}`. */
function canonicalProtected(alg: bigint, kid: string, statement?: StatementClaims): Uint8Array {
  const v: [Item, Item][] = [
    [{ t: 'uint', v: 1n }, coseInt(alg)],
    [{ t: 'uint', v: 3n }, text(CONTENT_TYPE)],
    [{ t: 'uint', v: 4n }, bytes(utf8(kid))],
  ];
  if (statement) {
    v.push([
      { t: 'uint', v: CWT_CLAIMS },
      { t: 'map', v: [[{ t: 'uint', v: 1n }, text(statement.iss)], [{ t: 'uint', v: 2n }, text(statement.sub)]] },
    ]);
  }
  return encode({ t: 'map', v });
}

/** Reads CWT claims `{1: iss, 2: sub}`, exactly those two, both text (§7.1). */
function parseStatementClaims(i: Item): StatementClaims {
  if (i.t !== 'map') bad(`the CWT claims (15) must be a map, not ${kind(i)}`);
  const m = new Map<bigint, Item>();
  for (const [k, v] of i.v) {
    if (k.t !== 'uint' || (k.v !== 1n && k.v !== 2n)) bad(`the CWT claims may hold only iss (1) and sub (2), not ${k.t === 'uint' || k.t === 'nint' ? k.v : kind(k)}`);
    if (m.has(k.v)) bad(`CWT claim ${k.v} appears twice`);
    m.set(k.v, v);
  }
  const iss = m.get(1n);
  const sub = m.get(2n);
  if (iss?.t !== 'text') bad('the CWT claims need iss (1) as a text string');
  if (sub?.t !== 'text') bad('the CWT claims need sub (2) as a text string');
  return { iss: iss.v, sub: sub.v };
}

function parseProtected(b: Uint8Array): { alg: bigint; kid: VerifierKey; statement?: StatementClaims } {
  const item = decode(b, { maxDepth: HEADER_DEPTH, allowSimple: true });
  if (item.t !== 'map') bad(`the protected header must be a map, not ${kind(item)}`);
  const params = new Map<bigint, Item>();
  for (const [k, v] of item.v) {
    if (k.t !== 'uint' && k.t !== 'nint') bad(`unexpected header parameter ${kind(k)}`);
    if (k.v !== 1n && k.v !== 3n && k.v !== 4n && k.v !== CWT_CLAIMS) bad(`unexpected header parameter ${k.v}`);
    if (params.has(k.v)) bad(`header parameter ${k.v} appears twice`);
    params.set(k.v, v);
  }
  const a = params.get(1n);
  if (!a) bad('the protected header has no alg');
  if ((a.t !== 'nint' && a.t !== 'uint') || !COSE_ALGS.has(a.v)) bad(`unsupported alg ${a.t === 'nint' || a.t === 'uint' ? a.v : kind(a)}; provlog claims use EdDSA (-8) or ML-DSA-44 (-48)`);
  const alg = COSE_ALGS.get(a.v)!;
  const ct = params.get(3n);
  if (!ct) bad('the protected header has no content type');
  if (ct.t !== 'text' || ct.v !== CONTENT_TYPE) bad(`the content type must be ${CONTENT_TYPE}`);
  const kidItem = params.get(4n);
  if (!kidItem) bad('the protected header has no kid');
  if (kidItem.t !== 'bytes') bad(`the kid must be a byte string, not ${kind(kidItem)}`);
  if (kidItem.v.length > alg.maxKid) bad(`the kid is ${kidItem.v.length} bytes, over the limit of ${alg.maxKid} for ${alg.name}`);
  const kidText = utf8Decode(kidItem.v);
  if (kidText === null) bad('the kid is not UTF-8');
  let kid: VerifierKey;
  try {
    kid = parseVkey(kidText);
  } catch (e) {
    return bad(`the kid is not a valid vendor vkey: ${e instanceof VerifyError ? e.message : String(e)}`);
  }
  if (kid.type !== alg.keyType) bad(`the kid is a ${kid.keyType.name} key; ${alg.name} needs a ${keyType(alg.keyType)?.name} key`);
  if (kid.vkey !== kidText) bad('the kid is not in its canonical vkey form');
  const cwt = params.get(CWT_CLAIMS);
  if (!cwt) return { alg: a.v, kid };
  const statement = parseStatementClaims(cwt);
  if (statement.iss !== kid.name) bad(`the statement's issuer ${JSON.stringify(statement.iss)} is not the kid's key name ${JSON.stringify(kid.name)}`);
  return { alg: a.v, kid, statement };
}

/** Decodes a signed claim (spec/signed-claim.md §1-2); does not check the signature. */
export function decodeSignedClaim(b: Uint8Array): SignedClaim {
  if (b.length > MAX_ENTRY_SIZE) bad(`the signed claim is ${b.length} bytes, over the limit of ${MAX_ENTRY_SIZE}`);
  const item = decode(b, { maxDepth: ENVELOPE_DEPTH, allowSimple: true });
  if (item.t !== 'tag') bad('the signed claim is not tagged as COSE_Sign1 (tag 18)');
  if (item.tag !== COSE_SIGN1_TAG) bad(`the signed claim has tag ${item.tag}, not 18 (COSE_Sign1)`);
  const arr = item.v;
  if (arr.t !== 'array' || arr.v.length !== 4) bad('COSE_Sign1 must be an array of 4 elements');
  const [p, u, payload, sig] = arr.v as [Item, Item, Item, Item];
  if (p.t !== 'bytes') bad(`the protected header must be a byte string, not ${kind(p)}`);
  const { alg, kid, statement } = parseProtected(p.v);
  if (u.t !== 'map') bad(`the unprotected header must be a map, not ${kind(u)}`);
  if (u.v.length !== 0) bad('the unprotected header must be empty');
  if (payload.t === 'simple' && payload.v === 'null') bad('the payload is detached (nil); provlog claims are attached');
  if (payload.t !== 'bytes') bad(`the payload must be a byte string, not ${kind(payload)}`);
  const claim = decodeClaim(payload.v);
  if (statement && statement.sub !== assetSubject(claim.asset.sha256)) bad(`the statement's subject ${JSON.stringify(statement.sub)} is not the claim's asset ${assetSubject(claim.asset.sha256)}`);
  if (sig.t !== 'bytes') bad(`the signature must be a byte string, not ${kind(sig)}`);
  const want = COSE_ALGS.get(alg)!.sigLength;
  if (sig.v.length !== want) bad(`the signature is ${sig.v.length} bytes, not ${want}`);
  const canonical = encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([bytes(canonicalProtected(alg, kid.vkey, statement)), { t: 'map', v: [] }, bytes(payload.v), bytes(sig.v)]) });
  if (!bytesEqual(canonical, b)) fail('cbor', 'the signed claim is not in its one canonical encoding');
  const base = { bytes: b, protectedHeader: p.v, alg, kid, payload: payload.v, claim, signature: sig.v };
  return statement ? { ...base, statement } : base;
}

/** The RFC 9052 Sig_structure bytes the signature covers (spec/signed-claim.md §3). */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(array([text('Signature1'), bytes(protectedHeader), bytes(new Uint8Array(0)), bytes(payload)]));
}

/** Verifies the vendor signature of a decoded signed claim; throws on failure. */
export function verifySignedClaim(sc: SignedClaim): void {
  const alg = COSE_ALGS.get(sc.alg)!;
  if (!alg.verify(sc.kid.publicKey, sigStructure(sc.protectedHeader, sc.payload), sc.signature)) {
    fail('claim-signature', `the claim's ${alg.name} signature does not verify under its vendor key ${keyLabel(sc.kid)}`);
  }
}

/**
 * Builds the bytes of a signed claim (tests and fixtures: the verifier
 * never signs). `sign` gets the Sig_structure bytes.
 */
export function buildSignedClaim(claimBytes: Uint8Array, alg: bigint, kid: VerifierKey, sign: (msg: Uint8Array) => Uint8Array, statement?: StatementClaims): Uint8Array {
  const prot = canonicalProtected(alg, kid.vkey, statement);
  const sig = sign(sigStructure(prot, claimBytes));
  return encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([bytes(prot), { t: 'map', v: [] }, bytes(claimBytes), bytes(sig)]) });
}

/** Decodes and verifies a signed claim. */
export function openSignedClaim(b: Uint8Array): SignedClaim {
  const sc = decodeSignedClaim(b);
  verifySignedClaim(sc);
  return sc;
}

