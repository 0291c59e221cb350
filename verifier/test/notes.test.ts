// spec/notes.md and spec/checkpoint.md: the C2SP and Go examples, key
// rules, note parsing, and the checkpoint rejection list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, toBase64, utf8 } from '../src/bytes.js';
import { sign, verifyStrict } from '../src/ed25519.js';
import { cosignatureMessage } from '../src/keytypes.js';
import { formatVkey, keyId, keyNameProblem, parseNote, parseSkey, parseVkey, verifyNote } from '../src/note.js';
import { parseCheckpointBody, verifyCheckpoint } from '../src/checkpoint.js';
import { rejects, tesseraDir } from './util.js';
import { toHex } from '../src/bytes.js';
import { ed25519 } from '@noble/curves/ed25519.js';

const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const PN_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PN_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PN_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PN_LINE = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';

function signLine(seed: Uint8Array, name: string, type: number, pub: Uint8Array, msg: Uint8Array, prefix = new Uint8Array(0)): string {
  const id = keyId(name, type, pub);
  const sig = sign(seed, msg);
  const raw = new Uint8Array(4 + prefix.length + 64);
  new DataView(raw.buffer).setUint32(0, id);
  raw.set(prefix, 4);
  raw.set(sig, 4 + prefix.length);
  return `— ${name} ${toBase64(raw)}`;
}

test('vkeys: the C2SP example parses and round-trips; key IDs hash name, type and key', () => {
  const k = parseVkey(C2SP_VKEY);
  assert.equal(k.name, 'example.com/foo');
  assert.equal(k.id, 0x530d903a);
  assert.equal(k.vkey, C2SP_VKEY);
  assert.equal(formatVkey(k.name, k.type, k.publicKey), C2SP_VKEY);
  // The same key as a cosignature/v1 key has an unrelated ID.
  assert.notEqual(keyId(k.name, 0x04, k.publicKey), k.id);
});

test('Go sumdb/note: the PeterNeumann skey/vkey and its signature line', () => {
  const { vkey, seed } = parseSkey(PN_SKEY);
  assert.equal(vkey.vkey, PN_VKEY);
  assert.equal(parseVkey(PN_VKEY).vkey, PN_VKEY);
  assert.equal(signLine(seed, vkey.name, 1, vkey.publicKey, utf8(PN_TEXT)), PN_LINE);
  const note = parseNote(PN_TEXT + '\n' + PN_LINE + '\n');
  assert.deepEqual(verifyNote(note, [parseVkey(PN_VKEY)]).map((s) => s.key.vkey), [PN_VKEY]);
});

test('every proper substring and every single-byte increment of the vkey and skey is rejected', () => {
  for (const [s, parse] of [
    [PN_VKEY, parseVkey],
    [PN_SKEY, parseSkey],
    [C2SP_VKEY, parseVkey],
  ] as const) {
    for (let a = 0; a < s.length; a++) {
      for (let b = a; b <= s.length; b++) {
        if (a === 0 && b === s.length) continue;
        rejects(() => parse(s.slice(a, b)), `substring ${a}..${b} of ${s}`, 'key');
      }
    }
    for (let i = 0; i < s.length; i++) {
      const t = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) + 1) + s.slice(i + 1);
      rejects(() => parse(t), `increment at ${i} of ${s}`, 'key');
    }
  }
});

