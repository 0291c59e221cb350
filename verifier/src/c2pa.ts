// C2PA manifest stores, as far as a provlog verifier needs them
// (spec/receipt.md "Receipt inside the asset", spec/claim.md §5): find the
// store in a JPEG (APP11 segments) or PNG (`caBX` chunk), read its JUMBF
// boxes (ISO/IEC 19566-5), take the provlog receipts out of
// `org.provlog.receipt` assertions, and check a claim's `c2pa.hash.data`
// hard binding over the file's bytes.
//
// Written from the box structure of ISO/IEC 19566-5 (JUMBF) and ISO/IEC
// 14496-12 (box headers) as the C2PA specification uses them. Strict and
// bounded: every length is checked against the bytes that remain before it
// is used, box count, nesting depth and store size are limited, nothing is
// allocated from a declared length, and every rejection is a VerifyError
// with check 'c2pa' (a mismatching hard binding: 'asset-hash').
//
// What this module does NOT do: verify C2PA signatures (COSE with X.509
// chains), hashed URIs, or any other part of C2PA validation. A receipt does
// not need them (its claim is signed by the vendor and logged); the page says
// so in its verdict.

import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, toHex, utf8Decode } from './bytes.js';
import type { C2paBinding, HashAlg } from './claim.js';
import { decode } from './cbor.js';
import { fail, VerifyError } from './errors.js';

/** Largest manifest store read (as provlog's Rust side: 16 MiB). */
export const MAX_STORE_SIZE = 16 * 1024 * 1024;
/** Most boxes (superboxes and content boxes) in one store. */
export const MAX_BOXES = 10_000;
/** Deepest nesting of superboxes; the store itself is level 1. C2PA needs 4 (store > manifest > assertion store > assertion). */
export const MAX_DEPTH = 6;
/** Most JPEG segments or PNG chunks walked while looking for the store. */
export const MAX_SEGMENTS = 100_000;

/** The 12-byte suffix ISO/IEC 19566-5 gives the UUIDs of its box types ("XXXX" + this). */
const ISO_SUFFIX = Uint8Array.of(0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71);

/** Limits of one read (defaults above); tests lower them. */
export interface JumbfLimits {
  readonly maxSize: number;
  readonly maxBoxes: number;
  readonly maxDepth: number;
}
export const DEFAULT_LIMITS: JumbfLimits = { maxSize: MAX_STORE_SIZE, maxBoxes: MAX_BOXES, maxDepth: MAX_DEPTH };

/** A JUMBF description box (`jumd`). */
export interface Description {
  /** The 16-byte content type UUID. */
  readonly uuid: Uint8Array;
  /** Its four-character type when the UUID is an ISO 19566-5 one ("c2pa", "c2ma", "cbor", ...), else null. */
  readonly type: string | null;
  readonly label?: string;
  readonly id?: number;
}

/** A content box: any box in a superbox other than the description and nested superboxes. */
export interface ContentBox {
  readonly kind: 'box';
  /** The four-character box type (bytes as Latin-1). */
  readonly type: string;
  /** Offset of the box header in the store. */
  readonly offset: number;
  /** The box's contents after its header (a view into the input). */
  readonly payload: Uint8Array;
}

/** A JUMBF superbox (`jumb`): a description, then content boxes and superboxes. */
export interface SuperBox {
  readonly kind: 'super';
  readonly offset: number;
  readonly desc: Description;
  readonly children: readonly (SuperBox | ContentBox)[];
}

