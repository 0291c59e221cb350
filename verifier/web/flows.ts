// The page's verification flows, separate from rendering. Every check is
// done here with the library; the network is only asked for data.

import { bytesEqual, fromBase64, toHex, utf8Decode } from '../src/bytes.js';
import { fail, VerifyError } from '../src/errors.js';
import { type Hash, leafHash } from '../src/hash.js';
import { verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { parseNote, type VerifierKey, verifyNote } from '../src/note.js';
import { type PolicyVerified, verifyCheckpointWithPolicy } from '../src/policy.js';
import { decodeReceipt, parseAnyReceipt, ReceiptStepError, type VerifiedReceipt, verifyReceipt } from '../src/receipt.js';
import { decodeSignedClaim, MAX_ENTRY_SIZE, type SignedClaim, verifySignedClaim } from '../src/signedclaim.js';
import { MAX_LOOKUP_PROOF_SIZE, parseLookupResponse, type VerifiedLookup, type VerifiedLookupProof, verifyLookup, verifyLookupAnswer } from '../src/lookup.js';
import { checkHardBinding, embeddedReceipts, type StoreLocation, type SuperBox } from '../src/c2pa.js';
import { parseJsonStrict } from '../src/json.js';
import { sha256 } from '../src/hash.js';
import type { Trust } from './trust.js';

export type Fetch = (path: string, init?: { headers?: Record<string, string> }) => Promise<Response>;

/** The media type of a lookup-proof bundle (spec/http-api.md). */
export const LOOKUP_MEDIA_TYPE = 'application/vnd.provlog.lookup+cbor';

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

/** A lookup answered with a verified lookup-proof bundle (spec/lookup.md §6). */
export interface ProvenLookup {
  readonly proof: VerifiedLookupProof;
  /** The listed claims, each decoded and its vendor signature verified, in list order. */
  readonly claims: readonly { readonly index: bigint; readonly signedClaim: SignedClaim; readonly proof: readonly Hash[] }[];
}

export interface LookupResult {
  readonly asset: Hash;
  /** Set for the legacy JSON answer (no completeness proof). */
  readonly lookup?: VerifiedLookup;
  /** Set when the log served a verified lookup-proof bundle. */
  readonly proven?: ProvenLookup;
  /** Why the legacy answer was used (the log has no verifiable index, or it is not ready). */
  readonly fallbackReason?: string;
  /** The verified checkpoint the answer is under. */
  readonly checkpoint: PolicyVerified;
  /** The log's latest checkpoint, verified, and how it relates to the lookup's. */
  readonly latest?: { readonly verified: PolicyVerified; readonly consistent: 'same' | 'proved' };
  readonly latestNote?: string;
}

async function fetchOrFail(fetchFn: Fetch, path: string, what: string, init?: { headers?: Record<string, string> }): Promise<Response> {
  try {
    return await fetchFn(path, init);
  } catch (e) {
    throw new NetworkError(`${what}: the log could not be reached (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A library rejection re-labelled with a finer check name for the page (`pageCheck`). */
export class PageVerifyError extends VerifyError {
  readonly pageCheck: string;
  constructor(base: VerifyError, pageCheck: string) {
    super(base.check, base.message);
    this.pageCheck = pageCheck;
  }
}

/** Re-labels a bundle's failures so the page names the check (the library's 'lookup' is the whole bundle). */
function bundleCheck<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    if (e.check === 'inclusion' && e.message.startsWith('the index-commit')) throw new PageVerifyError(e, 'commit-inclusion');
    if (e.check === 'inclusion') throw new PageVerifyError(e, 'entry-inclusion');
    if (e.check === 'lookup' || e.check === 'cbor') throw new PageVerifyError(e, 'lookup-proof');
    throw e;
  }
}

/**
 * Asks for the lookup-proof bundle of `asset:<hex>`. Returns the bundle
 * bytes, or a reason to fall back to the legacy JSON answer when the log
 * keeps no verifiable index (404) or its index is not ready (503).
 */
async function fetchBundle(asset: Hash, fetchFn: Fetch): Promise<{ bundle: Uint8Array } | { fallback: string; legacyBody?: Uint8Array }> {
  const r = await fetchOrFail(fetchFn, `/v1/lookup?key=${encodeURIComponent(`asset:${toHex(asset)}`)}`, 'lookup proof', { headers: { accept: LOOKUP_MEDIA_TYPE } });
  const type = (r.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (r.ok && type === LOOKUP_MEDIA_TYPE) return { bundle: await readLimited(r, MAX_LOOKUP_PROOF_SIZE, 'lookup proof') };
  if (r.status === 404 || r.status === 503) {
    let detail = '';
    try {
      const j = JSON.parse(new TextDecoder().decode(await readLimited(new Response(r.body), 4096, 'lookup proof'))) as { detail?: unknown };
      if (typeof j.detail === 'string') detail = j.detail;
    } catch {
      // not a problem document
    }
    const why = r.status === 404 ? 'this log does not keep a verifiable index' : 'the log could not give a lookup proof just now';
    return { fallback: detail ? `${why} (the log says: ${detail})` : why };
  }
  // Any other answer: an older log answering JSON to the Accept header is read as the legacy answer.
  if (r.ok && type === 'application/json') return { fallback: 'this log answered without a lookup proof', legacyBody: await readLimited(r, MAX_LOOKUP, 'lookup') };
  return { bundle: await readLimited(r, MAX_LOOKUP_PROOF_SIZE, 'lookup proof') };
}

/**
 * Looks an asset up and verifies the answer. First the lookup-proof bundle
 * (spec/lookup.md §6.2): every claim for the file, complete as of its
 * checkpoint, or its absence; each listed claim's vendor signature too.
 * When the log has no verifiable index, the legacy JSON answer: the
 * checkpoint and each entry's claim, signature, asset and inclusion, with
 * no proof of completeness. Then, either way, the log's latest checkpoint
 * and a consistency proof between the two.
 */
export async function lookupFlow(asset: Hash, trust: Trust, fetchFn: Fetch): Promise<LookupResult> {
  const got = await fetchBundle(asset, fetchFn);
  let lookup: VerifiedLookup | undefined;
  let proven: ProvenLookup | undefined;
  let checkpoint: PolicyVerified;
  let fallbackReason: string | undefined;
  if ('bundle' in got) {
    const proof = bundleCheck(() => verifyLookup(got.bundle, trust.policy, `asset:${toHex(asset)}`));
    if (proof.outcome === 'found' && !proof.entries) throw new PageVerifyError(new VerifyError('lookup', 'the bundle lists claims but does not carry them'), 'lookup-proof');
    const claims = (proof.entries ?? []).map((e) => {
      let sc: SignedClaim;
      try {
        sc = decodeSignedClaim(e.entry);
        verifySignedClaim(sc);
      } catch (err) {
        if (err instanceof VerifyError) throw new VerifyError(err.check, `entry ${e.index}: ${err.message}`);
        throw err;
      }
      if (!bytesEqual(sc.claim.asset.sha256, asset)) fail('asset-hash', `entry ${e.index} is a claim for another file (${toHex(sc.claim.asset.sha256)})`);
      return { index: e.index, signedClaim: sc, proof: e.proof };
    });
    proven = { proof, claims };
    checkpoint = proof.checkpoint;
  } else {
    fallbackReason = got.fallback;
    const body = text(got.legacyBody ?? (await get(fetchFn, `/v1/lookup?asset=${toHex(asset)}`, MAX_LOOKUP, 'lookup')), 'lookup');
    lookup = verifyLookupAnswer(parseLookupResponse(body), asset, trust.policy);
    checkpoint = lookup.checkpoint;
  }
  const base = { asset, checkpoint, ...(lookup ? { lookup } : {}), ...(proven ? { proven } : {}), ...(fallbackReason !== undefined ? { fallbackReason } : {}) };
  return { ...base, ...(await relateToLatest(checkpoint, trust, fetchFn)) };
}

/** The log's latest checkpoint, verified, and a consistency proof between it and `checkpoint`. */
async function relateToLatest(checkpoint: PolicyVerified, trust: Trust, fetchFn: Fetch): Promise<{ latest: { verified: PolicyVerified; consistent: 'same' | 'proved' }; latestNote: string }> {
  const latestNote = text(await get(fetchFn, '/checkpoint', MAX_CHECKPOINT, 'checkpoint'), 'checkpoint');
  const latest = verifyCheckpointWithPolicy(latestNote, trust.policy);
  const a = checkpoint.checkpoint;
  const b = latest.checkpoint;
  if (a.origin !== b.origin) fail('origin', `the lookup's checkpoint is for ${a.origin}, the latest for ${b.origin}`);
  if (a.size === b.size) {
    if (!bytesEqual(a.root, b.root)) fail('consistency', `two different roots for tree size ${a.size}: the log shows a split view`);
    return { latest: { verified: latest, consistent: 'same' }, latestNote };
  }
  const [m, n, rm, rn] = a.size < b.size ? [a.size, b.size, a.root, b.root] : [b.size, a.size, b.root, a.root];
  const pj = JSON.parse(text(await get(fetchFn, `/v1/proof/consistency?old=${m}&new=${n}`, MAX_SMALL_JSON, 'consistency proof'), 'consistency proof')) as { proof?: unknown };
  const proof = Array.isArray(pj.proof) ? pj.proof.map((x) => (typeof x === 'string' ? fromBase64(x) : null)) : [];
  if (proof.some((x) => x === null || x.length !== 32)) fail('consistency', 'the consistency proof is not a list of base64 hashes');
  verifyConsistency(m, n, rm, rn, proof as Uint8Array[]);
  return { latest: { verified: latest, consistent: 'proved' }, latestNote };
}

/** A file's C2PA manifest store, as found and read by src/c2pa.ts. */
export interface FileC2pa {
  readonly bytes: Uint8Array;
  readonly location: StoreLocation;
  readonly store: SuperBox;
}

/** How a file was matched to a verified claim (spec/claim.md §5). */
export type AssetMatch =
  | { readonly by: 'sha256' }
  | { readonly by: 'hard-binding'; readonly manifest: string; readonly alg: string; readonly adjusted: boolean }
  | { readonly by: 'unchecked'; readonly reason: string };

/**
 * Matches a file to a claim: its SHA-256, else the claim's C2PA hard
 * binding over the file's bytes (checkHardBinding). Throws VerifyError
 * ('asset-hash') when neither matches; `unchecked` when the hard binding is
 * of a kind this page does not compute (the verdict must say so).
 */
export function matchAsset(sc: SignedClaim, sha: Hash, c2pa: FileC2pa | null): AssetMatch {
  const c = sc.claim;
  if (bytesEqual(sha, c.asset.sha256)) return { by: 'sha256' };
  if (!c.c2pa) fail('asset-hash', `the file hashes to ${toHex(sha)}, the claim is for ${toHex(c.asset.sha256)}`);
  if (!c2pa) fail('asset-hash', `the file hashes to ${toHex(sha)}, not the claim's ${toHex(c.asset.sha256)}, and it has no C2PA manifest store to match the claim's hard binding`);
  const r = checkHardBinding(c2pa.bytes, c2pa.location, c2pa.store, c.c2pa);
  return r.checked ? { by: 'hard-binding', manifest: r.manifest, alg: r.alg, adjusted: r.adjusted } : { by: 'unchecked', reason: r.reason };
}

/** Verifies a receipt against a file, offline: no request is made. */
export function receiptFlow(receipt: Uint8Array, asset: Uint8Array | Hash | null, trust: Trust, assetIsHash = false, c2pa: FileC2pa | null = null): { verified: VerifiedReceipt; format: 'cbor' | 'tlog-proof'; checkpointNote: Uint8Array; match?: AssetMatch } {
  const { receipt: r, format } = parseAnyReceipt(receipt);
  if (asset === null) return { verified: verifyReceipt(r, trust.policy), format, checkpointNote: r.checkpoint };
  const sha = assetIsHash ? asset : sha256(asset);
  const verified = verifyReceipt(r, trust.policy);
  const match = assetStep(() => matchAsset(verified.signedClaim, sha, c2pa));
  return { verified, format, checkpointNote: r.checkpoint, match };
}

function assetStep<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError && !(e instanceof ReceiptStepError)) throw new ReceiptStepError('asset', e);
    throw e;
  }
}

