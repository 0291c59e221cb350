// spec/claim.md and spec/signed-claim.md: the document vectors, and the
// rejections the spec lists, each built as a complete input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, toHex, utf8 } from '../src/bytes.js';
import { decode, encode, type Item } from '../src/cbor.js';
import { type Claim, claimToItem, decodeClaim, encodeClaim } from '../src/claim.js';
import { sign } from '../src/ed25519.js';
import { sha256 } from '../src/hash.js';
import { formatVkey, parseVkey } from '../src/note.js';
import { CONTENT_TYPE, decodeSignedClaim, openSignedClaim, sigStructure } from '../src/signedclaim.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { rejects, specHexVector, vec } from './util.js';

/** CBOR writer that keeps map entries in the given order (to build non-deterministic inputs). */
function raw(i: Item): Uint8Array {
  const head = (major: number, v: bigint): Uint8Array => {
    const m = major << 5;
    if (v < 24n) return Uint8Array.of(m | Number(v));
    if (v < 256n) return Uint8Array.of(m | 24, Number(v));
    if (v < 65536n) return Uint8Array.of(m | 25, Number(v >> 8n), Number(v & 255n));
    return Uint8Array.of(m | 26, Number((v >> 24n) & 255n), Number((v >> 16n) & 255n), Number((v >> 8n) & 255n), Number(v & 255n));
  };
  switch (i.t) {
    case 'map':
      return concat(head(5, BigInt(i.v.length)), ...i.v.flatMap(([k, v]) => [raw(k), raw(v)]));
    case 'array':
      return concat(head(4, BigInt(i.v.length)), ...i.v.map(raw));
    case 'tag':
      return concat(head(6, i.tag), raw(i.v));
    default:
      return encode(i);
  }
}

const T = (v: string): Item => ({ t: 'text', v });
const U = (v: number | bigint): Item => ({ t: 'uint', v: BigInt(v) });
const B = (v: Uint8Array): Item => ({ t: 'bytes', v });

/** The claim item with the top-level entry `key` replaced (or removed with undefined, or added). */
function withField(c: Claim, key: string, value: Item | undefined): Item {
  const item = claimToItem(c) as { t: 'map'; v: (readonly [Item, Item])[] };
  const entries = item.v.filter(([k]) => !(k.t === 'text' && k.v === key));
  if (value) entries.push([T(key), value]);
  return { t: 'map', v: entries };
}
function sub(c: Claim, path: string[], value: Item | undefined): Item {
  const walk = (it: Item, p: string[]): Item => {
    if (it.t !== 'map') throw new Error('not a map');
    const [k, ...rest] = p as [string, ...string[]];
    const entries = it.v.filter(([x]) => !(x.t === 'text' && x.v === k));
    const cur = it.v.find(([x]) => x.t === 'text' && x.v === k)?.[1];
    const nv = rest.length === 0 ? value : walk(cur!, rest);
    if (nv) entries.push([T(k), nv]);
    return { t: 'map', v: entries };
  };
  return walk(claimToItem(c), path);
}

const full = (): Claim => decodeClaim(specHexVector('claim.md', 'full-claim'));

test('claim.md §5: the full claim vector decodes, has every field, and re-encodes byte for byte', () => {
  const b = specHexVector('claim.md', 'full-claim');
  assert.equal(b.length, 575);
  const c = decodeClaim(b);
  assert.deepEqual(encodeClaim(c), b);
  assert.equal(toHex(c.asset.sha256), toHex(sha256(utf8('example asset bytes'))));
  assert.equal(toHex(c.c2pa!.claimHash), toHex(sha256(utf8('example c2pa claim'))));
  assert.equal(toHex(c.c2pa!.hard.hash), toHex(sha256(utf8('example hard binding'))));
  assert.equal(c.sequence, 42n);
  assert.equal(c.soft!.length, 2);
  assert.equal(c.consent, 'not_applicable');
  assert.deepEqual([...b.subarray(0, 4)], [0xaa, 0x61, 0x76, 0x01]);
});