function bad(msg: string): never {
  return fail('c2pa', msg);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

/** One box header at `at` within [at, end): its type, header size and total size, all checked to fit. */
function boxHeader(b: Uint8Array, at: number, end: number, where: string): { type: string; header: number; size: number } {
  if (end - at < 8) bad(`${where}: a box header at byte ${at} is truncated`);
  const lbox = u32(b, at);
  const type = fourcc(b, at + 4);
  let size: number;
  let header = 8;
  if (lbox === 0) bad(`${where}: box "${type}" at byte ${at} has length 0 ("to the end"), which a manifest store does not use`);
  if (lbox === 1) {
    if (end - at < 16) bad(`${where}: box "${type}" at byte ${at} has a truncated extended length`);
    const hi = u32(b, at + 8);
    const lo = u32(b, at + 12);
    // Any size over 2^32 is over every limit here: no need for more than 53 bits.
    if (hi !== 0) bad(`${where}: box "${type}" at byte ${at} declares ${hi * 2 ** 32 + lo} bytes, over the ${MAX_STORE_SIZE}-byte limit`);
    size = lo;
    header = 16;
    if (size < 16) bad(`${where}: box "${type}" at byte ${at} declares an extended length ${size} shorter than its header`);
  } else {
    size = lbox;
    if (size < 8) bad(`${where}: box "${type}" at byte ${at} declares length ${size}, shorter than its header`);
  }
  if (size > end - at) bad(`${where}: box "${type}" at byte ${at} declares ${size} bytes, but only ${end - at} remain`);
  return { type, header, size };
}

class JumbfReader {
  boxes = 0;
  constructor(
    readonly b: Uint8Array,
    readonly limits: JumbfLimits,
  ) {}

  count(at: number): void {
    if (++this.boxes > this.limits.maxBoxes) bad(`more than ${this.limits.maxBoxes} boxes (at byte ${at})`);
  }

  description(at: number, end: number): Description {
    const b = this.b;
    // 16-byte type UUID, a toggles byte, then what the toggles say is present.
    if (end - at < 17) bad(`the description box at byte ${at} is shorter than a type UUID and toggles`);
    const uuid = b.slice(at, at + 16);
    const toggles = b[at + 16]!;
    if (toggles & 0xe0) bad(`the description box at byte ${at} has reserved toggle bits set (${toggles.toString(16)})`);
    let p = at + 17;
    let label: string | undefined;
    let id: number | undefined;
    if (toggles & 0x02) {
      const z = b.subarray(p, end).indexOf(0);
      if (z < 0) bad(`the description box at byte ${at} has a label without its terminating NUL`);
      const s = utf8Decode(b.subarray(p, p + z));
      if (s === null) bad(`the label of the description box at byte ${at} is not UTF-8`);
      label = s;
      p += z + 1;
    }
    if (toggles & 0x04) {
      if (end - p < 4) bad(`the description box at byte ${at} is too short for its ID`);
      id = u32(b, p);
      p += 4;
    }
    if (toggles & 0x08) {
      if (end - p < 32) bad(`the description box at byte ${at} is too short for its signature`);
      p += 32;
    }
    if (toggles & 0x10) {
      // One private box (C2PA: the "c2sh" salt); read as a box, not interpreted.
      const h = boxHeader(b, p, end, 'description');
      this.count(p);
      p += h.size;
    }
    if (p !== end) bad(`the description box at byte ${at} has ${end - p} unexplained bytes`);
    const type = bytesEqual(uuid.subarray(4), ISO_SUFFIX) ? fourcc(uuid, 0) : null;
    return { uuid, type, ...(label !== undefined ? { label } : {}), ...(id !== undefined ? { id } : {}) };
  }

  /** The superbox whose header is at `at`, occupying exactly [at, end). */
  superbox(at: number, end: number, depth: number): SuperBox {
    if (depth > this.limits.maxDepth) bad(`superboxes nested deeper than ${this.limits.maxDepth} levels (at byte ${at})`);
    const h = boxHeader(this.b, at, end, 'JUMBF');
    if (h.type !== 'jumb') bad(`expected a JUMBF superbox ("jumb") at byte ${at}, found "${h.type}"`);
    if (h.size !== end - at) bad(`the superbox at byte ${at} is ${h.size} bytes, its container holds ${end - at}`);
    this.count(at);
    let p = at + h.header;
    const dh = boxHeader(this.b, p, end, 'JUMBF');
    if (dh.type !== 'jumd') bad(`the superbox at byte ${at} does not start with a description box ("jumd"), but "${dh.type}"`);
    this.count(p);
    const desc = this.description(p + dh.header, p + dh.size);
    p += dh.size;
    const children: (SuperBox | ContentBox)[] = [];
    while (p < end) {
      const ch = boxHeader(this.b, p, end, 'JUMBF');
      if (ch.type === 'jumd') bad(`the superbox at byte ${at} has a second description box (at byte ${p})`);
      if (ch.type === 'jumb') children.push(this.superbox(p, p + ch.size, depth + 1));
      else {
        this.count(p);
        children.push({ kind: 'box', type: ch.type, offset: p, payload: this.b.subarray(p + ch.header, p + ch.size) });
      }
      p += ch.size;
    }
    return { kind: 'super', offset: at, desc, children };
  }
}

/** Anything but a VerifyError escaping a parser is a bug; it is still reported as a rejection of the input. */
function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    return bad(`unreadable manifest store (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Reads a JUMBF superbox filling all of `b` (a C2PA manifest store), with
 * the size checked first and box count and depth bounded while reading.
 */
export function parseJumbf(b: Uint8Array, limits: JumbfLimits = DEFAULT_LIMITS): SuperBox {
  return guarded(() => {
    if (b.length > limits.maxSize) bad(`the manifest store is ${b.length} bytes, over the ${limits.maxSize}-byte limit`);
    return new JumbfReader(b, limits).superbox(0, b.length, 1);
  });
}

/** Reads `b` as a C2PA manifest store: a JUMBF superbox of type "c2pa". */
export function parseManifestStore(b: Uint8Array, limits: JumbfLimits = DEFAULT_LIMITS): SuperBox {
  const s = parseJumbf(b, limits);
  if (s.desc.type !== 'c2pa') bad(`the JUMBF superbox is of type ${s.desc.type ?? 'uuid:' + toHex(s.desc.uuid)}, not a C2PA manifest store ("c2pa")`);
  return s;
}

// ---- where a store is kept: JPEG and PNG ----

/** Where the manifest store is in a file, and its bytes. */
export interface StoreLocation {
  readonly container: 'jpeg' | 'png';
  /** The store (the JUMBF superbox bytes). */
  readonly store: Uint8Array;
  /** The byte range of the file that holds the store: its APP11 segments, or its whole `caBX` chunk. */
  readonly start: number;
  readonly end: number;
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Whether `head` (the first bytes of a file) is a JPEG or PNG, the containers this module reads. */
export function containerOf(head: Uint8Array): 'jpeg' | 'png' | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && bytesEqual(head.subarray(0, 8), PNG_SIGNATURE)) return 'png';
  return null;
}

interface App11Segment {
  readonly start: number; // the marker
  readonly end: number;
  readonly z: number;
  readonly header: Uint8Array; // the repeated box header (LBox, TBox[, XLBox])
  readonly data: Uint8Array; // what follows the header
}

function jpegStore(b: Uint8Array): StoreLocation | null {
  // JPEG segments from SOI to SOS; JUMBF boxes ride in APP11 (0xFFEB)
  // segments: "JP" (CI), En (box instance), Z (sequence, from 1), then the
  // box's header, repeated in every segment, and the next part of its body.
  const groups = new Map<number, App11Segment[]>();
  let p = 2;
  let n = 0;
  for (;;) {
    if (++n > MAX_SEGMENTS) bad(`JPEG: more than ${MAX_SEGMENTS} segments before the image data`);
    if (p >= b.length) bad('JPEG: the file ends before its image data (no SOS marker)');
    if (b[p] !== 0xff) bad(`JPEG: expected a marker at byte ${p}`);
    let m = p + 1;
    while (m < b.length && b[m] === 0xff) m++; // fill bytes
    if (m >= b.length) bad('JPEG: the file ends inside a marker');
    const marker = b[m]!;
    const segStart = p;
    if (marker === 0xda || marker === 0xd9) break; // SOS or EOI: no metadata segments after this point
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p = m + 1;
      continue;
    }
    if (marker === 0x00 || marker === 0xd8) bad(`JPEG: unexpected marker 0x${marker.toString(16)} at byte ${m}`);
    if (b.length - (m + 1) < 2) bad(`JPEG: segment length at byte ${m + 1} is truncated`);
    const len = (b[m + 1]! << 8) | b[m + 2]!;
    if (len < 2) bad(`JPEG: segment at byte ${segStart} declares length ${len}`);
    const end = m + 1 + len;
    if (end > b.length) bad(`JPEG: segment at byte ${segStart} declares ${len} bytes, but only ${b.length - m - 1} remain`);
    if (marker === 0xeb && len >= 2 + 8 && b[m + 3] === 0x4a && b[m + 4] === 0x50) {
      const body = m + 5; // after "JP"
      const en = (b[body]! << 8) | b[body + 1]!;
      const z = u32(b, body + 2);
      const boxAt = body + 6;
      const h = end - boxAt >= 8 ? u32(b, boxAt) : -1;
      const hl = h === 1 ? 16 : 8;
      if (end - boxAt < hl) bad(`JPEG: APP11 segment at byte ${segStart} is too short for its box header`);
      const list = groups.get(en) ?? [];
      if (!groups.has(en)) groups.set(en, list);
      list.push({ start: segStart, end, z, header: b.subarray(boxAt, boxAt + hl), data: b.subarray(boxAt + hl, end) });
    }
    p = end;
  }
  let found: StoreLocation | null = null;
  for (const [en, segs] of groups) {
    const first = segs[0]!;
    // Is this instance a C2PA store? Its description box's type says so (in the first 24 bytes of the body, whichever segments hold them).
    const d = new Uint8Array(24);
    let got = 0;
    for (const sg of segs) {
      if (got === 24) break;
      const take = Math.min(24 - got, sg.data.length);
      d.set(sg.data.subarray(0, take), got);
      got += take;
    }
    const isC2pa = got === 24 && fourcc(d, 4) === 'jumd' && fourcc(d, 8) === 'c2pa' && bytesEqual(d.subarray(12, 24), ISO_SUFFIX);
    if (!isC2pa) continue;
    if (found) bad('JPEG: the file holds two C2PA manifest stores');
    let total = first.header.length;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (s.z !== i + 1) bad(`JPEG: APP11 box instance ${en}: segment ${i + 1} has sequence number ${s.z}`);
      if (!bytesEqual(s.header, first.header)) bad(`JPEG: APP11 box instance ${en}: segment ${i + 1} repeats a different box header`);
      if (i > 0 && segs[i - 1]!.end !== s.start) bad(`JPEG: the APP11 segments of the manifest store are not contiguous (a gap before byte ${s.start})`);
      total += s.data.length;
      if (total > MAX_STORE_SIZE) bad(`JPEG: the manifest store is over the ${MAX_STORE_SIZE}-byte limit`);
    }
    const store = new Uint8Array(total);
    store.set(first.header, 0);
    let o = first.header.length;
    for (const s of segs) {
      store.set(s.data, o);
      o += s.data.length;
    }
    const declared = first.header.length === 16 ? u32(first.header, 12) + u32(first.header, 8) * 2 ** 32 : u32(first.header, 0);
    if (declared !== total) bad(`JPEG: the manifest store's box declares ${declared} bytes, its APP11 segments hold ${total}`);
    found = { container: 'jpeg', store, start: first.start, end: segs[segs.length - 1]!.end };
  }
  return found;
}

