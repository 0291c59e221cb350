// src/c2pa.ts: the JUMBF reader, the JPEG/PNG store locators, the receipt
// assertion and the hard-binding check, on stores built here box by box
// (the browser tests use real ones made by c2pa-python and `provlog submit --embed`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, utf8 } from '../src/bytes.js';
import { bytes as cborBytes, encode, text as cborText } from '../src/cbor.js';
import { checkHardBinding, DEFAULT_LIMITS, embeddedReceipts, locateManifestStore, manifests, parseJumbf, parseManifestStore, type StoreLocation } from '../src/c2pa.js';
import type { C2paBinding } from '../src/claim.js';
import { VerifyError } from '../src/errors.js';

const SUFFIX = Uint8Array.of(0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71);

function be32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}
function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const p = concat(...payload);
  return concat(be32(8 + p.length), utf8(type), p);
}
/** The same box with an extended (XLBox) length. */
function xlbox(type: string, ...payload: Uint8Array[]): Uint8Array {
  const p = concat(...payload);
  return concat(be32(1), utf8(type), be32(0), be32(16 + p.length), p);
}
function jumd(type: string, label?: string, extra: Uint8Array = new Uint8Array(0), toggles?: number): Uint8Array {
  const t = toggles ?? (label !== undefined ? 0x03 : 0x01);
  return box('jumd', utf8(type), SUFFIX, Uint8Array.of(t), label !== undefined ? concat(utf8(label), Uint8Array.of(0)) : new Uint8Array(0), extra);
}
const jumb = (...parts: Uint8Array[]): Uint8Array => box('jumb', ...parts);

const RECEIPT = utf8('not a real receipt: the store reader does not decode it');
const CLAIM = utf8('the C2PA claim bytes');

function assertion(label: string, content: Uint8Array, type = 'cbor'): Uint8Array {
  return jumb(jumd(type, label, concat(be32(8 + 16), utf8('c2sh'), new Uint8Array(16)), 0x13), box(type, content));
}
function manifest(kind: 'c2ma' | 'c2um', label: string, assertions: Uint8Array[], claim = CLAIM): Uint8Array {
  return jumb(jumd(kind, label), jumb(jumd('c2as', 'c2pa.assertions'), ...assertions), jumb(jumd('c2cl', 'c2pa.claim.v2'), box('cbor', claim)), jumb(jumd('c2cs', 'c2pa.signature'), box('cbor', Uint8Array.of(0xf6))));
}
function store(...ms: Uint8Array[]): Uint8Array {
  return jumb(jumd('c2pa', 'c2pa'), ...ms);
}
const receiptAssertion = (r: Uint8Array = RECEIPT): Uint8Array => assertion('org.provlog.receipt', encode(cborBytes(r)));
const validStore = (): Uint8Array => store(manifest('c2ma', 'urn:c2pa:one', [assertion('c2pa.hash.data', encode(cborText('x')))]), manifest('c2um', 'urn:c2pa:two', [receiptAssertion()]));

function rejects(f: () => unknown, what: string, check = 'c2pa'): VerifyError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof VerifyError)) throw new Error(`${what}: threw a non-VerifyError: ${String(e)}`);
    assert.equal(e.check, check, `${what}: ${e.message}`);
    return e;
  }
  assert.fail(`${what}: was accepted`);
}

test('JUMBF: a valid store is read: manifests in order, their kinds, the receipt assertion newest first', () => {
  const s = parseManifestStore(validStore());
  assert.equal(s.desc.type, 'c2pa');
  assert.deepEqual(manifests(s).map((m) => [m.label, m.kind]), [['urn:c2pa:one', 'standard'], ['urn:c2pa:two', 'update']]);
  assert.deepEqual(embeddedReceipts(s), [{ manifest: 'urn:c2pa:two', receipt: RECEIPT }]);
  // Two receipts: the newest manifest's first; an instance suffix on the label is the same assertion label.
  const two = parseManifestStore(store(manifest('c2ma', 'urn:c2pa:a', [receiptAssertion(utf8('first'))]), manifest('c2um', 'urn:c2pa:b', [assertion('org.provlog.receipt__1', encode(cborBytes(utf8('second'))))])));
  assert.deepEqual(embeddedReceipts(two).map((r) => [r.manifest, new TextDecoder().decode(r.receipt)]), [['urn:c2pa:b', 'second'], ['urn:c2pa:a', 'first']]);
  // Extended lengths, an ID and a signature in the description, other content boxes.
  const x = xlbox('jumb', jumd('c2pa', 'c2pa', concat(be32(7), new Uint8Array(32)), 0x0f), box('jumb', jumd('c2ma', 'urn:c2pa:x'), jumb(jumd('c2as', 'c2pa.assertions'), receiptAssertion()), xlbox('free', utf8('pad'))));
  const xs = parseManifestStore(x);
  assert.equal(xs.desc.id, 7);
  assert.equal(embeddedReceipts(xs).length, 1);
  // No receipt: an empty list, not an error.
  assert.deepEqual(embeddedReceipts(parseManifestStore(store(manifest('c2ma', 'urn:c2pa:one', [])))), []);
});

