// SHA-256 and the RFC 6962 leaf and node hashes (spec/tree.md §1-2).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export type Hash = Uint8Array; // always 32 bytes

export function sha256(data: Uint8Array): Hash {
  return nobleSha256(data);
}

/** H(0x00 || entry). */
export function leafHash(entry: Uint8Array): Hash {
  const buf = new Uint8Array(entry.length + 1);
  buf[0] = 0;
  buf.set(entry, 1);
  return nobleSha256(buf);
}

/** H(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  const buf = new Uint8Array(65);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 33);
  return nobleSha256(buf);
}

/** Root of the empty tree, H(""). */
export const EMPTY_ROOT: Hash = nobleSha256(new Uint8Array(0));