let crcTable: Uint32Array | null = null;
function crc32(parts: Uint8Array[]): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of parts) for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngStore(b: Uint8Array): StoreLocation | null {
  // PNG chunks: length (at most 2^31-1), type, data, CRC over type and data. The store is the data of a caBX chunk.
  let p = 8;
  let n = 0;
  let found: StoreLocation | null = null;
  for (;;) {
    if (++n > MAX_SEGMENTS) bad(`PNG: more than ${MAX_SEGMENTS} chunks`);
    if (b.length - p < 12) bad(`PNG: chunk at byte ${p} is truncated (no IEND chunk)`);
    const len = u32(b, p);
    if (len > 0x7fffffff) bad(`PNG: chunk at byte ${p} declares length ${len}, over 2^31-1`);
    if (len > b.length - p - 12) bad(`PNG: chunk at byte ${p} declares ${len} bytes, but only ${b.length - p - 12} remain`);
    const type = fourcc(b, p + 4);
    const end = p + 12 + len;
    if (type === 'caBX') {
      if (found) bad('PNG: the file holds two caBX chunks');
      if (len > MAX_STORE_SIZE) bad(`PNG: the manifest store is ${len} bytes, over the ${MAX_STORE_SIZE}-byte limit`);
      if (crc32([b.subarray(p + 4, p + 8 + len)]) !== u32(b, p + 8 + len)) bad(`PNG: the caBX chunk at byte ${p} fails its CRC`);
      found = { container: 'png', store: b.subarray(p + 8, p + 8 + len), start: p, end };
    }
    p = end;
    if (type === 'IEND') return found;
  }
}