test('signed-claim.md §6: the signed claim vector verifies under the seed-0x07 key', () => {
  const b = specHexVector('signed-claim.md', 'signed-claim');
  assert.equal(b.length, 769);
  const sc = openSignedClaim(b);
  const pub = ed25519.getPublicKey(new Uint8Array(32).fill(7));
  assert.equal(sc.kid.vkey, formatVkey('vendor.example/imagegen', 1, pub));
  assert.equal(sc.kid.vkey, 'vendor.example/imagegen+53ae99f7+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs');
  assert.deepEqual(sc.payload, specHexVector('claim.md', 'full-claim'));
  assert.deepEqual(sigStructure(sc.protectedHeader, sc.payload).subarray(0, 13), Uint8Array.of(0x84, 0x6a, ...utf8('Signature1'), 0x58));
});

test('claims: encoding choices the deterministic encoding does not make are rejected', () => {
  const b = vec('claim-0.cbor');
  const c = decodeClaim(b);
  const cases: [Uint8Array, string][] = [];
  // Keys out of order (the same content).
  const item = claimToItem(c) as { t: 'map'; v: (readonly [Item, Item])[] };
  const sorted = decode(b, { maxDepth: 5 }) as { t: 'map'; v: (readonly [Item, Item])[] };
  cases.push([raw({ t: 'map', v: [...sorted.v].reverse() }), 'keys reversed']);
  cases.push([raw({ t: 'map', v: [sorted.v[1]!, sorted.v[0]!, ...sorted.v.slice(2)] }), 'two keys swapped']);
  // Non-shortest heads: v = 1 as 18 01, and the map head as b8 0a.
  cases.push([concat(b.subarray(0, 3), Uint8Array.of(0x18, 0x01), b.subarray(4)), 'v as 18 01']);
  cases.push([concat(Uint8Array.of(0xb8, b[0]! & 31), b.subarray(1)), 'map head b8']);
  // Indefinite-length map.
  cases.push([concat(Uint8Array.of(0xbf), b.subarray(1), Uint8Array.of(0xff)), 'indefinite map']);
  // Duplicate key.
  cases.push([raw({ t: 'map', v: [[T('v'), U(1)], ...sorted.v] }), 'duplicate v']);
  // Trailing and truncated.
  cases.push([concat(b, Uint8Array.of(0)), 'trailing byte']);
  cases.push([b.subarray(0, b.length - 1), 'truncated']);
  // A byte string head declaring 2^60 bytes.
  cases.push([concat(Uint8Array.of(0xa1, 0x61, 0x76, 0x5b, 0x10, 0, 0, 0, 0, 0, 0, 0)), 'huge declared length']);
  // 100,000 nested arrays.
  cases.push([new Uint8Array(100000).fill(0x81), 'deep nesting']);
  cases.push([new Uint8Array(8193).fill(0), 'over 8 KiB']);
  for (const [x, what] of cases) rejects(() => decodeClaim(x), what);
  assert.ok(item.v.length > 0);
});

