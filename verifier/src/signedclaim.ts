// The signed claim: a tagged COSE_Sign1 whose kid is the vendor's vkey
// (spec/signed-claim.md).

import { bytesEqual, utf8, utf8Decode } from './bytes.js';
import { array, bytes, decode, encode, type Item, kind, text } from './cbor.js';
import { type Claim, decodeClaim } from './claim.js';
import { fail, VerifyError } from './errors.js';
import { keyType, TYPE_ED25519 } from './keytypes.js';
import { parseVkey, type VerifierKey } from './note.js';
import { verifyStrict } from './ed25519.js';

export const MAX_ENTRY_SIZE = 16384;
export const MAX_KID_SIZE = 512;
export const CONTENT_TYPE = 'application/vnd.provlog.claim+cbor';
const COSE_SIGN1_TAG = 18n;
const ENVELOPE_DEPTH = 4;
const HEADER_DEPTH = 2;

/**
 * COSE algorithms by label, each bound to the signed-note key type its kid
 * must have and to its verification. Only EdDSA (-8) is defined by spec
 * v1; another algorithm is one entry here once the spec defines it.
 */
const COSE_ALGS = new Map<bigint, { keyType: number; name: string; sigLength: number; verify: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => boolean }>([
  [-8n, { keyType: TYPE_ED25519, name: 'EdDSA', sigLength: 64, verify: verifyStrict }],
]);

export interface SignedClaim {
  /** The entry bytes exactly as logged. */
  readonly bytes: Uint8Array;
  readonly protectedHeader: Uint8Array;
  readonly alg: bigint;
  readonly kid: VerifierKey;
  readonly payload: Uint8Array;
  readonly claim: Claim;
  readonly signature: Uint8Array;
}

function bad(msg: string): never {
  return fail('signed-claim', msg);
}

/** The canonical protected header `{1: alg, 3: CONTENT_TYPE, 4: kid}`. */
function canonicalProtected(alg: bigint, kid: string): Uint8Array {
  return encode({
    t: 'map',
    v: [
      [{ t: 'uint', v: 1n }, alg < 0n ? { t: 'nint', v: alg } : { t: 'uint', v: alg }],
      [{ t: 'uint', v: 3n }, text(CONTENT_TYPE)],
      [{ t: 'uint', v: 4n }, bytes(utf8(kid))],
    ],
  });
}

function parseProtected(b: Uint8Array): { alg: bigint; kid: VerifierKey } {
  const item = decode(b, { maxDepth: HEADER_DEPTH, allowSimple: true });
  if (item.t !== 'map') bad(`the protected header must be a map, not ${kind(item)}`);
  const params = new Map<bigint, Item>();
  for (const [k, v] of item.v) {
    if (k.t !== 'uint' && k.t !== 'nint') bad(`unexpected header parameter ${kind(k)}`);
    if (k.v !== 1n && k.v !== 3n && k.v !== 4n) bad(`unexpected header parameter ${k.v}`);
    if (params.has(k.v)) bad(`header parameter ${k.v} appears twice`);
    params.set(k.v, v);
  }
  const a = params.get(1n);
  if (!a) bad('the protected header has no alg');
  if ((a.t !== 'nint' && a.t !== 'uint') || !COSE_ALGS.has(a.v)) bad(`unsupported alg ${a.t === 'nint' || a.t === 'uint' ? a.v : kind(a)}; provlog claims use EdDSA (-8)`);
  const ct = params.get(3n);
  if (!ct) bad('the protected header has no content type');
  if (ct.t !== 'text' || ct.v !== CONTENT_TYPE) bad(`the content type must be ${CONTENT_TYPE}`);
  const kidItem = params.get(4n);
  if (!kidItem) bad('the protected header has no kid');
  if (kidItem.t !== 'bytes') bad(`the kid must be a byte string, not ${kind(kidItem)}`);
  if (kidItem.v.length > MAX_KID_SIZE) bad(`the kid is ${kidItem.v.length} bytes, over the limit of ${MAX_KID_SIZE}`);
  const kidText = utf8Decode(kidItem.v);
  if (kidText === null) bad('the kid is not UTF-8');
  let kid: VerifierKey;
  try {
    kid = parseVkey(kidText);
  } catch (e) {
    return bad(`the kid is not a valid vendor vkey: ${e instanceof VerifyError ? e.message : String(e)}`);
  }
  const alg = COSE_ALGS.get(a.v)!;
  if (kid.type !== alg.keyType) bad(`the kid is a ${kid.keyType.name} key; ${alg.name} needs a ${keyType(alg.keyType)?.name} key`);
  if (kid.vkey !== kidText) bad('the kid is not in its canonical vkey form');
  return { alg: a.v, kid };
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
  const { alg, kid } = parseProtected(p.v);
  if (u.t !== 'map') bad(`the unprotected header must be a map, not ${kind(u)}`);
  if (u.v.length !== 0) bad('the unprotected header must be empty');
  if (payload.t === 'simple' && payload.v === 'null') bad('the payload is detached (nil); provlog claims are attached');
  if (payload.t !== 'bytes') bad(`the payload must be a byte string, not ${kind(payload)}`);
  const claim = decodeClaim(payload.v);
  if (sig.t !== 'bytes') bad(`the signature must be a byte string, not ${kind(sig)}`);
  const want = COSE_ALGS.get(alg)!.sigLength;
  if (sig.v.length !== want) bad(`the signature is ${sig.v.length} bytes, not ${want}`);
  const canonical = encode({ t: 'tag', tag: COSE_SIGN1_TAG, v: array([bytes(canonicalProtected(alg, kid.vkey)), { t: 'map', v: [] }, bytes(payload.v), bytes(sig.v)]) });
  if (!bytesEqual(canonical, b)) fail('cbor', 'the signed claim is not in its one canonical encoding');
  return { bytes: b, protectedHeader: p.v, alg, kid, payload: payload.v, claim, signature: sig.v };
}

/** The RFC 9052 Sig_structure bytes the signature covers (spec/signed-claim.md §3). */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(array([text('Signature1'), bytes(protectedHeader), bytes(new Uint8Array(0)), bytes(payload)]));
}

/** Verifies the vendor signature of a decoded signed claim; throws on failure. */
export function verifySignedClaim(sc: SignedClaim): void {
  const alg = COSE_ALGS.get(sc.alg)!;
  if (!alg.verify(sc.kid.publicKey, sigStructure(sc.protectedHeader, sc.payload), sc.signature)) {
    fail('claim-signature', `the claim's signature does not verify under its vendor key ${sc.kid.vkey}`);
  }
}

/** Decodes and verifies a signed claim. */
export function openSignedClaim(b: Uint8Array): SignedClaim {
  const sc = decodeSignedClaim(b);
  verifySignedClaim(sc);
  return sc;
}