/**
 * Finds the C2PA manifest store embedded in a JPEG or PNG file. Null when
 * the file is neither, or has no store; a malformed container or store is a
 * VerifyError ('c2pa').
 */
export function locateManifestStore(file: Uint8Array): StoreLocation | null {
  return guarded(() => {
    const c = containerOf(file.subarray(0, 8));
    if (c === 'jpeg') return jpegStore(file);
    if (c === 'png') return pngStore(file);
    return null;
  });
}

// ---- what is in a store ----

/** A manifest of the store, in store order (the last one is the active manifest). */
export interface ManifestBox {
  readonly label: string;
  /** "standard" (c2ma), "update" (c2um), or another type (e.g. a compressed manifest, not read here). */
  readonly kind: 'standard' | 'update' | 'other';
  readonly box: SuperBox;
}

export function manifests(store: SuperBox): ManifestBox[] {
  const out: ManifestBox[] = [];
  for (const c of store.children) {
    if (c.kind !== 'super') continue;
    const label = c.desc.label;
    if (label === undefined) bad('a manifest in the store has no label');
    if (out.some((m) => m.label === label)) bad(`the store has two manifests labelled ${label}`);
    out.push({ label, kind: c.desc.type === 'c2ma' ? 'standard' : c.desc.type === 'c2um' ? 'update' : 'other', box: c });
  }
  if (out.length === 0) bad('the manifest store holds no manifest');
  return out;
}

