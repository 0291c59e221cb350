// The checkpoint body of spec/checkpoint.md §1 (origin, size, root and
// opaque extension lines), with no knowledge of provlog's legacy timestamp
// line. The ML-DSA-44 subtree/v1 signature type needs exactly this to build
// its signed message, and must not depend on the checkpoint module (which
// depends on notes, which depend on the key types).

import { fromBase64, parseCanonicalU64 } from './bytes.js';
import { fail } from './errors.js';
import type { Hash } from './hash.js';

export interface CheckpointFields {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Hash;
  /** Every extension line, in order (the legacy timestamp line included). */
  readonly extensionLines: readonly string[];
}

/** Parses a checkpoint body by spec/checkpoint.md §1 only. */
export function parseCheckpointFields(text: string): CheckpointFields {
  if (!text.endsWith('\n')) fail('checkpoint', 'the checkpoint body does not end with a newline');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) fail('checkpoint', 'the checkpoint body contains a control character');
  }
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) fail('checkpoint', 'a checkpoint has at least three lines (origin, size, root)');
  const [origin, sizeText, rootText, ...ext] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) fail('checkpoint', 'the checkpoint origin is empty');
  const size = parseCanonicalU64(sizeText);
  if (size === null) fail('checkpoint', `the checkpoint size ${JSON.stringify(sizeText)} is not a canonical decimal below 2^64`);
  const root = fromBase64(rootText);
  if (root === null || root.length !== 32) fail('checkpoint', `the checkpoint root ${JSON.stringify(rootText)} is not canonical base64 of 32 bytes`);
  for (const line of ext) if (line.length === 0) fail('checkpoint', 'the checkpoint has an empty extension line');
  return { origin, size, root, extensionLines: ext };
}
