// Receipts: the CBOR bundle (.provlog) and the C2SP tlog-proof text form,
// and their offline verification (spec/receipt.md).

import { bytesEqual, fromBase64, parseCanonicalU64, toBase64, toHex, utf8, utf8Decode } from './bytes.js';
import { array, bytes, decode, encode, kind, map, textKeyedMap, uint } from './cbor.js';
import { type Checkpoint, type LogTime } from './checkpoint.js';
import { fail, VerifyError } from './errors.js';
import { type Hash, leafHash, sha256 } from './hash.js';
import { verifyInclusion } from './merkle.js';
import { type Cosigner, type Policy, verifyCheckpointWithPolicy } from './policy.js';
import { decodeSignedClaim, MAX_ENTRY_SIZE, type SignedClaim, verifySignedClaim } from './signedclaim.js';
import type { VerifierKey } from './note.js';

export const MAX_RECEIPT_SIZE = 128 * 1024;
export const MAX_TLOG_PROOF_SIZE = 256 * 1024;
export const MAX_CHECKPOINT_NOTE_SIZE = 64 * 1024;
export const MAX_PROOF_HASHES = 64;
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface Receipt {
  readonly entry: Uint8Array;
  readonly index: bigint;
  readonly proof: readonly Hash[];
  /** The signed checkpoint note bytes. */
  readonly checkpoint: Uint8Array;
}

function bad(msg: string): never {
  return fail('receipt', msg);
}

/** Deterministic CBOR of a receipt. */
export function encodeReceipt(r: Receipt): Uint8Array {
  return encode(map([['v', uint(1)], ['entry', bytes(r.entry)], ['index', uint(r.index)], ['proof', array(r.proof.map(bytes))], ['checkpoint', bytes(r.checkpoint)]]));
}

/** Decodes a CBOR receipt: structure and limits only (spec/receipt.md). */
export function decodeReceipt(b: Uint8Array): Receipt {
  if (b.length > MAX_RECEIPT_SIZE) bad(`the receipt is ${b.length} bytes, over the limit of ${MAX_RECEIPT_SIZE}`);
  const item = decode(b, { maxDepth: 2 });
  const m = textKeyedMap(item, 'the receipt', 'receipt');
  const v = m.get('v');
  if (v?.t !== 'uint') bad('the receipt has no version "v"');
  if (v.v !== 1n) bad(`unsupported receipt version ${v.v}`);
  for (const k of m.keys()) if (!['v', 'entry', 'index', 'proof', 'checkpoint'].includes(k)) bad(`the receipt has the unknown key "${k}"`);
  const entry = m.get('entry');
  if (entry?.t !== 'bytes') bad(`"entry" must be a byte string, not ${entry ? kind(entry) : 'missing'}`);
  if (entry.v.length > MAX_ENTRY_SIZE) bad(`the entry is ${entry.v.length} bytes, over ${MAX_ENTRY_SIZE}`);
  const index = m.get('index');
  if (index?.t !== 'uint') bad(`"index" must be an unsigned integer, not ${index ? kind(index) : 'missing'}`);
  const proof = m.get('proof');
  if (proof?.t !== 'array') bad(`"proof" must be an array, not ${proof ? kind(proof) : 'missing'}`);
  if (proof.v.length > MAX_PROOF_HASHES) bad(`the proof has ${proof.v.length} hashes, over ${MAX_PROOF_HASHES}`);
  const hashes = proof.v.map((h, i) => {
    if (h.t !== 'bytes' || h.v.length !== 32) bad(`proof element ${i} is not a 32-byte hash`);
    return (h as { v: Uint8Array }).v;
  });
  const cp = m.get('checkpoint');
  if (cp?.t !== 'bytes') bad(`"checkpoint" must be a byte string, not ${cp ? kind(cp) : 'missing'}`);
  if (cp.v.length > MAX_CHECKPOINT_NOTE_SIZE) bad('the checkpoint note is over 64 KiB');
  const r: Receipt = { entry: entry.v, index: index.v, proof: hashes, checkpoint: cp.v };
  if (!bytesEqual(encodeReceipt(r), b)) fail('cbor', 'the receipt is not in deterministic CBOR encoding');
  return r;
}

/** Formats a receipt as C2SP tlog-proof text with the entry in `extra`. */
export function formatTlogProof(r: Receipt): string {
  const cp = utf8Decode(r.checkpoint);
  if (cp === null) throw new Error('checkpoint is not UTF-8');
  return `${TLOG_PROOF_HEADER}\nextra ${toBase64(r.entry)}\nindex ${r.index}\n${r.proof.map((h) => toBase64(h) + '\n').join('')}\n${cp}`;
}

/**
 * Parses C2SP tlog-proof text (spec/receipt.md "Text receipt"). The header
 * and proof lines end at the first blank line; everything after it is the
 * checkpoint note, taken verbatim. provlog requires the `extra` line (it
 * carries the signed claim).
 */