test('claims: every schema rule rejects a complete input that breaks it', () => {
  const c = full();
  const c0 = decodeClaim(vec('claim-0.cbor'));
  const ex = (e: Item[]): Item => ({ t: 'array', v: e });
  const emptyMap: Item = { t: 'map', v: [] };
  const cases: [Item, string, string?][] = [
    [withField(c, 'v', U(2)), 'version 2', 'claim'],
    [withField(c, 'v', undefined), 'no version'],
    [withField(c, 'zz', U(1)), 'unknown key'],
    [withField(c, 'extra', T('x')), 'unknown key 2'],
    [withField(c, 'created', { t: 'nint', v: -1n }), 'negative created'],
    [withField(c, 'created', undefined), 'missing created'],
    [withField(c, 'seq', { t: 'simple', v: 'null' }), 'null seq'],
    [withField(c, 'seq', { t: 'tag', tag: 2n, v: B(Uint8Array.of(1)) }), 'bignum tag'],
    [withField(c, 'consent', T('yes')), 'consent term'],
    [withField(c, 'src', T('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia')), 'src URI'],
    [withField(c, 'src', T('trainedalgorithmicmedia')), 'src case'],
    [withField(c, 'src', T('futureTerm')), 'src unknown term'],
    [withField(c, 'soft', ex([])), 'empty soft list'],
    [withField(c, 'soft', ex(Array.from({ length: 17 }, (_, i) => ({ t: 'map', v: [[T('alg'), T('a')], [T('kind'), T('watermark')], [T('value'), B(Uint8Array.of(i))]] }) as Item))), '17 soft bindings'],
    [withField(c, 'soft', ex([0, 0].map(() => ({ t: 'map', v: [[T('alg'), T('a')], [T('kind'), T('watermark')], [T('value'), B(Uint8Array.of(1))]] }) as Item))), 'identical soft bindings'],
    [withField(c, 'soft', ex([{ t: 'map', v: [[T('alg'), T('a b')], [T('kind'), T('watermark')], [T('value'), B(Uint8Array.of(1))]] }])), 'soft alg charset'],
    [withField(c, 'soft', ex([{ t: 'map', v: [[T('alg'), T('a'.repeat(129))], [T('kind'), T('watermark')], [T('value'), B(Uint8Array.of(1))]] }])), 'soft alg 129'],
    [withField(c, 'soft', ex([{ t: 'map', v: [[T('alg'), T('a')], [T('kind'), T('fingerprint')], [T('value'), B(Uint8Array.of(1))]] }])), 'soft kind'],
    [withField(c, 'soft', ex([{ t: 'map', v: [[T('alg'), T('a')], [T('kind'), T('watermark')], [T('value'), B(new Uint8Array(0))]] }])), 'soft empty value'],
    [withField(c, 'soft', ex([{ t: 'map', v: [[T('alg'), T('a')], [T('kind'), T('watermark')], [T('value'), B(new Uint8Array(1025))]] }])), 'soft value 1025'],
    [sub(c, ['asset', 'sha256'], B(new Uint8Array(31))), 'sha256 31 bytes'],
    [sub(c, ['asset', 'type'], T('Image/PNG')), 'media type case'],
    [sub(c, ['asset', 'type'], T('image/png; q=1')), 'media type parameters'],
    [sub(c, ['asset', 'type'], T('image')), 'media type without subtype'],
    [sub(c, ['asset', 'type'], T('image/' + 'a'.repeat(128))), 'subtype 128'],
    [sub(c, ['asset', 'type'], T('-image/png')), 'media type first char'],
    [sub(c, ['asset', 'size'], undefined), 'no size'],
    [sub(c, ['asset', 'extra'], U(1)), 'unknown asset key'],
    [sub(c, ['gen', 'vendor'], T('')), 'empty vendor'],
    [sub(c, ['gen', 'tool'], T('x'.repeat(257))), 'tool 257 bytes'],
    [sub(c, ['gen', 'version'], T('1\n2')), 'control char'],
    [sub(c, ['gen', 'version'], T('1\u00852')), 'C1 control char'],
    [sub(c, ['gen', 'vendor'], B(utf8('x'))), 'vendor as bytes'],
    [sub(c, ['disc', 'direct'], ex([T('label'), T('caption')])), 'direct unsorted'],
    [sub(c, ['disc', 'direct'], ex([T('label'), T('label')])), 'direct duplicate'],
    [sub(c, ['disc', 'indirect'], ex([T('watermark'), T('c2pa')])), 'indirect unsorted'],
    [sub(c, ['disc', 'indirect'], ex([T('c2pa'), T('other')])), 'indirect term'],
    [sub(c, ['disc', 'direct'], undefined), 'direct missing'],
    [sub(c, ['c2pa', 'claim_alg'], T('md5')), 'claim alg'],
    [sub(c, ['c2pa', 'claim_hash'], B(new Uint8Array(48))), 'claim hash length'],
    [sub(c, ['c2pa', 'manifest'], T('')), 'empty manifest'],
    [sub(c, ['c2pa', 'hard', 'alg'], T('sha384')), 'hard alg vs hash length'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex([{ t: 'map', v: [[T('start'), U(c.asset.size)], [T('length'), U(1)]] }])), 'exclusion past the asset'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex([{ t: 'map', v: [[T('start'), U(2n ** 64n - 1n)], [T('length'), U(2)]] }])), 'exclusion overflow'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex(Array.from({ length: 65 }, () => ({ t: 'map', v: [[T('start'), U(0)], [T('length'), U(1)]] }) as Item))), '65 exclusions'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex([{ t: 'map', v: [[T('start'), U(0)], [T('length'), U(1)], [T('pad'), U(0)]] }])), 'exclusion extra key'],
    [sub(c, ['c2pa', 'hard', 'name'], T('jumbf manifest')), 'hard binding name'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex([{ t: 'array', v: [{ t: 'array', v: [emptyMap] }] }])), 'nested deeper than 5'],
    [withField(c0, 'c2pa', emptyMap), 'empty c2pa map'],
  ];
  for (const [item, what, check] of cases) {
    const e = rejects(() => decodeClaim(encode(item)), what, check);
    if (process.env.SHOW) console.log(what, "=>", e.message);
  }
  // Boundaries that must be accepted.
  const okCases: [Item, string][] = [
    [sub(c, ['gen', 'tool'], T('x'.repeat(256))), 'tool 256 bytes'],
    [sub(c, ['gen', 'tool'], T('é'.repeat(128))), 'tool 256 bytes of UTF-8'],
    [sub(c, ['asset', 'type'], T('application/vnd.example+cbor')), 'media type with +'],
    [sub(c, ['c2pa', 'hard', 'exclusions'], ex([{ t: 'map', v: [[T('start'), U(0)], [T('length'), U(c.asset.size)]] }])), 'exclusion = whole asset'],
    [withField(c, 'soft', undefined), 'no soft list'],
    [withField(c, 'src', T('minorHumanEdits')), 'retired term'],
  ];
  for (const [item, what] of okCases) {
    const b = encode(item);
    assert.deepEqual(encodeClaim(decodeClaim(b)), b, what);
  }
  // Version is reported as a version error, not an unknown key, for a later version with new keys.
  const later = encode({ t: 'map', v: [...(withField(c, "v", U(3)) as unknown as { v: (readonly [Item, Item])[] }).v, [T('newkey'), U(1)]] });
  assert.match(rejects(() => decodeClaim(later), 'v2 with new key').message, /version/);
});

