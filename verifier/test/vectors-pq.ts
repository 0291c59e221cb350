// spec/vectors: ML-DSA-44 keys, the checkpoint signed in the 2026 form
// (Ed25519, the log's timestamp cosignature, ML-DSA-44), its ML-DSA-44
// witnessed copy, and the policy demanding both (spec/notes.md,
// spec/checkpoint.md §2-4, spec/policy.md §6). Tampered copies rejected.
import assert from 'node:assert/strict';
import { vectorTest } from './coverage.js';
import { byteFlips, rejects, vec, vecText } from './util.js';
import { toBase64, toHex, utf8 } from '../src/bytes.js';
import { verifyCheckpoint, verifyCheckpointKeys } from '../src/checkpoint.js';
import { TYPE_COSIGNATURE_V1, TYPE_ED25519, TYPE_MLDSA44 } from '../src/keytypes.js';
import { MLDSA44_PUBLIC_KEY_LENGTH } from '../src/mldsa.js';
import { formatVkey, parseNote, parseSkey, parseVkey, verifyNote } from '../src/note.js';
import { formatPolicy, parsePolicy, verifyCheckpointWithPolicy } from '../src/policy.js';
import { VerifyError } from '../src/errors.js';
import { asTimestampKey, makeKey, note, signatureLine, vectorKey } from './signers.js';

const vk = (n: string) => parseVkey(vecText(`keys/${n}.vkey`).trim());
const TREE = () => JSON.parse(vecText('tree.json')) as { roots: Record<string, string> };
const T = 1790000002n;

/** Either rejected, or still the vector's size, root and log time (a line made unknown). */
function sameOrRejected(f: () => { checkpoint: { size: bigint }; logTime?: { ms: bigint } }, what: string, timeMayGo = false): void {
  let v;
  try {
    v = f();
  } catch (e) {
    if (e instanceof VerifyError) return;
    throw e;
  }
  assert.equal(v.checkpoint.size, 7n, what);
  // Under a policy listing the log's ML-DSA-44 key as a witness, the
  // timestamp line is the only log time: with it unknown, there is none.
  if (!(timeMayGo && v.logTime === undefined)) assert.equal(v.logTime?.ms, T * 1000n, what);
}

/** Copies with bytes flipped: every byte of the first `full` bytes, then every `step`-th (ML-DSA-44 lines are 3.3 KB). */
function* sampledFlips(b: Uint8Array, full: number, step: number): Generator<{ at: number; bytes: Uint8Array }> {
  for (const f of byteFlips(b)) if (f.at < full || f.at % step === 0) yield f;
}