export function parseTlogProof(input: string | Uint8Array): Receipt {
  const raw = typeof input === 'string' ? utf8(input) : input;
  if (raw.length > MAX_TLOG_PROOF_SIZE) bad(`the tlog-proof is ${raw.length} bytes, over the limit of ${MAX_TLOG_PROOF_SIZE}`);
  const text = typeof input === 'string' ? input : utf8Decode(raw);
  if (text === null) bad('the tlog-proof is not UTF-8');
  const sep = text.indexOf('\n\n');
  if (sep < 0) bad('tlog-proof: no empty line before the checkpoint');
  const lines = text.slice(0, sep).split('\n');
  const checkpoint = utf8(text.slice(sep + 2));
  if (lines[0] !== TLOG_PROOF_HEADER) bad(`tlog-proof: the first line is not ${TLOG_PROOF_HEADER}`);
  let i = 1;
  const extraLine = lines[i];
  if (extraLine === undefined || !extraLine.startsWith('extra ')) bad('tlog-proof: no extra line; a provlog proof carries the signed claim there');
  const entry = fromBase64(extraLine.slice('extra '.length));
  if (entry === null) bad('tlog-proof: extra is not canonical base64');
  i++;
  const indexLine = lines[i];
  if (indexLine === undefined || !indexLine.startsWith('index ')) bad('tlog-proof: expected an index line');
  const index = parseCanonicalU64(indexLine.slice('index '.length));
  if (index === null) bad('tlog-proof: the index is not a canonical decimal');
  i++;
  const proofLines = lines.slice(i);
  if (proofLines.length > MAX_PROOF_HASHES) bad(`tlog-proof: ${proofLines.length} proof hashes, over ${MAX_PROOF_HASHES}`);
  const proof = proofLines.map((l, n) => {
    const h = fromBase64(l);
    if (h === null || h.length !== 32) bad(`tlog-proof: proof line ${n + 1} is not base64 of a 32-byte hash`);
    return h as Uint8Array;
  });
  if (checkpoint.length > MAX_CHECKPOINT_NOTE_SIZE) bad('tlog-proof: the checkpoint note is over 64 KiB');
  return { entry, index, proof, checkpoint };
}

/** Either encoding, told apart by the tlog-proof header. */
export function parseAnyReceipt(b: Uint8Array): { receipt: Receipt; format: 'cbor' | 'tlog-proof' } {
  const head = utf8(TLOG_PROOF_HEADER + '\n');
  if (b.length >= head.length && bytesEqual(b.subarray(0, head.length), head)) return { receipt: parseTlogProof(b), format: 'tlog-proof' };
  return { receipt: decodeReceipt(b), format: 'cbor' };
}

/** What a valid receipt established. */
export interface VerifiedReceipt {
  readonly signedClaim: SignedClaim;
  readonly index: bigint;
  readonly checkpoint: Checkpoint;
  readonly logKey: VerifierKey;
  readonly cosigners: readonly Cosigner[];
  readonly leafHash: Hash;
  /** The log's signed time (spec/checkpoint.md §2.4), when the checkpoint carries one. */
  readonly logTime?: LogTime;
}

/** The steps of receipt verification, in order, as the page names them. */
export const RECEIPT_STEPS = ['checkpoint', 'claim', 'inclusion', 'asset'] as const;
export type ReceiptStep = (typeof RECEIPT_STEPS)[number];

/** A receipt verification failure: which step, and the underlying error (whose check it keeps). */
export class ReceiptStepError extends VerifyError {
  readonly step: ReceiptStep;
  override readonly cause: VerifyError;
  constructor(step: ReceiptStep, cause: VerifyError) {
    super(cause.check, `${step}: ${cause.message}`);
    this.name = 'ReceiptStepError';
    this.step = step;
    this.cause = cause;
  }
}

function step<T>(s: ReceiptStep, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError) throw new ReceiptStepError(s, e);
    throw e;
  }
}

/**
 * Verifies a receipt offline (spec/receipt.md "Verification"): the
 * checkpoint under the policy, the signed claim and its signature, the
 * inclusion proof, and, when given, the asset's SHA-256. Throws a
 * ReceiptStepError naming the failed step.
 */
export function verifyReceipt(r: Receipt, policy: Policy, asset?: { sha256: Hash } | { bytes: Uint8Array }): VerifiedReceipt {
  const cp = step('checkpoint', () => verifyCheckpointWithPolicy(r.checkpoint, policy));
  const sc = step('claim', () => {
    const s = decodeSignedClaim(r.entry);
    verifySignedClaim(s);
    return s;
  });
  const leaf = leafHash(r.entry);
  step('inclusion', () => verifyInclusion(leaf, r.index, cp.checkpoint.size, r.proof, cp.checkpoint.root));
  if (asset) {
    const h = 'sha256' in asset ? asset.sha256 : sha256(asset.bytes);
    step('asset', () => {
      if (!bytesEqual(h, sc.claim.asset.sha256)) fail('asset-hash', `the file hashes to ${toHex(h)}, the claim is for ${toHex(sc.claim.asset.sha256)}`);
    });
  }
  const base = { signedClaim: sc, index: r.index, checkpoint: cp.checkpoint, logKey: cp.logKey, cosigners: cp.cosigners, leafHash: leaf };
  return cp.logTime === undefined ? base : { ...base, logTime: cp.logTime };
}