test('claims v2: kind, validation and c2pa soft bindings; the version rules', () => {
  const c = full();
  const v2 = (x: Claim): Claim => ({ ...x, version: 2, c2pa: { ...x.c2pa!, hard: { ...x.c2pa!.hard, kind: 'data' }, validation: { state: 'valid', codes: ['signingCredential.untrusted'] } } });
  const w = v2(c);
  const b = encodeClaim(w);
  const back = decodeClaim(b);
  assert.equal(back.version, 2);
  assert.equal(back.c2pa!.hard.kind, 'data');
  assert.deepEqual(back.c2pa!.validation, { state: 'valid', codes: ['signingCredential.untrusted'] });
  assert.deepEqual(encodeClaim(back), b);
  // A v1 claim decodes with kind data (not encoded).
  assert.equal(c.c2pa!.hard.kind, 'data');
  const ok: [Claim, string][] = [
    [{ ...w, c2pa: { ...w.c2pa!, hard: { ...w.c2pa!.hard, kind: 'bmff', exclusions: [] } } }, 'bmff'],
    [{ ...w, c2pa: { ...w.c2pa!, validation: { state: 'trusted', codes: [] } } }, 'trusted'],
    [{ ...w, soft: [{ kind: 'c2pa', alg: 'com.example.wm', value: Uint8Array.of(1) }] }, 'c2pa soft binding'],
    [{ ...w, c2pa: { manifest: w.c2pa!.manifest, claimAlg: w.c2pa!.claimAlg, claimHash: w.c2pa!.claimHash, hard: w.c2pa!.hard } }, 'v2 without a validation record'],
  ];
  for (const [x, what] of ok) assert.deepEqual(encodeClaim(decodeClaim(encodeClaim(x))), encodeClaim(x), what);
  const bad: [Item, string][] = [
    [sub(w, ['c2pa', 'hard', 'kind'], undefined), 'v2 without kind'],
    [sub(w, ['c2pa', 'hard', 'kind'], T('jumbf')), 'unknown kind'],
    [sub({ ...w, c2pa: { ...w.c2pa!, hard: { ...w.c2pa!.hard, kind: 'boxes' } } }, ['v'], U(2)), 'boxes with exclusions'],
    [sub(w, ['c2pa', 'validation', 'state'], T('ok')), 'unknown state'],
    [sub(w, ['c2pa', 'validation', 'codes'], { t: 'array', v: [T('b.code'), T('a.code')] }), 'unsorted codes'],
    [sub(w, ['c2pa', 'validation', 'codes'], { t: 'array', v: [T('a.code'), T('a.code')] }), 'duplicate codes'],
    [sub(w, ['c2pa', 'validation', 'codes'], { t: 'array', v: [T('has space')] }), 'bad code'],
    [sub(w, ['c2pa', 'validation', 'codes'], { t: 'array', v: Array.from({ length: 17 }, (_, i) => T(`c${String(i).padStart(2, '0')}`)) }), '17 codes'],
    [sub(w, ['c2pa', 'validation', 'state'], T('trusted')), 'trusted with codes'],
    [sub({ ...w, c2pa: { ...w.c2pa!, validation: { state: 'invalid', codes: [] } } }, ['v'], U(2)), 'invalid without codes'],
    [sub(w, ['v'], U(1)), 'v1 with v2 fields'],
    [sub({ ...c, soft: [{ kind: 'c2pa', alg: 'com.example.wm', value: Uint8Array.of(1) }] }, ['v'], U(1)), 'v1 with a c2pa soft binding'],
  ];
  for (const [item, what] of bad) rejects(() => decodeClaim(encode(item)), what);
});