/** The result of verifying a receipt embedded in the file's C2PA manifest store. */
export interface EmbeddedReceiptResult {
  readonly verified: VerifiedReceipt;
  readonly checkpointNote: Uint8Array;
  /** The label of the manifest whose org.provlog.receipt assertion held the receipt. */
  readonly manifest: string;
  readonly match: AssetMatch;
}

/**
 * Verifies the receipts in a file's `org.provlog.receipt` assertions,
 * offline, newest manifest first (as `provlog verify`): the first that
 * verifies and matches the file wins; else the first failure is thrown.
 * Null when the store carries no receipt.
 */
export function embeddedReceiptFlow(c2pa: FileC2pa, sha: Hash, trust: Trust): EmbeddedReceiptResult | null {
  const found = embeddedReceipts(c2pa.store);
  if (found.length === 0) return null;
  let first: unknown = null;
  for (const { manifest, receipt } of found) {
    try {
      let r;
      try {
        r = decodeReceipt(receipt);
      } catch (e) {
        if (e instanceof VerifyError) throw new PageVerifyError(e, 'embedded-receipt');
        throw e;
      }
      const verified = verifyReceipt(r, trust.policy);
      const match = assetStep(() => matchAsset(verified.signedClaim, sha, c2pa));
      return { verified, checkpointNote: r.checkpoint, manifest, match };
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      first ??= e;
    }
  }
  throw first;
}

