// Verifying a lookup answer (`GET /v1/lookup?asset=<hex>`, spec/http-api.md):
// the checkpoint under the policy, then every returned entry: a valid
// signed claim for the asked-for asset, included in that checkpoint.
//
// Today the answer proves that each returned claim IS in the log; it does
// not prove that no other claim for the asset exists (completeness), nor
// that an asset has none (absence). Those proofs come with the verifiable
// lookup issue: they will arrive as further fields of the same response and
// be checked by a function added here (see `LookupCompleteness`), without
// changing how entries are verified.

import { bytesEqual, fromBase64, fromHex, toHex, utf8 } from './bytes.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, leafHash } from './hash.js';
import { type Json, parseJsonStrict } from './json.js';
import { verifyInclusion } from './merkle.js';
import { type Policy, type PolicyVerified, verifyCheckpointWithPolicy } from './policy.js';
import { decodeSignedClaim, type SignedClaim, verifySignedClaim } from './signedclaim.js';

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
export function verifyLookup(resp: LookupResponse, asset: Hash, policy: Policy): VerifiedLookup {
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