const SEED = new Uint8Array(32).fill(7);
const PUB = ed25519.getPublicKey(SEED);
const KID = formatVkey('vendor.example/imagegen', 1, PUB);

/** A signed claim with chosen envelope parts, validly signed over the protected bytes and payload given. */
function envelope(opts: { tag?: bigint | null; prot?: Item | Uint8Array; unprot?: Item; payload?: Item; sig?: (s: Uint8Array) => Item; arr?: (parts: Item[]) => Item[] } = {}): Uint8Array {
  const protItem: Item = { t: 'map', v: [[U(1), { t: 'nint', v: -8n }], [U(3), T(CONTENT_TYPE)], [U(4), B(utf8(KID))]] };
  const protBytes = opts.prot instanceof Uint8Array ? opts.prot : raw(opts.prot ?? protItem);
  const payload = opts.payload ?? B(vec('claim-0.cbor'));
  const payloadBytes = payload.t === 'bytes' ? payload.v : new Uint8Array(0);
  const s = sign(SEED, sigStructure(protBytes, payloadBytes));
  let parts: Item[] = [B(protBytes), opts.unprot ?? { t: 'map', v: [] }, payload, opts.sig ? opts.sig(s) : B(s)];
  if (opts.arr) parts = opts.arr(parts);
  const arr: Item = { t: 'array', v: parts };
  const tag = opts.tag === undefined ? 18n : opts.tag;
  return raw(tag === null ? arr : { t: 'tag', tag, v: arr });
}

