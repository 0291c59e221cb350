// The provenance claim, schema v1 and v2 (spec/claim.md): strict decoding with
// every schema rule, and the deterministic encoding it must equal.

import { bytesEqual, toHex } from './bytes.js';
import { array, bytes, decode, encode, type Item, kind, map, text, textKeyedMap, uint } from './cbor.js';
import { fail } from './errors.js';

export const MAX_CLAIM_SIZE = 8192;
export const MAX_CLAIM_DEPTH = 5;

export const HASH_ALGS = { sha256: 32, sha384: 48, sha512: 64 } as const;
export type HashAlg = keyof typeof HASH_ALGS;

export const SOURCE_TYPES = [
  'digitalCapture',
  'computationalCapture',
  'negativeFilm',
  'positiveFilm',
  'print',
  'minorHumanEdits',
  'humanEdits',
  'algorithmicallyEnhanced',
  'softwareImage',
  'digitalArt',
  'digitalCreation',
  'dataDrivenMedia',
  'trainedAlgorithmicMedia',
  'algorithmicMedia',
  'screenCapture',
  'virtualRecording',
  'composite',
  'compositeCapture',
  'compositeSynthetic',
  'compositeWithTrainedAlgorithmicMedia',
] as const;
export const CONSENT = ['not_applicable', 'obtained', 'not_obtained', 'unknown'] as const;
export const DIRECT = ['caption', 'label'] as const;
export const INDIRECT = ['c2pa', 'metadata', 'watermark'] as const;
export const SOFT_KINDS = ['perceptual', 'watermark', 'c2pa'] as const;
/** Hard-binding kinds (v2; a v1 hard binding is always `data`). */
export const HARD_KINDS = ['data', 'bmff', 'boxes'] as const;
export type HardKind = (typeof HARD_KINDS)[number];
/** C2PA validation states (v2). */
export const VALIDATION_STATES = ['trusted', 'valid', 'invalid'] as const;
export const MAX_VALIDATION_CODES = 16;

/** Base URI of the IPTC digital source type vocabulary. */
export const IPTC_DIGITAL_SOURCE_TYPE = 'http://cv.iptc.org/newscodes/digitalsourcetype/';

export interface Exclusion {
  readonly start: bigint;
  readonly length: bigint;
}
export interface C2paBinding {
  readonly manifest: string;
  readonly claimAlg: HashAlg;
  readonly claimHash: Uint8Array;
  /** `kind` is always set when decoded: `data` for a v1 claim (where it is not encoded). */
  readonly hard: { readonly alg: HashAlg; readonly hash: Uint8Array; readonly exclusions: readonly Exclusion[]; readonly kind?: HardKind };
  /** v2: the C2PA SDK's verdict when the claim was made. */
  readonly validation?: { readonly state: (typeof VALIDATION_STATES)[number]; readonly codes: readonly string[] };
}
export interface SoftBinding {
  readonly kind: (typeof SOFT_KINDS)[number];
  readonly alg: string;
  readonly value: Uint8Array;
}
export interface Claim {
  readonly version: 1 | 2;
  readonly asset: { readonly sha256: Uint8Array; readonly mediaType: string; readonly size: bigint };
  readonly c2pa?: C2paBinding;
  readonly soft?: readonly SoftBinding[];
  readonly generator: { readonly vendor: string; readonly tool: string; readonly version: string };
  readonly created: bigint;
  readonly sourceType: (typeof SOURCE_TYPES)[number];
  readonly disclosure: { readonly direct: readonly string[]; readonly indirect: readonly string[] };
  readonly consent?: (typeof CONSENT)[number];
  readonly sequence?: bigint;
}

function bad(msg: string): never {
  return fail('claim', msg);
}

/** Reads a closed map: every key must be in `allowed`, every `required` present. */
function closedMap(i: Item, what: string, allowed: readonly string[], required: readonly string[]): Map<string, Item> {
  const m = textKeyedMap(i, what, 'claim');
  for (const k of m.keys()) if (!allowed.includes(k)) bad(`${what} has the unknown key "${k}"`);
  for (const k of required) if (!m.has(k)) bad(`${what} lacks the key "${k}"`);
  return m;
}