vectorTest(
  ['keys/log-mldsa.vkey', 'keys/log-mldsa.skey', 'keys/vendor-mldsa.vkey', 'keys/vendor-mldsa.skey', 'keys/witness-mldsa.vkey', 'keys/witness-mldsa.skey'],
  'ML-DSA-44 keys: parse, round-trip, each skey (seed ξ) derives its vkey; tampered keys rejected',
  () => {
    const seeds = { log: 4, vendor: 6, witness: 5 } as const;
    for (const k of ['log', 'vendor', 'witness'] as const) {
      const text = vecText(`keys/${k}-mldsa.vkey`);
      assert.ok(text.endsWith('\n') && !text.slice(0, -1).includes('\n'));
      const v = parseVkey(text.trim());
      assert.equal(v.vkey, text.trim());
      assert.equal(v.type, TYPE_MLDSA44);
      assert.equal(v.publicKey.length, MLDSA44_PUBLIC_KEY_LENGTH);
      const sk = parseSkey(vecText(`keys/${k}-mldsa.skey`).trim());
      assert.equal(sk.vkey.vkey, v.vkey);
      assert.deepEqual([...new Set(sk.seed)], [seeds[k]]);
      // Every single-character change of the base64 part, and every truncation, is rejected.
      const s = v.vkey;
      const b64at = s.lastIndexOf('+') + 1;
      for (let i = b64at; i < s.length; i += 7) {
        const c = s[i] === 'A' ? 'B' : 'A';
        rejects(() => parseVkey(s.slice(0, i) + c + s.slice(i + 1)), `${k} vkey char ${i}`, 'key');
      }
      for (let n = 1; n < s.length; n += 11) rejects(() => parseVkey(s.slice(0, n)), `${k} vkey prefix ${n}`, 'key');
      const sks = vecText(`keys/${k}-mldsa.skey`).trim();
      for (let n = 1; n < sks.length; n++) rejects(() => parseSkey(sks.slice(0, n)), `${k} skey prefix ${n}`, 'key');
      // The skey's ID is that of the derived public key: another seed is rejected.
      const other = sks.slice(0, -4) + (sks.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      rejects(() => parseSkey(other), `${k} skey with another seed`, 'key');
    }
    const pq = vk('log-mldsa');
    // Key names of at most 255 bytes; keys of exactly 1,312 bytes; base64 of at most 1,800 characters.
    parseVkey(formatVkey('a'.repeat(255), TYPE_MLDSA44, pq.publicKey));
    rejects(() => parseVkey(formatVkey('a'.repeat(256), TYPE_MLDSA44, pq.publicKey)), '256-byte name', 'key');
    rejects(() => parseVkey(formatVkey(pq.name, TYPE_MLDSA44, pq.publicKey.subarray(1))), '1,311-byte key', 'key');
    rejects(() => parseVkey(formatVkey(pq.name, TYPE_MLDSA44, new Uint8Array(1350))), 'key over 1,800 base64 characters', 'key');
    // The same public key under another type has another ID; a 0x06 key's
    // bytes under type 0x01 are not a key at all.
    rejects(() => parseVkey(formatVkey(pq.name, TYPE_ED25519, pq.publicKey)), 'ML-DSA bytes as Ed25519', 'key');
  },
);

vectorTest(['checkpoint.mldsa', 'checkpoint.mldsa-cosigned'], 'the 2026 form: Ed25519, timestamp cosignature and ML-DSA-44 log signatures, log time; tampered copies rejected', () => {
  const log = vk('log');
  const pq = vk('log-mldsa');
  for (const f of ['checkpoint.mldsa', 'checkpoint.mldsa-cosigned']) {
    const b = vec(f);
    const v = verifyCheckpointKeys(b, [log, pq]);
    assert.equal(v.checkpoint.size, 7n);
    assert.equal(toHex(v.checkpoint.root), TREE().roots['7']);
    assert.deepEqual(v.checkpoint.extensions, []);
    assert.equal(v.checkpoint.timestampMs, undefined, 'no legacy line');
    assert.deepEqual(v.logTime, { ms: T * 1000n, source: 'cosignature' });
    assert.deepEqual(v.signers.map((s) => [s.key.type, s.timestamp]), [[TYPE_ED25519, undefined], [TYPE_COSIGNATURE_V1, T], [TYPE_MLDSA44, T]]);
    // The lines are in the order of spec/checkpoint.md §2.2.
    const n = parseNote(b);
    assert.deepEqual(n.signatures.slice(0, 3).map((s) => s.name), [log.name, log.name, log.name]);
    // Each log key alone verifies it too (the other's line is then unknown).
    assert.deepEqual(verifyCheckpoint(b, log).logTime, { ms: T * 1000n, source: 'cosignature' });
    assert.equal(verifyCheckpoint(b, pq).logKey.type, TYPE_MLDSA44);
    assert.deepEqual(verifyCheckpoint(b, pq).logTime, { ms: T * 1000n, source: 'cosignature' });
    // Every flip of the text and of the first two lines, and sampled flips
    // of the ML-DSA-44 line, are rejected (a flip in the witness line of the
    // cosigned copy only changes a line these keys do not know).
    const textAndEd = utf8(n.text + '\n' + n.signatures[0]!.line + '\n' + n.signatures[1]!.line + '\n').length;
    const logPart = vec('checkpoint.mldsa').length; // the cosigned copy appends the witness line
    assert.deepEqual(b.subarray(0, logPart), vec('checkpoint.mldsa'));
    // A flip in the timestamp line's key name makes it a line by an unknown
    // key, which is ignored (the ML-DSA-44 line still carries the time).
    const tsLine = [utf8(n.text + '\n' + n.signatures[0]!.line + '\n').length, textAndEd];
    for (const { at, bytes } of sampledFlips(b, textAndEd, 13)) {
      if (at >= logPart) continue;
      if (at >= tsLine[0]! && at < tsLine[1]!) {
        sameOrRejected(() => verifyCheckpointKeys(bytes, [log, pq]), `${f} flip at ${at}`);
        continue;
      }
      rejects(() => verifyCheckpointKeys(bytes, [log, pq]), `${f} flip at ${at}`);
    }
  }
  const b = vecText('checkpoint.mldsa');
  const lines = b.split('\n');
  const without = (k: number): string => [...lines.slice(0, k), ...lines.slice(k + 1)].join('\n');
  // lines: origin, size, root, '', ed, ts, pq, ''
  const noTs = without(5);
  assert.deepEqual(verifyCheckpointKeys(noTs, [log, pq]).logTime, { ms: T * 1000n, source: 'cosignature' }, 'the ML-DSA-44 log signature alone carries the time');
  assert.equal(verifyCheckpoint(noTs, log).logTime, undefined, 'no time under the Ed25519 key alone');
  rejects(() => verifyCheckpointKeys(without(6), [log, pq]), 'ML-DSA-44 line dropped: both keys demanded', 'note-signature');
  verifyCheckpoint(without(6), log);
  rejects(() => verifyCheckpointKeys(without(4), [log, pq]), 'Ed25519 line dropped', 'note-signature');
  for (const k of [0, 1, 2]) rejects(() => verifyCheckpointKeys(without(k), [log, pq]), `body line ${k} dropped`);
  // Swapped keys: a witness's ML-DSA-44 key is not the log's; log keys share one name.
  rejects(() => verifyCheckpoint(vec('checkpoint.mldsa'), vk('witness-mldsa')), 'witness key as log key');
  rejects(() => verifyCheckpointKeys(vec('checkpoint.mldsa'), [log, vk('witness-mldsa')]), 'log keys of two names', 'key');
  rejects(() => verifyCheckpoint(vec('checkpoint.mldsa'), vk('witness')), 'cosignature/v1 key as log key', 'key');
  rejects(() => verifyCheckpoint(vec('checkpoint.mldsa'), vk('vendor-mldsa')), 'vendor key', 'note-signature');
  // The legacy vectors are not signed by the ML-DSA-44 key.
  rejects(() => verifyCheckpointKeys(vec('checkpoint'), [log, pq]), 'legacy checkpoint under both keys', 'note-signature');
});

vectorTest(['checkpoint.mldsa', 'checkpoint.mldsa-cosigned'], 'crafted with the vector keys: log times must agree, extension lines need Ed25519, sizes and names are checked', () => {
  const ed = vectorKey('log');
  const ts = asTimestampKey(ed);
  const pq = vectorKey('log-mldsa');
  const keys = [ed.vkey, pq.vkey];
  const body = (ext = ''): string => vecText('checkpoint.mldsa').split('\n').slice(0, 3).join('\n') + '\n' + ext;
  const signed = (text: string, tTs: bigint | null, tPq: bigint | null): string =>
    note(text, [signatureLine(ed, text), ...(tTs === null ? [] : [signatureLine(ts, text, tTs)]), ...(tPq === null ? [] : [signatureLine(pq, text, tPq)])]);
  // The vector itself is reproduced byte for byte (deterministic ML-DSA-44).
  assert.equal(signed(body(), T, T), vecText('checkpoint.mldsa'));
  rejects(() => verifyCheckpointKeys(signed(body(), 5n, 6n), keys), 'timestamps disagree', 'checkpoint');
  // A legacy line next to a timestamp cosignature must agree to the second.
  const legacy = body('timestamp 5999\n');
  assert.deepEqual(verifyCheckpointKeys(signed(legacy, 5n, 5n), keys).logTime, { ms: 5000n, source: 'cosignature' });
  rejects(() => verifyCheckpointKeys(signed(legacy, 6n, 6n), keys), 'legacy line disagrees', 'checkpoint');
  // Extension lines are not signed by ML-DSA-44: rejected when no Ed25519 key vouches for them.
  const ext = signed(body('other extension\n'), 5n, 5n);
  verifyCheckpointKeys(ext, keys);
  rejects(() => verifyCheckpoint(ext, pq.vkey), 'extension lines under ML-DSA-44 only', 'checkpoint');
  const p = parsePolicy(`log ${pq.vkey.vkey}\nquorum none\n`);
  rejects(() => verifyCheckpointWithPolicy(ext, p), 'extension lines under an ML-DSA-44-only policy', 'checkpoint');
  // A subtree/v1 signature with a wrong length, over another name, or on a
  // text that is not a checkpoint never verifies.
  const text = body();
  const good = signatureLine(pq, text, 7n);
  const raw = Buffer.from(good.split(' ')[2]!, 'base64');
  const short = `— ${pq.vkey.name} ${toBase64(new Uint8Array(raw.subarray(0, raw.length - 1)))}`;
  rejects(() => verifyCheckpointKeys(note(text, [signatureLine(ed, text), short]), keys), 'short ML-DSA-44 signature', 'note-signature');
  const otherName = makeKey('other.example', TYPE_MLDSA44, pq.seed);
  const forged = `— ${pq.vkey.name} ${toBase64(new Uint8Array([...raw.subarray(0, 4), ...Buffer.from(signatureLine(otherName, text, 7n).split(' ')[2]!, 'base64').subarray(4)]))}`;
  rejects(() => verifyCheckpointKeys(note(text, [signatureLine(ed, text), forged]), keys), 'signature by the same key over another name', 'note-signature');
  const hello = 'hello\n';
  rejects(() => verifyNote(parseNote(`${hello}\n— ${pq.vkey.name} ${good.split(' ')[2]}\n`), [pq.vkey]), 'subtree/v1 line on a text that is not a checkpoint', 'note-signature');
  // A timestamp cosignature by the log's key over a wrong time fails the whole note.
  const badTs = signatureLine(ts, text, 8n).replace(/ (\S+)$/, (_m, b64: string) => {
    const r = Buffer.from(b64, 'base64');
    r[11] = r[11]! ^ 1; // timestamp byte: the signature no longer matches
    return ' ' + r.toString('base64');
  });
  rejects(() => verifyCheckpoint(note(text, [signatureLine(ed, text), badTs]), ed.vkey), 'bad timestamp cosignature', 'note-signature');
});

vectorTest(['policy-mldsa.txt'], 'demands both log algorithms and an ML-DSA-44 witness (spec/policy.md §6); the other rows of §6; invalid policies', () => {
  const text = vecText('policy-mldsa.txt');
  const p = parsePolicy(text);
  assert.equal(formatPolicy(p), text);
  assert.equal(p.logs[0]!.key.vkey, vk('log').vkey);
  assert.deepEqual(p.witnesses.map((w) => [w.name, w.key.vkey]), [['log-mldsa', vk('log-mldsa').vkey], ['witness-pq.example', vk('witness-mldsa').vkey]]);
  const v = verifyCheckpointWithPolicy(vec('checkpoint.mldsa-cosigned'), p);
  assert.deepEqual(v.cosigners.map((c) => [c.name, c.timestamp]), [['log-mldsa', T], ['witness-pq.example', 1790000001n]]);
  assert.equal(v.logKey.vkey, vk('log').vkey);
  assert.deepEqual(v.logTime, { ms: T * 1000n, source: 'cosignature' });
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint.mldsa'), p), 'no ML-DSA-44 witness', 'quorum');
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint.cosigned'), p), 'Ed25519 only', 'quorum');
  const b = vec('checkpoint.mldsa-cosigned');
  const n = parseNote(b);
  const tsStart = utf8(n.text + '\n' + n.signatures[0]!.line + '\n').length;
  const tsEnd = tsStart + utf8(n.signatures[1]!.line + '\n').length;
  for (const { at, bytes } of sampledFlips(b, tsEnd, 17)) {
    if (at >= tsStart && at < tsEnd) sameOrRejected(() => verifyCheckpointWithPolicy(bytes, p), `flip at ${at}`, true);
    else rejects(() => verifyCheckpointWithPolicy(bytes, p), `flip at ${at}`);
  }
  const L1 = vk('log').vkey;
  const L6 = vk('log-mldsa').vkey;
  // Either algorithm; ML-DSA-44 only; Ed25519 only.
  const either = parsePolicy(`log ${L1}\nlog ${L6}\nquorum none\n`);
  assert.equal(verifyCheckpointWithPolicy(vec('checkpoint.mldsa'), either).logKey.type, TYPE_ED25519);
  assert.equal(verifyCheckpointWithPolicy(vec('checkpoint'), either).logTime?.source, 'legacy-line');
  const pqOnly = parsePolicy(`log ${L6}\nquorum none\n`);
  const vp = verifyCheckpointWithPolicy(vec('checkpoint.mldsa'), pqOnly);
  assert.equal(vp.logKey.type, TYPE_MLDSA44);
  assert.deepEqual(vp.logTime, { ms: T * 1000n, source: 'cosignature' });
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint'), pqOnly), 'legacy checkpoint under ML-DSA-44 only', 'note-signature');
  // Invalid: a log's own key (its timestamp key, or its ML-DSA-44 key) as a witness next to it; wrong roles.
  const ts = formatVkey(vk('log').name, TYPE_COSIGNATURE_V1, vk('log').publicKey);
  rejects(() => parsePolicy(`log ${L1}\nwitness self ${ts}\nquorum self\n`), 'timestamp key as witness', 'policy');
  rejects(() => parsePolicy(`log ${L6}\nwitness self ${L6}\nquorum self\n`), 'ML-DSA-44 log key also a witness', 'policy');
  rejects(() => parsePolicy(`witness self ${L6}\nlog ${L6}\nquorum self\n`), 'the same, witness first', 'policy');
  rejects(() => parsePolicy(`log ${vk('witness').vkey}\nquorum none\n`), '0x04 key as log', 'policy');
  rejects(() => parsePolicy(`log ${L1}\nwitness w ${L1}\nquorum w\n`), '0x01 key as witness', 'policy');
  // A witness W with keys of both types (spec/policy.md §6 second table).
  const wed = vk('witness').vkey;
  const wpq = vk('witness-mldsa').vkey;
  const both = parsePolicy(`log ${L1}\nwitness W-ed ${wed}\nwitness W-pq ${wpq}\ngroup W all W-ed W-pq\nquorum W\n`);
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint.mldsa-cosigned'), both), 'W-ed missing', 'quorum');
  const any = parsePolicy(`log ${L1}\nwitness W-ed ${wed}\nwitness W-pq ${wpq}\ngroup W any W-ed W-pq\nquorum W\n`);
  assert.deepEqual(verifyCheckpointWithPolicy(vec('checkpoint.mldsa-cosigned'), any).cosigners.map((c) => c.name), ['W-pq']);
  assert.deepEqual(verifyCheckpointWithPolicy(vec('checkpoint.cosigned'), any).cosigners.map((c) => c.name), ['W-ed']);
});