test('signed claims: a validly signed envelope in the canonical form verifies; every other shape is rejected', () => {
  openSignedClaim(envelope());
  const prot = (entries: [Item, Item][]): Item => ({ t: 'map', v: entries });
  const alg = [U(1), { t: 'nint', v: -8n }] as [Item, Item];
  const ct = [U(3), T(CONTENT_TYPE)] as [Item, Item];
  const kid = (s: string): [Item, Item] => [U(4), B(utf8(s))];
  const witnessKid = formatVkey('w.example', 4, PUB);
  const cases: [Uint8Array, string][] = [
    [envelope({ tag: null }), 'untagged'],
    [envelope({ tag: 98n }), 'COSE_Sign tag'],
    [envelope({ tag: 61n }), 'CWT tag'],
    [envelope({ prot: prot([ct, alg, kid(KID)]) }), 'header keys reordered'],
    [envelope({ prot: prot([alg, ct, kid(KID), [U(5), B(new Uint8Array(12))]]) }), 'IV parameter'],
    [envelope({ prot: prot([alg, [U(2), { t: 'array', v: [U(1)] }], ct, kid(KID)]) }), 'crit parameter'],
    [envelope({ prot: prot([[U(1), { t: 'nint', v: -7n }], ct, kid(KID)]) }), 'ES256'],
    [envelope({ prot: prot([ct, kid(KID)]) }), 'no alg'],
    [envelope({ prot: prot([alg, kid(KID)]) }), 'no content type'],
    [envelope({ prot: prot([alg, [U(3), T('application/cbor')], kid(KID)]) }), 'wrong content type'],
    [envelope({ prot: prot([alg, [U(3), U(60)], kid(KID)]) }), 'numeric content type'],
    [envelope({ prot: prot([alg, ct]) }), 'no kid'],
    [envelope({ prot: prot([alg, ct, kid(KID.replace('53ae99f7', '53AE99F7'))]) }), 'upper-case key ID in kid'],
    [envelope({ prot: prot([alg, ct, kid(witnessKid)]) }), 'cosignature key as kid'],
    [envelope({ prot: prot([alg, ct, kid(KID.slice(0, -2) + 'tt')]) }), 'kid with a wrong key'],
    [envelope({ prot: prot([alg, ct, [U(4), T(KID)]]) }), 'kid as text'],
    [envelope({ prot: prot([alg, ct, kid('a'.repeat(500) + KID.slice(KID.indexOf('+')))]) }), 'kid over 512 bytes'],
    [envelope({ prot: prot([alg, ct, kid(KID), kid(KID)]) }), 'kid twice'],
    [envelope({ prot: concat(Uint8Array.of(0xb9, 0, 3), raw(prot([alg, ct, kid(KID)])).subarray(1)) }), 'non-shortest header map head'],
    [envelope({ unprot: { t: 'map', v: [kid(KID)] } }), 'kid in the unprotected header'],
    [envelope({ payload: { t: 'simple', v: 'null' } }), 'detached payload'],
    [envelope({ payload: B(encode(withField(decodeClaim(vec('claim-0.cbor')), 'v', U(3)))) }), 'payload of an unknown claim version'],
    [envelope({ sig: (s) => B(s.subarray(0, 63)) }), '63-byte signature'],
    [envelope({ sig: (s) => B(Uint8Array.of(...s, 0)) }), '65-byte signature'],
    [envelope({ arr: (p) => p.slice(0, 3) }), '3-element array'],
    [envelope({ arr: (p) => [...p, U(0)] }), '5-element array'],
    [envelope({ arr: (p) => [p[0]!, p[1]!, p[2]!, T('sig')] }), 'signature as text'],
    [concat(Uint8Array.of(0xd8, 18), envelope().subarray(1)), 'tag in a non-shortest head'],
    [new Uint8Array(16385), 'over 16 KiB'],
  ];
  for (const [b, what] of cases) {
    const e = rejects(() => openSignedClaim(b), what);
    if (process.env.SHOW) console.log(what, "=>", e.message);
  }
  // A payload bstr in a non-shortest head: rebuild the vector with 5a 0000 00ed.
  const v = vec('signed-claim-0.cose');
  const at = v.indexOf(0x58, 80); // the payload head 58 ed
  assert.equal(v[at + 1], vec('claim-0.cbor').length);
  rejects(() => decodeSignedClaim(concat(v.subarray(0, at), Uint8Array.of(0x59, 0, v[at + 1]!), v.subarray(at + 2))), 'payload 59 head', 'cbor');
  // The vendor key is what signs: a signature by another key fails.
  const other = envelope({ sig: () => B(sign(new Uint8Array(32).fill(8), new Uint8Array(1))) });
  rejects(() => openSignedClaim(other), 'wrong signer', 'claim-signature');
  assert.equal(parseVkey(KID).vkey, KID);
});