// ---- find similar: the log's soft-binding search (http-api.md, C2PA Soft Binding Resolution API) ----

/** Uploads a body to a same-origin path. */
export type Post = (path: string, body: Blob, contentType: string) => Promise<Response>;

/** The log's perceptual hash (claim.md §3.3), the one byContent computes. */
export const DHASH_ALG = 'org.provlog.dhash.double-gradient-8x8.v1';
/** The largest upload the log accepts (http-api.md). */
export const MAX_UPLOAD = 32 * 1024 * 1024;
/** Matches asked for, and the most read. */
export const SIMILAR_RESULTS = 10;
const MAX_SIMILAR_ANSWER = 4 * 1024 * 1024;

export interface SimilarMatch {
  readonly index: bigint;
  /** The log's Hamming distance between the uploaded image's perceptual hash and the claim's (the log's computation). */
  readonly distance: number | null;
  readonly similarityScore: number | null;
  readonly manifestId: string | null;
  readonly signedClaim: SignedClaim;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
}

export interface SimilarResult {
  readonly matches: readonly SimilarMatch[];
  readonly checkpoint: PolicyVerified;
  readonly checkpointNote: string;
  readonly latest: { readonly verified: PolicyVerified; readonly consistent: 'same' | 'proved' };
}

function similarBad(msg: string): never {
  throw new PageVerifyError(new VerifyError('lookup', msg), 'similar');
}