test('JUMBF: every truncation of a valid store is rejected cleanly', () => {
  const b = validStore();
  for (let n = 0; n < b.length; n++) rejects(() => parseJumbf(b.subarray(0, n)), `truncated to ${n}`);
  // A box header promising more than remains, at every box of the store.
  for (let at = 0; at + 8 <= b.length; at++) {
    if (String.fromCharCode(...b.subarray(at + 4, at + 8)) !== 'jumb') continue;
    const c = b.slice();
    c.set(be32(((c[at]! << 24) | (c[at + 1]! << 16) | (c[at + 2]! << 8) | c[at + 3]!) + 1), at);
    rejects(() => parseJumbf(c), `box at ${at} one byte longer`);
  }
});

test('JUMBF: oversized lengths, stores and box counts are refused before anything is allocated', () => {
  const ms = manifest('c2ma', 'urn:c2pa:one', [receiptAssertion()]);
  // An extended length over 2^32 (the high word set).
  rejects(() => parseJumbf(concat(be32(1), utf8('jumb'), be32(1), be32(0), jumd('c2pa', 'c2pa'))), 'XLBox over 2^32');
  // A length far past the input.
  rejects(() => parseJumbf(concat(be32(0xffffffff), utf8('jumb'), jumd('c2pa', 'c2pa'))), 'LBox 2^32-1');
  // The store over the size limit, and over the box-count limit.
  const s = store(ms);
  rejects(() => parseJumbf(s, { ...DEFAULT_LIMITS, maxSize: s.length - 1 }), 'store over maxSize');
  assert.ok(parseJumbf(s, { ...DEFAULT_LIMITS, maxSize: s.length }));
  const many = store(manifest('c2ma', 'urn:c2pa:m', Array.from({ length: 50 }, (_, i) => assertion(`a.${i}`, Uint8Array.of(0)))));
  rejects(() => parseJumbf(many, { ...DEFAULT_LIMITS, maxBoxes: 100 }), 'too many boxes');
  // 20,000 tiny content boxes under the default limit of 10,000.
  rejects(() => parseJumbf(store(...Array.from({ length: 20000 }, () => box('free')))), '20,000 boxes');
  // Box lengths shorter than their header, and 0 ("to the end of the file").
  rejects(() => parseJumbf(concat(be32(7), utf8('jumb'))), 'LBox 7');
  rejects(() => parseJumbf(concat(be32(1), utf8('jumb'), be32(0), be32(15))), 'XLBox 15');
  rejects(() => parseJumbf(concat(be32(0), utf8('jumb'), jumd('c2pa', 'c2pa'))), 'LBox 0');
  // A JPEG whose APP11 segments add up to more than the store limit is refused by the declared sizes.
  const big = concat(Uint8Array.of(0xff, 0xd8), app11(concat(be32(17 * 1024 * 1024), utf8('jumb'), jumd('c2pa', 'c2pa')), 1), Uint8Array.of(0xff, 0xda, 0, 2));
  rejects(() => locateManifestStore(big), 'declared 17 MiB store in a JPEG');
});

