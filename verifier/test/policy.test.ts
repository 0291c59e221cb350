// spec/policy.md: syntax, validity, the §5 example quorum, and verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { formatVkey, parseVkey } from '../src/note.js';
import { formatPolicy, parsePolicy, quorumMet, verifyCheckpointWithPolicy } from '../src/policy.js';
import { rejects, vec, vecText } from './util.js';

const wkey = (i: number): string => formatVkey(`w${i}.example`, 4, ed25519.getPublicKey(new Uint8Array(32).fill(40 + i)));
const lkey = (i: number, name = `log${i}.example`): string => formatVkey(name, 1, ed25519.getPublicKey(new Uint8Array(32).fill(80 + i)));

test('the spec §5 example: X1, X3 and Y2 meet the quorum; X1, Y1 and Y2 do not', () => {
  const text = `# one log, six witnesses run by two organisations
log ${lkey(1)}  https://log.example/
witness X1 ${wkey(1)}
witness X2 ${wkey(2)}
witness X3 ${wkey(3)}
group X-witnesses 2 X1 X2 X3
witness Y1 ${wkey(4)}
witness Y2 ${wkey(5)}
group Y-witnesses any Y1 Y2
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y`;
  const p = parsePolicy(text);
  assert.ok(quorumMet(p, new Set(['X1', 'X3', 'Y2'])));
  assert.ok(!quorumMet(p, new Set(['X1', 'Y1', 'Y2'])));
  assert.ok(!quorumMet(p, new Set()));
  const again = parsePolicy(formatPolicy(p));
  assert.deepEqual(again, p);
  assert.equal(formatPolicy(again), formatPolicy(p));
  assert.equal(p.logs[0]!.url, 'https://log.example/');
});

test('syntax and validity rules', () => {
  const L = lkey(1);
  const ok = [
    `log ${L}\nquorum none`,
    `log ${L}\nquorum none\n`,
    `\t log ${L} \t\n# comment\n  #also\n\nquorum none`,
    `witness a ${wkey(1)}\nwitness b ${wkey(2)}\ngroup g 2 a b\ngroup h any g a\nquorum h`,
    'quorum none',
  ];
  for (const t of ok) parsePolicy(t);
  const bad: [string, string][] = [
    [`log ${L}`, 'no quorum'],
    [`log ${L}\nquorum none\nquorum none`, 'two quorums'],
    [`log ${L}\r\nquorum none`, 'CRLF'],
    [`log ${L}\nquorum none\u007f`, 'DEL'],
    [`Log ${L}\nquorum none`, 'keyword case'],
    [`log ${L} url extra\nquorum none`, 'too many fields'],
    [`log\nquorum none`, 'too few fields'],
    [`log ${wkey(1)}\nquorum none`, 'witness key as log'],
    [`witness a ${L}\nquorum none`, 'log key as witness'],
    [`log ${L}\nlog ${formatVkey('other.example', 1, parseVkey(L).publicKey)}\nquorum none`, 'same log key twice'],
    [`witness a ${wkey(1)}\nwitness b ${wkey(1)}\nquorum none`, 'same witness key twice'],
    [`witness a ${wkey(1)}\nwitness a ${wkey(2)}\nquorum none`, 'name defined twice'],
    [`witness none ${wkey(1)}\nquorum none`, 'reserved name'],
    [`witness a ${wkey(1)}\ngroup a 1 a\nquorum none`, 'group reuses a name'],
    [`witness a ${wkey(1)}\ngroup g 2 a\nquorum g`, 'threshold above n'],
    [`witness a ${wkey(1)}\ngroup g 0 a\nquorum g`, 'threshold 0'],
    [`witness a ${wkey(1)}\ngroup g 01 a\nquorum g`, 'threshold leading zero'],
    [`witness a ${wkey(1)}\ngroup g some a\nquorum g`, 'threshold word'],
    [`witness a ${wkey(1)}\ngroup g 1 a a\nquorum g`, 'member twice'],
    [`group g 1 a\nwitness a ${wkey(1)}\nquorum g`, 'member defined later'],
    [`witness a ${wkey(1)}\ngroup g 1 none\nquorum g`, 'none as member'],
    [`witness a ${wkey(1)}\ngroup g 1\nquorum g`, 'group without members'],
    [`quorum g\nwitness g ${wkey(1)}`, 'quorum before definition'],
    [`log ${L}\nquorum x`, 'quorum undefined'],
    [`log ${L}\nquorum`, 'quorum without name'],
    [`log ${L}\nfoo bar\nquorum none`, 'unknown keyword'],
  ];
  for (const [t, what] of bad) assert.match(rejects(() => parsePolicy(t), what, 'policy').message, /line \d+|no quorum|control byte/, what);
  assert.match(rejects(() => parsePolicy(`log ${L}\n\nfoo\nquorum none`), 'line number', 'policy').message, /policy line 3/);
});

test('verifying under a policy: log signature, origin, quorum', () => {
  const p = parsePolicy(vec('policy.txt'));
  verifyCheckpointWithPolicy(vec('checkpoint.cosigned'), p);
  // A policy that only knows the witness: not signed by any log.
  const onlyWitness = parsePolicy(`witness w ${vecText('keys/witness.vkey').trim()}\nquorum w`);
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint.cosigned'), onlyWitness), 'no log key', 'note-signature');
  // quorum none: the uncosigned checkpoint is enough.
  const none = parsePolicy(`log ${vecText('keys/log.vkey').trim()}\nquorum none`);
  assert.deepEqual(verifyCheckpointWithPolicy(vec('checkpoint'), none).cosigners, []);
  // A log key of another name: nothing it knows signed.
  const other = parsePolicy(`log ${lkey(3)}\nquorum none`);
  rejects(() => verifyCheckpointWithPolicy(vec('checkpoint'), other), 'unknown log', 'note-signature');
});