function superChildren(s: SuperBox, type: string): SuperBox[] {
  return s.children.filter((c): c is SuperBox => c.kind === 'super' && c.desc.type === type);
}

/** The payload of a superbox's content box, which must be its one and only content box, of type `type`. */
function content(s: SuperBox, type: string, what: string): Uint8Array {
  const boxes = s.children.filter((c): c is ContentBox => c.kind === 'box');
  if (boxes.length !== 1 || boxes[0]!.type !== type) bad(`${what} does not hold exactly one "${type}" box`);
  return boxes[0]!.payload;
}

/** Label of the receipt assertion (spec/receipt.md). */
export const RECEIPT_ASSERTION = 'org.provlog.receipt';

/** An assertion's label without C2PA's instance suffix ("__2"). */
function baseLabel(l: string): string {
  const m = /^(.*)__[0-9]+$/.exec(l);
  return m ? m[1]! : l;
}

/**
 * The receipts in `org.provlog.receipt` assertions (CBOR: a byte string
 * holding the receipt), newest manifest first. The bytes are not decoded
 * as a receipt here.
 */
export function embeddedReceipts(store: SuperBox): { manifest: string; receipt: Uint8Array }[] {
  return guarded(() => {
    const out: { manifest: string; receipt: Uint8Array }[] = [];
    for (const m of manifests(store).reverse()) {
      if (m.kind === 'other') continue;
      const stores = superChildren(m.box, 'c2as');
      if (stores.length !== 1) bad(`manifest ${m.label} does not have exactly one assertion store`);
      for (const a of stores[0]!.children) {
        if (a.kind !== 'super' || a.desc.label === undefined || baseLabel(a.desc.label) !== RECEIPT_ASSERTION) continue;
        if (a.desc.type !== 'cbor') bad(`the ${RECEIPT_ASSERTION} assertion of ${m.label} is not a CBOR assertion`);
        const item = decode(content(a, 'cbor', `the ${RECEIPT_ASSERTION} assertion of ${m.label}`), { maxDepth: 1 });
        if (item.t !== 'bytes') bad(`the ${RECEIPT_ASSERTION} assertion of ${m.label} is not a CBOR byte string`);
        out.push({ manifest: m.label, receipt: item.v });
      }
    }
    return out;
  });
}