test('JUMBF: deep nesting is cut at the depth limit without recursion to the bottom', () => {
  let b = jumb(jumd('cbor', 'leaf'), box('cbor', Uint8Array.of(0)));
  for (let i = 0; i < 10000; i++) b = jumb(jumd('c2pa', 'c2pa'), b);
  const e = rejects(() => parseJumbf(b), '10,000 nested superboxes');
  assert.match(e.message, /nested deeper than 6/);
  // Exactly at the limit is fine.
  let ok = jumb(jumd('cbor', 'leaf'));
  for (let i = 1; i < DEFAULT_LIMITS.maxDepth; i++) ok = jumb(jumd('c2pa', 'c2pa'), ok);
  assert.ok(parseJumbf(ok));
  rejects(() => parseJumbf(jumb(jumd('c2pa', 'c2pa'), ok)), 'one past the limit');
});

test('JUMBF: wrong box types and malformed descriptions are rejected', () => {
  const cases: [Uint8Array, string][] = [
    [box('free', jumd('c2pa', 'c2pa')), 'top box not jumb'],
    [jumb(box('cbor', Uint8Array.of(0))), 'superbox without a description first'],
    [jumb(jumd('c2pa', 'c2pa'), jumd('c2ma', 'x')), 'second description box'],
    [jumb(), 'empty superbox'],
    [jumb(box('jumd', new Uint8Array(10))), 'description shorter than a UUID'],
    [jumb(jumd('c2pa', 'c2pa', new Uint8Array(0), 0x23)), 'reserved toggle bit'],
    [jumb(box('jumd', utf8('c2pa'), SUFFIX, Uint8Array.of(0x03), utf8('no nul'))), 'label without NUL'],
    [jumb(box('jumd', utf8('c2pa'), SUFFIX, Uint8Array.of(0x03), Uint8Array.of(0xff, 0xfe, 0))), 'label not UTF-8'],
    [jumb(jumd('c2pa', 'c2pa', Uint8Array.of(1, 2, 3))), 'trailing bytes in the description'],
    [jumb(jumd('c2pa', 'c2pa', new Uint8Array(0), 0x07)), 'ID toggle without the ID'],
    [jumb(jumd('c2pa', 'c2pa', new Uint8Array(8), 0x0b)), 'signature toggle with 8 bytes'],
  ];
  for (const [b, what] of cases) rejects(() => parseJumbf(b), what);
  // Well-formed JUMBF that is not a C2PA store, or a store that is not what C2PA says it is.
  rejects(() => parseManifestStore(jumb(jumd('json', 'x'))), 'not a c2pa store');
  rejects(() => parseManifestStore(jumb(box('jumd', new Uint8Array(16), Uint8Array.of(0)))), 'a non-ISO UUID store');
  rejects(() => manifests(parseManifestStore(store())), 'a store without manifests');
  rejects(() => manifests(parseManifestStore(store(manifest('c2ma', 'urn:c2pa:x', []), manifest('c2um', 'urn:c2pa:x', [])))), 'two manifests with one label');
  rejects(() => embeddedReceipts(parseManifestStore(store(manifest('c2ma', 'urn:c2pa:x', [assertion('org.provlog.receipt', utf8('{}'), 'json')])))), 'receipt assertion in JSON');
  rejects(() => embeddedReceipts(parseManifestStore(store(manifest('c2ma', 'urn:c2pa:x', [assertion('org.provlog.receipt', encode(cborText('text')))])))), 'receipt not a byte string', 'c2pa');
  rejects(() => embeddedReceipts(parseManifestStore(store(manifest('c2ma', 'urn:c2pa:x', [assertion('org.provlog.receipt', concat(encode(cborBytes(RECEIPT)), Uint8Array.of(0)))])))), 'trailing CBOR', 'cbor');
  rejects(() => embeddedReceipts(parseManifestStore(store(jumb(jumd('c2ma', 'urn:c2pa:x'))))), 'manifest without an assertion store');
});

test('JUMBF: random corruption of a valid store only ever gives a typed rejection', () => {
  const b = validStore();
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const c = b.slice();
    for (let k = 1 + rnd(4); k > 0; k--) c[rnd(c.length)] = rnd(256);
    try {
      embeddedReceipts(parseManifestStore(c));
      accepted++;
    } catch (e) {
      assert.ok(e instanceof VerifyError, `iteration ${i}: ${String(e)}`);
    }
  }
  assert.ok(accepted < 3000);
});

// ---- containers ----