test('vkeys: upper-case IDs, other types, small-order and invalid points are rejected', () => {
  const k = parseVkey(C2SP_VKEY);
  rejects(() => parseVkey(C2SP_VKEY.replace('530d903a', '530D903A')), 'upper-case id', 'key');
  const withType = (t: number, pub: Uint8Array): string => `${k.name}+${keyId(k.name, t, pub).toString(16).padStart(8, '0')}+${toBase64(Uint8Array.of(t, ...pub))}`;
  rejects(() => parseVkey(withType(0x02, k.publicKey)), 'type 2', 'key');
  rejects(() => parseVkey(withType(0x06, k.publicKey)), 'type 6 (not in spec v1)', 'key');
  // Small-order points: the identity (y = 1) and the order-2 point (y = -1).
  const identity = new Uint8Array(32);
  identity[0] = 1;
  rejects(() => parseVkey(withType(0x01, identity)), 'identity point', 'key');
  const order2 = Uint8Array.from(Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'));
  rejects(() => parseVkey(withType(0x01, order2)), 'order-2 point', 'key');
  // y = 2 is not on the curve.
  const off = new Uint8Array(32);
  off[0] = 2;
  rejects(() => parseVkey(withType(0x01, off)), 'not a point', 'key');
  // Non-canonical base64 (non-zero trailing bits) of the same bytes.
  const b64 = C2SP_VKEY.split('+')[2]!;
  const last = b64[b64.length - 1]!;
  const tweak = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const alt = tweak[tweak.indexOf(last) ^ 1]!;
  rejects(() => parseVkey(C2SP_VKEY.slice(0, -1) + alt), 'trailing bits', 'key');
});

test('key names: white space, "+", control characters and empty names are rejected', () => {
  assert.equal(keyNameProblem('example.com/log'), null);
  assert.equal(keyNameProblem('ünïcödé/名前'), null);
  for (const bad of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u0085b', 'a\u2028b', 'a\u3000b', 'a\u0000b', 'a\u007fb', 'a\u009fb']) {
    assert.notEqual(keyNameProblem(bad), null, JSON.stringify(bad));
  }
});

test('strict base64', () => {
  assert.deepEqual(fromBase64('AAEC'), Uint8Array.of(0, 1, 2));
  for (const bad of ['AAE', 'AAE=A', 'AB==', 'AAF=', 'A A=', 'AA\n==', 'AA=', '====', 'AA-_']) assert.equal(fromBase64(bad), null, bad);
});

const C2SP_NOTE = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
const QUASIMODO = 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n\n\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';

test('C2SP signed-note examples (spec/notes.md §7): the vkey note verifies; the introductory note keeps its blank line', () => {
  const n = parseNote(C2SP_NOTE);
  assert.equal(n.text, 'This is an example message.\n');
  assert.deepEqual(verifyNote(n, [parseVkey(C2SP_VKEY)]).map((s) => s.key.vkey), [C2SP_VKEY]);
  const q = parseNote(QUASIMODO);
  assert.equal(q.text, 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n');
  assert.equal(q.signatures[0]!.name, 'quasimodo.example/salvatore');
  assert.equal(q.signatures[0]!.id, 0x367ba04b);
  assert.equal(q.signatures[0]!.sig.length, 64);
  assert.equal(q.text + '\n' + q.signatures.map((s) => s.line + '\n').join(''), QUASIMODO);
  rejects(() => verifyNote(q, [parseVkey(C2SP_VKEY)]), 'unknown key', 'note-signature');
});

test('note parsing: limits and syntax', () => {
  // Build a note whose text contains an inner blank line, the C2SP shape.
  const text = 'hello\n\nworld\n';
  const seed = new Uint8Array(32).fill(9);
  const pub = ed25519.getPublicKey(seed);
  const line = signLine(seed, 'q.example/s', 1, pub, utf8(text));
  const n = parseNote(text + '\n' + line + '\n');
  assert.equal(n.text, text);
  assert.equal(n.signatures.length, 1);
  const ok = text + '\n' + line + '\n';
  rejects(() => parseNote(ok.slice(0, -1)), 'no final newline', 'note');
  rejects(() => parseNote(text), 'no signatures', 'note');
  rejects(() => parseNote(ok.replace('hello', 'hel\tlo')), 'tab', 'note');
  rejects(() => parseNote(ok.replace('hello', 'hel\rlo')), 'CR', 'note');
  rejects(() => parseNote(ok.replace('—', '-')), 'not an em dash', 'note');
  rejects(() => parseNote(ok.replace('— ', '—')), 'no space after dash', 'note');
  rejects(() => parseNote(Uint8Array.of(...utf8('a\n\n— x '), 0xff, ...utf8('AAAAAAA=\n'))), 'invalid UTF-8', 'note');
  rejects(() => parseNote(text + '\n— q.example/s AAAA\n'), 'signature shorter than 5 bytes', 'note');
  rejects(() => parseNote(text + '\n' + (line + '\n').repeat(101)), '101 signature lines', 'note');
  assert.equal(parseNote(text + '\n' + (line + '\n').repeat(100)).signatures.length, 100);
  rejects(() => parseNote('x'.repeat(1 << 20) + '\n\n' + line + '\n'), 'over 1 MiB', 'note');
});

test('note verification: unknown lines ignored, a bad known line rejects, ambiguous keys fail', () => {
  const text = 'some text\n';
  const seed = new Uint8Array(32).fill(5);
  const pub = ed25519.getPublicKey(seed);
  const key = parseVkey(formatVkey('k.example', 1, pub));
  const good = signLine(seed, 'k.example', 1, pub, utf8(text));
  const other = signLine(new Uint8Array(32).fill(6), 'other.example', 1, ed25519.getPublicKey(new Uint8Array(32).fill(6)), utf8(text));
  assert.equal(verifyNote(parseNote(`${text}\n${other}\n${good}\n`), [key]).length, 1);
  assert.equal(verifyNote(parseNote(`${text}\n${good}\n${good}\n`), [key]).length, 1, 'repeated lines reported once');
  rejects(() => verifyNote(parseNote(`${text}\n${other}\n`), [key]), 'only unknown keys', 'note-signature');
  const badLine = signLine(seed, 'k.example', 1, pub, utf8('other text\n'));
  rejects(() => verifyNote(parseNote(`${text}\n${good}\n${badLine}\n`), [key]), 'a bad line by a known key', 'note-signature');
  // 16 signatures must be accepted.
  const many = Array.from({ length: 15 }, (_, i) => signLine(new Uint8Array(32).fill(100 + i), `w${i}.example`, 1, ed25519.getPublicKey(new Uint8Array(32).fill(100 + i)), utf8(text)));
  assert.equal(verifyNote(parseNote(`${text}\n${many.join('\n')}\n${good}\n`), [key]).length, 1);
});

test('cosignature/v1: the C2SP example message; timestamps; a bare Ed25519 signature over the text does not count', () => {
  const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
  assert.equal(new TextDecoder().decode(cosignatureMessage(1679315147n, utf8(body))), 'cosignature/v1\ntime 1679315147\n' + body);
  const raw = fromBase64('jWbPPwAAAABkGFDLEZMH' + 'A'.repeat(80))!;
  assert.equal(new DataView(raw.buffer).getBigUint64(4), 1679315147n);
  const seed = new Uint8Array(32).fill(3);
  const pub = ed25519.getPublicKey(seed);
  const w = parseVkey(formatVkey('w.example', 4, pub));
  const t = new Uint8Array(8);
  new DataView(t.buffer).setBigUint64(0, 1700000000n);
  const line = signLine(seed, 'w.example', 4, pub, cosignatureMessage(1700000000n, utf8(body)), t);
  const v = verifyNote(parseNote(`${body}\n${line}\n`), [w]);
  assert.equal(v[0]!.timestamp, 1700000000n);
  // Signing the bare text with the witness key is not a cosignature.
  const bare = signLine(seed, 'w.example', 4, pub, utf8(body), t);
  rejects(() => verifyNote(parseNote(`${body}\n${bare}\n`), [w]), 'bare signature', 'note-signature');
  // A timestamp above 2^63 - 1 is rejected.
  const big = new Uint8Array(8).fill(0xff);
  const hi = signLine(seed, 'w.example', 4, pub, cosignatureMessage(2n ** 64n - 1n, utf8(body)), big);
  rejects(() => verifyNote(parseNote(`${body}\n${hi}\n`), [w]), 'timestamp > 2^63-1', 'note-signature');
});

test('strict Ed25519: non-canonical S and small-order R are rejected; a valid signature verifies', () => {
  const seed = new Uint8Array(32).fill(11);
  const pub = ed25519.getPublicKey(seed);
  const msg = utf8('message');
  const sig = sign(seed, msg);
  assert.ok(verifyStrict(pub, msg, sig));
  // S + L is the same scalar but not canonical.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  const s2 = s + L;
  const mal = sig.slice();
  let x = s2;
  for (let i = 32; i < 64; i++) {
    mal[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x === 0n) assert.ok(!verifyStrict(pub, msg, mal), 'S + L');
  // R = identity with S = 0 is the classic small-order forgery against a small-order key.
  const ident = new Uint8Array(32);
  ident[0] = 1;
  assert.ok(!verifyStrict(ident, msg, Uint8Array.of(...ident, ...new Uint8Array(32))));
  // Small-order R with a valid key.
  assert.ok(!verifyStrict(pub, msg, Uint8Array.of(...ident, ...sig.subarray(32))));
});

test('checkpoint bodies: the C2SP example round-trips; the spec rejection list fails', () => {
  const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
  const c = parseCheckpointBody(body);
  assert.equal(c.size, 20852163n);
  assert.equal(c.timestampMs, undefined);
  const root = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
  const mk = (size: string, r = root, ext: string[] = []): string => ['o.example', size, r, ...ext].join('\n') + '\n';
  assert.equal(parseCheckpointBody(mk('0')).size, 0n);
  assert.equal(parseCheckpointBody(mk('18446744073709551615')).size, 2n ** 64n - 1n);
  assert.equal(parseCheckpointBody(mk('1', root, ['timestamp 0'])).timestampMs, 0n);
  assert.deepEqual(parseCheckpointBody(mk('1', root, ['timestamp 5', 'other ext', 'timestampx'])).extensions, ['other ext', 'timestampx']);
  const cases: [string, string][] = [
    [mk('1').slice(0, -1), 'no final newline'],
    ['o.example\n1\n', 'two lines'],
    [mk('1').replace('o.example', ''), 'empty origin'],
    ...['01', '00', '+1', '-1', ' 1', '', '18446744073709551616', '1 '].map((s): [string, string] => [mk(s), `size ${JSON.stringify(s)}`]),
    [mk('1', toBase64(new Uint8Array(31))), '31-byte root'],
    [mk('1', toBase64(new Uint8Array(33))), '33-byte root'],
    [mk('1', root.replace('=', '')), 'unpadded root'],
    [mk('1', root.slice(0, -2) + 'J='), 'non-zero trailing bits'],
    [mk('1', root.replace('C', '*')), 'bad character'],
    [mk('1', root, ['']), 'empty extension line'],
    [mk('1', root, ['timestamp 01']), 'timestamp 01'],
    [mk('1', root, ['timestamp']), 'bare timestamp'],
    [mk('1', root, ['timestamp ']), 'empty timestamp'],
    [mk('1', root, ['x', 'timestamp 1']), 'timestamp not first'],
    [mk('1', root, ['timestamp 1', 'timestamp 2']), 'timestamp twice'],
    [mk('1', root, ['timestamp 18446744073709551616']), 'timestamp over u64'],
    [mk('1').replace('o.example', 'o\texample'), 'tab'],
  ];
  for (const [b, what] of cases) rejects(() => parseCheckpointBody(b), what, 'checkpoint');
});

test('Tessera test log: both checkpoints verify, bodies round-trip, size-15 root as in the spec', () => {
  const dir = tesseraDir();
  const key = parseVkey('example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx');
  for (const [f, size] of [['checkpoint', 15n], ['checkpoint.7', 7n]] as const) {
    const b = readFileSync(join(dir, f));
    const v = verifyCheckpoint(b, key);
    assert.equal(v.checkpoint.size, size);
    assert.deepEqual(v.checkpoint.extensions, []);
    assert.equal(v.checkpoint.timestampMs, undefined);
    const c = v.checkpoint;
    assert.equal(`${c.origin}\n${c.size}\n${toBase64(c.root)}\n`, v.note.text);
  }
  assert.equal(toHex(verifyCheckpoint(readFileSync(join(dir, 'checkpoint')), key).checkpoint.root), 'aca6c38a90af86e5f5199ee0e4105ef2c03a05b27b8daff59e4e36eefdfcddcb');
});

test('vkeys: non-canonical point encodings (y >= p) are accepted when not of small order, and keep their bytes (spec/notes.md §6 step 3)', () => {
  const enc = (k: number, sign: boolean): Uint8Array => {
    const b = new Uint8Array(32).fill(0xff);
    b[0] = 0xed + k; // y = p + k
    b[31] = sign ? 0xff : 0x7f;
    return b;
  };
  const y3 = enc(3, false);
  const s = formatVkey('nc.example', 1, y3);
  assert.equal(parseVkey(s).vkey, s);
  assert.deepEqual(parseVkey(s).publicKey, y3);
  rejects(() => parseVkey(formatVkey('nc.example', 1, enc(0, false))), 'y = p (small order)', 'key');
  rejects(() => parseVkey(formatVkey('nc.example', 1, enc(1, true))), 'y = p + 1 (identity)', 'key');
  rejects(() => parseVkey(formatVkey('nc.example', 1, enc(2, false))), 'y = p + 2 (not on the curve)', 'key');
});
