// The page's verification flows, separate from rendering. Every check is
// done here with the library; the network is only asked for data.

import { bytesEqual, fromBase64, toHex, utf8Decode } from '../src/bytes.js';
import { fail, VerifyError } from '../src/errors.js';
import { type Hash, leafHash } from '../src/hash.js';
import { verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { parseNote, type VerifierKey, verifyNote } from '../src/note.js';
import { type PolicyVerified, verifyCheckpointWithPolicy } from '../src/policy.js';
import { parseAnyReceipt, type VerifiedReceipt, verifyReceipt } from '../src/receipt.js';
import { decodeSignedClaim, MAX_ENTRY_SIZE, type SignedClaim, verifySignedClaim } from '../src/signedclaim.js';
import { parseLookupResponse, type VerifiedLookup, verifyLookupAnswer } from '../src/lookup.js';
import type { Trust } from './trust.js';

export type Fetch = (path: string) => Promise<Response>;

/** A failure to get data (not a verification failure). */
export class NetworkError extends Error {}

const MAX_CHECKPOINT = 64 * 1024;
const MAX_SMALL_JSON = 64 * 1024;
const MAX_LOOKUP = 32 * 1024 * 1024;

/** Reads a response body with a byte limit, streaming (never more than `limit` in memory). */
export async function readLimited(r: Response, limit: number, what: string): Promise<Uint8Array> {
  if (!r.ok) {
    let detail = '';
    try {
      const t = new TextDecoder().decode(await readLimited(new Response(r.body), 4096, what));
      const j = JSON.parse(t) as { detail?: string };
      detail = j.detail ? `: ${j.detail}` : '';
    } catch {
      // not a problem document
    }
    throw new NetworkError(`${what}: the server answered ${r.status}${detail}`);
  }
  const reader = r.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel();
      throw new NetworkError(`${what}: the answer is larger than ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function get(fetchFn: Fetch, path: string, limit: number, what: string): Promise<Uint8Array> {
  let r: Response;
  try {
    r = await fetchFn(path);
  } catch (e) {
    throw new NetworkError(`${what}: the log could not be reached (${e instanceof Error ? e.message : String(e)})`);
  }
  return readLimited(r, limit, what);
}

function text(b: Uint8Array, what: string): string {
  const s = utf8Decode(b);
  if (s === null) throw new NetworkError(`${what}: the answer is not UTF-8`);
  return s;
}

/** Cosignatures on a note by keys the server reports: informational, never part of a verdict's trust. */
export function reportedCosigners(note: string | Uint8Array, witnesses: readonly VerifierKey[]): { key: VerifierKey; timestamp: bigint }[] {
  if (witnesses.length === 0) return [];
  try {
    return verifyNote(parseNote(note), witnesses).flatMap((s) => (s.timestamp === undefined ? [] : [{ key: s.key, timestamp: s.timestamp }]));
  } catch {
    return [];
  }
}

export interface LookupResult {
  readonly asset: Hash;
  readonly lookup: VerifiedLookup;
  /** The log's latest checkpoint, verified, and how it relates to the lookup's. */
  readonly latest?: { readonly verified: PolicyVerified; readonly consistent: 'same' | 'proved' };
  readonly latestNote?: string;
}

/**
 * Looks an asset up and verifies the answer: the lookup's checkpoint under
 * the trust policy, each entry's claim, signature, asset and inclusion;
 * then the log's latest checkpoint, and a consistency proof between the two.
 */
export async function lookupFlow(asset: Hash, trust: Trust, fetchFn: Fetch): Promise<LookupResult> {
  const body = text(await get(fetchFn, `/v1/lookup?asset=${toHex(asset)}`, MAX_LOOKUP, 'lookup'), 'lookup');
  const resp = parseLookupResponse(body);
  const lookup = verifyLookupAnswer(resp, asset, trust.policy);
  const latestNote = text(await get(fetchFn, '/checkpoint', MAX_CHECKPOINT, 'checkpoint'), 'checkpoint');
  const latest = verifyCheckpointWithPolicy(latestNote, trust.policy);
  const a = lookup.checkpoint.checkpoint;
  const b = latest.checkpoint;
  if (a.origin !== b.origin) fail('origin', `the lookup's checkpoint is for ${a.origin}, the latest for ${b.origin}`);
  if (a.size === b.size) {
    if (!bytesEqual(a.root, b.root)) fail('consistency', `two different roots for tree size ${a.size}: the log shows a split view`);
    return { asset, lookup, latest: { verified: latest, consistent: 'same' }, latestNote };
  }
  const [m, n, rm, rn] = a.size < b.size ? [a.size, b.size, a.root, b.root] : [b.size, a.size, b.root, a.root];
  const pj = JSON.parse(text(await get(fetchFn, `/v1/proof/consistency?old=${m}&new=${n}`, MAX_SMALL_JSON, 'consistency proof'), 'consistency proof')) as { proof?: unknown };
  const proof = Array.isArray(pj.proof) ? pj.proof.map((x) => (typeof x === 'string' ? fromBase64(x) : null)) : [];
  if (proof.some((x) => x === null || x.length !== 32)) fail('consistency', 'the consistency proof is not a list of base64 hashes');
  verifyConsistency(m, n, rm, rn, proof as Uint8Array[]);
  return { asset, lookup, latest: { verified: latest, consistent: 'proved' }, latestNote };
}

/** Verifies a receipt against a file, offline: no request is made. */
export function receiptFlow(receipt: Uint8Array, asset: Uint8Array | Hash | null, trust: Trust, assetIsHash = false): { verified: VerifiedReceipt; format: 'cbor' | 'tlog-proof'; checkpointNote: Uint8Array } {
  const { receipt: r, format } = parseAnyReceipt(receipt);
  const verified = verifyReceipt(r, trust.policy, asset === null ? undefined : assetIsHash ? { sha256: asset } : { bytes: asset });
  return { verified, format, checkpointNote: r.checkpoint };
}

export interface EntryResult {
  readonly index: bigint;
  readonly entry: Uint8Array;
  readonly signedClaim: SignedClaim;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
  readonly checkpoint: PolicyVerified;
  readonly checkpointNote: string;
}

/** Fetches entry `index`, the latest checkpoint and an inclusion proof, and verifies them. */
export async function entryFlow(index: bigint, trust: Trust, fetchFn: Fetch): Promise<EntryResult> {
  const checkpointNote = text(await get(fetchFn, '/checkpoint', MAX_CHECKPOINT, 'checkpoint'), 'checkpoint');
  const checkpoint = verifyCheckpointWithPolicy(checkpointNote, trust.policy);
  const size = checkpoint.checkpoint.size;
  if (index >= size) throw new NetworkError(`entry ${index} is not in the log: its latest checkpoint has ${size} entries`);
  const entry = await get(fetchFn, `/v1/entries/${index}`, MAX_ENTRY_SIZE, 'entry');
  const signedClaim = decodeSignedClaim(entry);
  verifySignedClaim(signedClaim);
  const pj = JSON.parse(text(await get(fetchFn, `/v1/proof/inclusion?index=${index}&size=${size}`, MAX_SMALL_JSON, 'inclusion proof'), 'inclusion proof')) as { proof?: unknown };
  const proof = Array.isArray(pj.proof) ? pj.proof.map((x) => (typeof x === 'string' ? fromBase64(x) : null)) : [];
  if (proof.some((x) => x === null || x.length !== 32)) fail('inclusion', 'the inclusion proof is not a list of base64 hashes');
  const leaf = leafHash(entry);
  verifyInclusion(leaf, index, size, proof as Uint8Array[], checkpoint.checkpoint.root);
  return { index, entry, signedClaim, leafHash: leaf, proof: proof as Uint8Array[], checkpoint, checkpointNote };
}

export { VerifyError };