/** One APP11 JUMBF segment: "JP", instance 0x0211, sequence z, then the part. */
function app11(part: Uint8Array, z: number, en = 0x0211): Uint8Array {
  const body = concat(utf8('JP'), Uint8Array.of(en >> 8, en & 255), be32(z), part);
  return concat(Uint8Array.of(0xff, 0xeb, (body.length + 2) >> 8, (body.length + 2) & 255), body);
}
/** A store split into APP11 segments of at most `max` body bytes, the box header repeated in each. */
function jpegWith(s: Uint8Array, max: number): { file: Uint8Array; start: number; end: number } {
  const head = s.subarray(0, 8);
  const parts: Uint8Array[] = [];
  for (let p = 8, z = 1; p < s.length; p += max, z++) parts.push(app11(concat(head, s.subarray(p, Math.min(s.length, p + max))), z));
  const soi = Uint8Array.of(0xff, 0xd8);
  const app0 = Uint8Array.of(0xff, 0xe0, 0, 4, 1, 2);
  const rest = Uint8Array.of(0xff, 0xdb, 0, 3, 9, 0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9);
  const segs = concat(...parts);
  return { file: concat(soi, app0, segs, rest), start: soi.length + app0.length, end: soi.length + app0.length + segs.length };
}

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const td = concat(utf8(type), data);
  return concat(be32(data.length), td, be32(crc32(td)));
}
const PNG_SIG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
function pngWith(s: Uint8Array | null): { file: Uint8Array; start: number; end: number } {
  const ihdr = chunk('IHDR', new Uint8Array(13));
  const ca = s ? chunk('caBX', s) : new Uint8Array(0);
  const start = PNG_SIG.length + ihdr.length;
  return { file: concat(PNG_SIG, ihdr, ca, chunk('IDAT', Uint8Array.of(1, 2, 3)), chunk('IEND', new Uint8Array(0))), start, end: start + ca.length };
}

test('containers: the store is found in JPEG APP11 segments (reassembled) and in a PNG caBX chunk', () => {
  const s = validStore();
  for (const max of [20, 100, 65000]) {
    const j = jpegWith(s, max);
    const loc = locateManifestStore(j.file)!;
    assert.equal(loc.container, 'jpeg');
    assert.deepEqual(loc.store, s, `segments of ${max}`);
    assert.deepEqual([loc.start, loc.end], [j.start, j.end]);
    assert.equal(embeddedReceipts(parseManifestStore(loc.store)).length, 1);
  }
  const p = pngWith(s);
  const loc = locateManifestStore(p.file)!;
  assert.equal(loc.container, 'png');
  assert.deepEqual(loc.store, s);
  assert.deepEqual([loc.start, loc.end], [p.start, p.end]);
  // No store, or not a JPEG/PNG: null.
  assert.equal(locateManifestStore(pngWith(null).file), null);
  assert.equal(locateManifestStore(jpegWith(jumb(jumd('json', 'other jumbf')), 100).file), null, 'other JUMBF in APP11 is not a C2PA store');
  assert.equal(locateManifestStore(utf8('GIF89a not read here')), null);
  assert.equal(locateManifestStore(new Uint8Array(0)), null);
});

test('containers: malformed JPEG segments and PNG chunks are rejected cleanly', () => {
  const s = validStore();
  const j = jpegWith(s, 50);
  for (let n = 3; n < j.end; n += 7) rejects(() => locateManifestStore(j.file.subarray(0, n)), `JPEG truncated to ${n}`);
  // Segments out of order: swap the sequence numbers of the first two.
  const swapped = j.file.slice();
  const z1 = j.start + 8;
  const seg1Len = (swapped[j.start + 2]! << 8) | swapped[j.start + 3]!;
  const z2 = j.start + 2 + seg1Len + 8;
  swapped[z1 + 3] = 2;
  swapped[z2 + 3] = 1;
  rejects(() => locateManifestStore(swapped), 'APP11 sequence out of order');
  // A segment repeating another box header.
  const other = j.file.slice();
  other[z2 + 4 + 3]! ^= 1;
  rejects(() => locateManifestStore(other), 'repeated header differs');
  // Two stores.
  const twice = concat(Uint8Array.of(0xff, 0xd8), app11(s, 1, 1), app11(s, 1, 2), Uint8Array.of(0xff, 0xda, 0, 2));
  rejects(() => locateManifestStore(twice), 'two C2PA stores in a JPEG');
  // A segment length running past the end; a length under 2.
  rejects(() => locateManifestStore(Uint8Array.of(0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 0)), 'JPEG segment past the end');
  rejects(() => locateManifestStore(Uint8Array.of(0xff, 0xd8, 0xff, 0xe1, 0, 1, 0xff, 0xda)), 'JPEG segment length 1');
  // PNG: a bad CRC on caBX, truncation, a chunk length over 2^31-1, two caBX chunks.
  const p = pngWith(s);
  const badCrc = p.file.slice();
  badCrc[p.end - 1]! ^= 1;
  rejects(() => locateManifestStore(badCrc), 'caBX CRC');
  for (let n = 8; n < p.file.length; n += 13) rejects(() => locateManifestStore(p.file.subarray(0, n)), `PNG truncated to ${n}`);
  rejects(() => locateManifestStore(concat(PNG_SIG, be32(0x80000000), utf8('IDAT'))), 'PNG chunk over 2^31-1');
  rejects(() => locateManifestStore(concat(PNG_SIG, chunk('caBX', s), chunk('caBX', s), chunk('IEND', new Uint8Array(0)))), 'two caBX chunks');
});