/**
 * Uploads `image` to `POST /matches/byContent` (only when the user asked:
 * the caller is a click handler) and verifies the answer: the checkpoint
 * under the page's trust, then for each match its signed claim and vendor
 * signature, its inclusion proof to that checkpoint, and that the claim
 * carries the perceptual-hash soft binding the search is over; then the
 * checkpoint's consistency with the log's latest. A match without its entry
 * or proof in the answer has them fetched (`/v1/entries/N`,
 * `/v1/proof/inclusion`). The similarity itself is the log's computation.
 */
export async function findSimilarFlow(image: Blob, contentType: string, trust: Trust, post: Post, fetchFn: Fetch): Promise<SimilarResult> {
  if (image.size > MAX_UPLOAD) throw new NetworkError(`find similar: the image is ${image.size} bytes; the log accepts at most ${MAX_UPLOAD}`);
  let r: Response;
  try {
    r = await post(`/matches/byContent?maxResults=${SIMILAR_RESULTS}`, image, contentType);
  } catch (e) {
    throw new NetworkError(`find similar: the log could not be reached (${e instanceof Error ? e.message : String(e)})`);
  }
  const body = text(await readLimited(r, MAX_SIMILAR_ANSWER, 'find similar'), 'find similar');
  let j: unknown;
  try {
    j = parseJsonStrict(body, 'lookup');
  } catch (e) {
    if (e instanceof VerifyError) similarBad(`the answer is not valid JSON: ${e.message}`);
    throw e;
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) similarBad('the answer is not a JSON object');
  const o = j as Record<string, unknown>;
  if (typeof o.checkpoint !== 'string') similarBad('the answer has no checkpoint');
  if (!Array.isArray(o.matches)) similarBad('the answer has no list of matches');
  if (o.matches.length > SIMILAR_RESULTS) similarBad(`the answer has ${o.matches.length} matches; ${SIMILAR_RESULTS} were asked for`);
  const checkpointNote = o.checkpoint;
  const checkpoint = verifyCheckpointWithPolicy(checkpointNote, trust.policy);
  const size = checkpoint.checkpoint.size;
  const seen = new Set<bigint>();
  const matches: SimilarMatch[] = [];
  for (const [n, raw] of (o.matches as unknown[]).entries()) {
    if (typeof raw !== 'object' || raw === null) similarBad(`match ${n + 1} is not an object`);
    const m = raw as Record<string, unknown>;
    const idx = m.entryIndex;
    if (typeof idx !== 'number' || !Number.isSafeInteger(idx) || idx < 0) similarBad(`match ${n + 1} has no entry index`);
    const index = BigInt(idx);
    if (index >= size) similarBad(`match ${n + 1} is entry ${index}, beyond the answer's checkpoint of ${size} entries`);
    if (seen.has(index)) similarBad(`entry ${index} is listed twice`);
    seen.add(index);
    const entry = typeof m.entry === 'string' ? fromBase64(m.entry) : await get(fetchFn, `/v1/entries/${index}`, MAX_ENTRY_SIZE, `entry ${index}`);
    if (entry === null || entry.length > MAX_ENTRY_SIZE) similarBad(`match ${n + 1}: the entry is not base64 of at most ${MAX_ENTRY_SIZE} bytes`);
    let proofList: unknown = m.proof;
    if (proofList === undefined) proofList = (JSON.parse(text(await get(fetchFn, `/v1/proof/inclusion?index=${index}&size=${size}`, MAX_SMALL_JSON, 'inclusion proof'), 'inclusion proof')) as { proof?: unknown }).proof;
    const proof = Array.isArray(proofList) ? proofList.map((x) => (typeof x === 'string' ? fromBase64(x) : null)) : [null];
    if (proof.length > 64 || proof.some((x) => x === null || x.length !== 32)) fail('inclusion', `entry ${index}: the inclusion proof is not a list of base64 hashes`);
    let sc: SignedClaim;
    try {
      sc = decodeSignedClaim(entry);
      verifySignedClaim(sc);
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(e.check, `entry ${index}: ${e.message}`);
      throw e;
    }
    const leaf = leafHash(entry);
    try {
      verifyInclusion(leaf, index, size, proof as Uint8Array[], checkpoint.checkpoint.root);
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(e.check, `entry ${index}: ${e.message}`);
      throw e;
    }
    if (!(sc.claim.soft ?? []).some((s) => s.alg === DHASH_ALG)) similarBad(`entry ${index} has no ${DHASH_ALG} soft binding, so it cannot be a near match`);
    const distance = typeof m.distance === 'number' && Number.isInteger(m.distance) && m.distance >= 0 && m.distance <= 40 ? m.distance : null;
    const similarityScore = typeof m.similarityScore === 'number' && Number.isFinite(m.similarityScore) ? m.similarityScore : null;
    matches.push({ index, distance, similarityScore, manifestId: typeof m.manifestId === 'string' ? m.manifestId : null, signedClaim: sc, leafHash: leaf, proof: proof as Uint8Array[] });
  }
  const latest = await relateToLatest(checkpoint, trust, fetchFn);
  return { matches, checkpoint, checkpointNote, ...latest };
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