const HASHES: Record<HashAlg, { create(): { update(b: Uint8Array): unknown; digest(): Uint8Array } }> = { sha256, sha384, sha512 };

/** The outcome of checking a claim's C2PA hard binding against a file. */
export type HardBindingResult =
  | { readonly checked: true; readonly manifest: string; readonly alg: HashAlg; readonly adjusted: boolean }
  | { readonly checked: false; readonly reason: string };

/**
 * claim.md §5 rule 2, as far as it can be checked without a C2PA
 * validator: the store holds a standard manifest labelled
 * `c2pa.manifest` after which only update manifests follow, its claim box
 * hashes (with `claim_alg`) to `claim_hash`, and, for a `data` hard binding,
 * the file's bytes outside the exclusions hash to `hard.hash`, where the
 * exclusion that starts where the store starts is extended to the store's
 * current extent (an update manifest grew the store). Throws VerifyError
 * ('asset-hash') when the file does not match; returns `checked: false` for
 * a binding this module cannot compute (BMFF, box hashes). The C2PA
 * signatures are never checked here.
 */
export function checkHardBinding(file: Uint8Array, loc: StoreLocation, store: SuperBox, binding: C2paBinding): HardBindingResult {
  return guarded(() => {
    const all = manifests(store);
    const i = all.findIndex((m) => m.label === binding.manifest);
    if (i < 0) fail('asset-hash', `the file's manifest store has no manifest ${binding.manifest}, the one the claim is bound to`);
    const m = all[i]!;
    if (m.kind !== 'standard') fail('asset-hash', `manifest ${m.label} is not a standard manifest, so it binds no content`);
    const later = all.slice(i + 1).find((x) => x.kind !== 'update');
    if (later) fail('asset-hash', `manifest ${later.label}, added after ${m.label}, is not an update manifest: the content may have changed`);
    const claims = m.box.children.filter((c): c is SuperBox => c.kind === 'super' && c.desc.type === 'c2cl');
    if (claims.length !== 1) bad(`manifest ${m.label} does not have exactly one claim box`);
    const claimBytes = content(claims[0]!, 'cbor', `the claim box of ${m.label}`);
    const ch = HASHES[binding.claimAlg].create();
    ch.update(claimBytes);
    if (!bytesEqual(ch.digest(), binding.claimHash)) fail('asset-hash', `the claim of manifest ${m.label} does not hash to the claim hash that was logged`);
    const kind = binding.hard.kind ?? 'data';
    if (kind !== 'data') return { checked: false, reason: `its ${kind} hard binding is not computed by this page` };
    // The byte ranges to leave out, the store's adjusted to its current extent.
    let adjusted = false;
    const ranges = binding.hard.exclusions.map((e) => {
      let start = Number(e.start);
      let end = start + Number(e.length);
      if (start === loc.start && end !== loc.end) {
        end = loc.end;
        adjusted = true;
      }
      if (!Number.isSafeInteger(end)) end = Number.MAX_SAFE_INTEGER;
      return [start, end] as const;
    });
    ranges.sort((a, b) => a[0] - b[0]);
    if (!ranges.some(([s, e]) => s <= loc.start && e >= loc.end)) fail('asset-hash', `the hard binding's exclusions do not cover the manifest store (bytes ${loc.start} to ${loc.end})`);
    const h = HASHES[binding.hard.alg].create();
    let p = 0;
    for (const [s, e] of ranges) {
      if (e > file.length) fail('asset-hash', `an exclusion of the hard binding runs past the end of the ${file.length}-byte file`);
      if (s > p) h.update(file.subarray(p, s));
      p = Math.max(p, e);
    }
    if (p < file.length) h.update(file.subarray(p));
    if (!bytesEqual(h.digest(), binding.hard.hash)) fail('asset-hash', `the file's bytes outside its manifest store do not hash to the logged ${binding.hard.alg} hard binding: the content changed`);
    return { checked: true, manifest: m.label, alg: binding.hard.alg, adjusted };
  });
}