// ---- the hard binding ----

test('hard binding: the file outside its (grown) store hashes to the claim; any change of the content does not', () => {
  const before = pngWith(store(manifest('c2ma', 'urn:c2pa:one', [])));
  const after = pngWith(validStore()); // an update manifest with the receipt added: the store grew
  const excl = { start: BigInt(before.start), length: BigInt(before.end - before.start) };
  const content = concat(before.file.subarray(0, before.start), before.file.subarray(before.end));
  const binding: C2paBinding = { manifest: 'urn:c2pa:one', claimAlg: 'sha256', claimHash: sha256(CLAIM), hard: { alg: 'sha256', hash: sha256(content), exclusions: [excl], kind: 'data' } };
  const check = (f: Uint8Array, b: C2paBinding = binding) => {
    const loc = locateManifestStore(f) as StoreLocation;
    return checkHardBinding(f, loc, parseManifestStore(loc.store), b);
  };
  assert.deepEqual(check(before.file), { checked: true, manifest: 'urn:c2pa:one', alg: 'sha256', adjusted: false });
  assert.deepEqual(check(after.file), { checked: true, manifest: 'urn:c2pa:one', alg: 'sha256', adjusted: true });
  // The content changed (a byte of IDAT).
  const changed = after.file.slice();
  changed[after.end + 8]! ^= 1;
  rejects(() => check(changed), 'content changed', 'asset-hash');
  rejects(() => check(after.file, { ...binding, claimHash: sha256(utf8('another claim')) }), 'claim hash', 'asset-hash');
  rejects(() => check(after.file, { ...binding, manifest: 'urn:c2pa:missing' }), 'manifest not in the store', 'asset-hash');
  rejects(() => check(after.file, { ...binding, manifest: 'urn:c2pa:two' }), 'an update manifest binds nothing', 'asset-hash');
  rejects(() => check(after.file, { ...binding, hard: { ...binding.hard, exclusions: [] } }), 'store not excluded', 'asset-hash');
  // A standard manifest after the bound one: the content may have been edited.
  const edited = pngWith(store(manifest('c2ma', 'urn:c2pa:one', []), manifest('c2ma', 'urn:c2pa:edit', [])));
  rejects(() => check(edited.file), 'a later standard manifest', 'asset-hash');
  // A BMFF or box hash is not computed: said so, not claimed.
  const r = check(after.file, { ...binding, hard: { alg: 'sha256', hash: sha256(content), exclusions: [], kind: 'bmff' } });
  assert.equal(r.checked, false);
  // JPEG too.
  const jb = jpegWith(store(manifest('c2ma', 'urn:c2pa:one', [])), 1000);
  const ja = jpegWith(validStore(), 40);
  const jcontent = concat(jb.file.subarray(0, jb.start), jb.file.subarray(jb.end));
  const jbinding = { ...binding, hard: { ...binding.hard, hash: sha256(jcontent), exclusions: [{ start: BigInt(jb.start), length: BigInt(jb.end - jb.start) }] } };
  assert.deepEqual(check(ja.file, jbinding), { checked: true, manifest: 'urn:c2pa:one', alg: 'sha256', adjusted: true });
});