function getUint(i: Item | undefined, what: string): bigint {
  if (i?.t !== 'uint') return bad(`${what} must be an unsigned integer, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}
function getBytes(i: Item | undefined, what: string): Uint8Array {
  if (i?.t !== 'bytes') return bad(`${what} must be a byte string, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}
function getText(i: Item | undefined, what: string): string {
  if (i?.t !== 'text') return bad(`${what} must be a text string, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}
function getArray(i: Item | undefined, what: string): readonly Item[] {
  if (i?.t !== 'array') return bad(`${what} must be an array, not ${i ? kind(i) : 'missing'}`);
  return i.v;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const utf8Len = (s: string): number => new TextEncoder().encode(s).length;

function text256(i: Item | undefined, what: string): string {
  const s = getText(i, what);
  const n = utf8Len(s);
  if (n < 1 || n > 256) bad(`${what} must be 1 to 256 bytes, it is ${n}`);
  if (CONTROL.test(s)) bad(`${what} contains a control character`);
  return s;
}

const ALG_NAME = /^[A-Za-z0-9._:/+-]{1,128}$/;
const RESTRICTED_NAME = /^[a-z0-9][a-z0-9!#$&\-^_.+]{0,126}$/;

function mediaType(i: Item | undefined): string {
  const s = getText(i, 'asset.type');
  if (utf8Len(s) > 255) bad('asset.type is longer than 255 bytes');
  const slash = s.indexOf('/');
  const ok = slash > 0 && RESTRICTED_NAME.test(s.slice(0, slash)) && RESTRICTED_NAME.test(s.slice(slash + 1));
  if (!ok) bad(`asset.type ${JSON.stringify(s)} is not a lowercase type/subtype without parameters`);
  return s;
}

function hashAlg(i: Item | undefined, what: string): HashAlg {
  const s = getText(i, what);
  if (!(s in HASH_ALGS)) bad(`${what} ${JSON.stringify(s)} is not sha256, sha384 or sha512`);
  return s as HashAlg;
}

function hashOf(alg: HashAlg, i: Item | undefined, what: string): Uint8Array {
  const b = getBytes(i, what);
  if (b.length !== HASH_ALGS[alg]) bad(`${what} is ${b.length} bytes; ${alg} digests are ${HASH_ALGS[alg]}`);
  return b;
}

function termOf<T extends string>(terms: readonly T[], i: Item | undefined, what: string): T {
  const s = getText(i, what);
  if (!(terms as readonly string[]).includes(s)) bad(`${what} ${JSON.stringify(s)} is not a term of the claim schema`);
  return s as T;
}

function sortedSet(terms: readonly string[], i: Item | undefined, what: string): string[] {
  const items = getArray(i, what);
  const out: string[] = [];
  for (const x of items) {
    const s = termOf(terms, x, `an element of ${what}`);
    if (out.length > 0 && !(out[out.length - 1]! < s)) bad(`${what} must be sorted and without duplicates`);
    out.push(s);
  }
  return out;
}

/** Maps a decoded CBOR item onto the schema (spec/claim.md §2-3). */
export function claimFromItem(item: Item): Claim {
  if (item.t !== 'map') bad(`a claim must be a map, not ${kind(item)}`);
  // The version is checked before the key set, so a later version is reported as such.
  const vEntry = item.v.find(([k]) => k.t === 'text' && k.v === 'v');
  if (!vEntry) bad('the claim has no version "v"');
  const v = vEntry[1];
  if (v.t !== 'uint' || (v.v !== 1n && v.v !== 2n)) bad(`unsupported claim version ${v.t === 'uint' ? v.v : kind(v)}; this verifier reads versions 1 and 2`);
  const version = Number(v.v) as 1 | 2;
  const v2 = version === 2;
  const top = closedMap(item, 'the claim', ['v', 'asset', 'c2pa', 'soft', 'gen', 'created', 'src', 'disc', 'consent', 'seq'], ['v', 'asset', 'gen', 'created', 'src', 'disc']);

  const a = closedMap(top.get('asset')!, 'asset', ['sha256', 'type', 'size'], ['sha256', 'type', 'size']);
  const sha = getBytes(a.get('sha256'), 'asset.sha256');
  if (sha.length !== 32) bad(`asset.sha256 is ${sha.length} bytes, not 32`);
  const asset = { sha256: sha, mediaType: mediaType(a.get('type')), size: getUint(a.get('size'), 'asset.size') };

  let c2pa: C2paBinding | undefined;
  if (top.has('c2pa')) {
    const c = closedMap(top.get('c2pa')!, 'c2pa', v2 ? ['manifest', 'claim_alg', 'claim_hash', 'hard', 'validation'] : ['manifest', 'claim_alg', 'claim_hash', 'hard'], ['manifest', 'claim_alg', 'claim_hash', 'hard']);
    const claimAlg = hashAlg(c.get('claim_alg'), 'c2pa.claim_alg');
    const h = closedMap(c.get('hard')!, 'c2pa.hard', v2 ? ['alg', 'hash', 'exclusions', 'kind'] : ['alg', 'hash', 'exclusions'], v2 ? ['alg', 'hash', 'exclusions', 'kind'] : ['alg', 'hash', 'exclusions']);
    const alg = hashAlg(h.get('alg'), 'c2pa.hard.alg');
    const hardKind: HardKind = v2 ? termOf(HARD_KINDS, h.get('kind'), 'c2pa.hard.kind') : 'data';
    const ex = getArray(h.get('exclusions'), 'c2pa.hard.exclusions');
    if (ex.length > 64) bad(`c2pa.hard.exclusions has ${ex.length} ranges, over the limit of 64`);
    if (hardKind !== 'data' && ex.length > 0) bad(`a ${hardKind} hard binding has no exclusions`);
    const exclusions = ex.map((e, n) => {
      const m = closedMap(e, `exclusion ${n}`, ['start', 'length'], ['start', 'length']);
      const start = getUint(m.get('start'), `exclusion ${n} start`);
      const length = getUint(m.get('length'), `exclusion ${n} length`);
      if (start + length > asset.size) bad(`exclusion ${n} (${start}+${length}) does not lie within the ${asset.size}-byte asset`);
      return { start, length };
    });
    let validation: C2paBinding['validation'];
    if (c.has('validation')) {
      const vm = closedMap(c.get('validation')!, 'c2pa.validation', ['state', 'codes'], ['state', 'codes']);
      const state = termOf(VALIDATION_STATES, vm.get('state'), 'c2pa.validation.state');
      const list = getArray(vm.get('codes'), 'c2pa.validation.codes');
      if (list.length > MAX_VALIDATION_CODES) bad(`c2pa.validation.codes has ${list.length} codes, over the limit of ${MAX_VALIDATION_CODES}`);
      const codes = list.map((x, n) => {
        const s = getText(x, `c2pa.validation.codes[${n}]`);
        if (!ALG_NAME.test(s)) bad(`c2pa.validation.codes[${n}] must be 1 to 128 characters of [A-Za-z0-9._:/+-]`);
        return s;
      });
      for (let n = 1; n < codes.length; n++) if (!(codes[n - 1]! < codes[n]!)) bad('c2pa.validation.codes must be sorted and without duplicates');
      if (state === 'trusted' && codes.length) bad('c2pa.validation: a trusted manifest has no failure codes');
      if (state === 'invalid' && !codes.length) bad('c2pa.validation: an invalid manifest has at least one failure code');
      validation = { state, codes };
    }
    c2pa = {
      manifest: text256(c.get('manifest'), 'c2pa.manifest'),
      claimAlg,
      claimHash: hashOf(claimAlg, c.get('claim_hash'), 'c2pa.claim_hash'),
      hard: { alg, hash: hashOf(alg, h.get('hash'), 'c2pa.hard.hash'), exclusions, kind: hardKind },
      ...(validation ? { validation } : {}),
    };
  }

  let soft: SoftBinding[] | undefined;
  if (top.has('soft')) {
    const list = getArray(top.get('soft'), 'soft');
    if (list.length === 0) bad('an empty soft-binding list must be left out, not written as []');
    if (list.length > 16) bad(`soft has ${list.length} bindings, over the limit of 16`);
    soft = list.map((s, n) => {
      const m = closedMap(s, `soft binding ${n}`, ['kind', 'alg', 'value'], ['kind', 'alg', 'value']);
      const algName = getText(m.get('alg'), `soft binding ${n} alg`);
      if (!ALG_NAME.test(algName)) bad(`soft binding ${n} alg must be 1 to 128 characters of [A-Za-z0-9._:/+-]`);
      const value = getBytes(m.get('value'), `soft binding ${n} value`);
      if (value.length < 1 || value.length > 1024) bad(`soft binding ${n} value must be 1 to 1024 bytes`);
      const k = termOf(v2 ? SOFT_KINDS : SOFT_KINDS.slice(0, 2), m.get('kind'), `soft binding ${n} kind`);
      return { kind: k, alg: algName, value };
    });
    for (let i = 0; i < soft.length; i++) {
      for (let j = 0; j < i; j++) {
        const x = soft[i]!;
        const y = soft[j]!;
        if (x.kind === y.kind && x.alg === y.alg && bytesEqual(x.value, y.value)) bad(`soft bindings ${j} and ${i} are identical`);
      }
    }
  }

  const g = closedMap(top.get('gen')!, 'gen', ['vendor', 'tool', 'version'], ['vendor', 'tool', 'version']);
  const generator = { vendor: text256(g.get('vendor'), 'gen.vendor'), tool: text256(g.get('tool'), 'gen.tool'), version: text256(g.get('version'), 'gen.version') };
  const d = closedMap(top.get('disc')!, 'disc', ['direct', 'indirect'], ['direct', 'indirect']);
  const disclosure = { direct: sortedSet(DIRECT, d.get('direct'), 'disc.direct'), indirect: sortedSet(INDIRECT, d.get('indirect'), 'disc.indirect') };

  const claim: Claim = {
    version,
    asset,
    ...(c2pa ? { c2pa } : {}),
    ...(soft ? { soft } : {}),
    generator,
    created: getUint(top.get('created'), 'created'),
    sourceType: termOf(SOURCE_TYPES, top.get('src'), 'src'),
    disclosure,
    ...(top.has('consent') ? { consent: termOf(CONSENT, top.get('consent'), 'consent') } : {}),
    ...(top.has('seq') ? { sequence: getUint(top.get('seq'), 'seq') } : {}),
  };
  return claim;
}

/** The claim as a CBOR item (the writer sorts map keys). */
export function claimToItem(c: Claim): Item {
  const entries: [string, Item][] = [
    ['v', uint(c.version)],
    ['asset', map([['sha256', bytes(c.asset.sha256)], ['type', text(c.asset.mediaType)], ['size', uint(c.asset.size)]])],
    ['gen', map([['vendor', text(c.generator.vendor)], ['tool', text(c.generator.tool)], ['version', text(c.generator.version)]])],
    ['created', uint(c.created)],
    ['src', text(c.sourceType)],
    ['disc', map([['direct', array(c.disclosure.direct.map(text))], ['indirect', array(c.disclosure.indirect.map(text))]])],
  ];
  if (c.c2pa) {
    const h = c.c2pa.hard;
    entries.push([
      'c2pa',
      map([
        ['manifest', text(c.c2pa.manifest)],
        ['claim_alg', text(c.c2pa.claimAlg)],
        ['claim_hash', bytes(c.c2pa.claimHash)],
        ['hard', map([['alg', text(h.alg)], ['hash', bytes(h.hash)], ['exclusions', array(h.exclusions.map((e) => map([['start', uint(e.start)], ['length', uint(e.length)]])))], ...(c.version === 2 ? [['kind', text(h.kind ?? 'data')] as [string, Item]] : [])])],
        ...(c.c2pa.validation ? [['validation', map([['state', text(c.c2pa.validation.state)], ['codes', array(c.c2pa.validation.codes.map(text))]])] as [string, Item]] : []),
      ]),
    ]);
  }
  if (c.soft && c.soft.length > 0) entries.push(['soft', array(c.soft.map((s) => map([['kind', text(s.kind)], ['alg', text(s.alg)], ['value', bytes(s.value)]])))]);
  if (c.consent !== undefined) entries.push(['consent', text(c.consent)]);
  if (c.sequence !== undefined) entries.push(['seq', uint(c.sequence)]);
  return map(entries);
}

/** The deterministic encoding of a claim. */
export function encodeClaim(c: Claim): Uint8Array {
  return encode(claimToItem(c));
}

/**
 * Decodes a claim (spec/claim.md §1): size limit first, then a strict read
 * with the nesting limit, then the schema, then re-encoding: the input must
 * be byte-identical to the deterministic encoding of what it decoded to.
 */
export function decodeClaim(b: Uint8Array): Claim {
  if (b.length > MAX_CLAIM_SIZE) bad(`the claim is ${b.length} bytes, over the limit of ${MAX_CLAIM_SIZE}`);
  const item = decode(b, { maxDepth: MAX_CLAIM_DEPTH });
  const claim = claimFromItem(item);
  if (!bytesEqual(encodeClaim(claim), b)) fail('cbor', 'the claim is not in its deterministic encoding');
  return claim;
}

/** The JSON display form of spec/claim.md §4 (not normative; not parsed back). */
export function claimToJson(c: Claim): Record<string, unknown> {
  const out: Record<string, unknown> = {
    version: c.version,
    asset: { sha256: toHex(c.asset.sha256), media_type: c.asset.mediaType, size: Number(c.asset.size) },
  };
  if (c.c2pa) {
    out.c2pa = {
      manifest_label: c.c2pa.manifest,
      claim_alg: c.c2pa.claimAlg,
      claim_hash: toHex(c.c2pa.claimHash),
      hard_binding: {
        alg: c.c2pa.hard.alg,
        hash: toHex(c.c2pa.hard.hash),
        exclusions: c.c2pa.hard.exclusions.map((e) => ({ start: Number(e.start), length: Number(e.length) })),
        ...(c.version === 2 ? { kind: c.c2pa.hard.kind ?? 'data' } : {}),
      },
      ...(c.c2pa.validation ? { validation: { state: c.c2pa.validation.state, codes: [...c.c2pa.validation.codes] } } : {}),
    };
  }
  if (c.soft) out.soft_bindings = c.soft.map((s) => ({ kind: s.kind, alg: s.alg, value: toHex(s.value) }));
  out.generator = { ...c.generator };
  out.created = Number(c.created);
  out.source_type = c.sourceType;
  out.disclosure = { direct: [...c.disclosure.direct], indirect: [...c.disclosure.indirect] };
  if (c.consent !== undefined) out.consent = c.consent;
  if (c.sequence !== undefined) out.sequence = Number(c.sequence);
  return out;
}
