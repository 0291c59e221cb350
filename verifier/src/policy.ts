// C2SP tlog-policy: parsing, quorum evaluation, and verifying a checkpoint
// under a policy (spec/policy.md).

import { bytesEqual, parseCanonicalU64, utf8, utf8Decode } from './bytes.js';
import { type Checkpoint, logTime, type LogTime, parseCheckpointBody, timestampKey } from './checkpoint.js';
import { fail, VerifyError } from './errors.js';
import { TYPE_COSIGNATURE_V1, TYPE_ED25519, TYPE_MLDSA44 } from './keytypes.js';
import { keyLabel, type Note, parseNote, parseVkey, type VerifierKey, verifyNote } from './note.js';

export interface PolicyLog {
  readonly key: VerifierKey;
  readonly url?: string;
}
export interface PolicyWitness {
  readonly name: string;
  readonly key: VerifierKey;
  readonly url?: string;
}
export interface PolicyGroup {
  readonly name: string;
  readonly threshold: number;
  /** The threshold as written: `all`, `any`, or the number. */
  readonly thresholdText: string;
  readonly members: readonly string[];
}
export interface Policy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  /** `none` or a witness or group name. */
  readonly quorum: string;
  /** Witness and group names in definition order. */
  readonly order: readonly string[];
}

export const MAX_POLICY_SIZE = 1 << 20;
const MAX_EACH = 1024;

/** The policy `log K` / `quorum none`. */
export function singleLogPolicy(key: VerifierKey): Policy {
  return { logs: [{ key }], witnesses: [], groups: [], quorum: 'none', order: [] };
}

/** Parses a policy (spec/policy.md §1-2). Errors name the 1-based line. */
export function parsePolicy(input: string | Uint8Array): Policy {
  const bytes = typeof input === 'string' ? utf8(input) : input;
  if (bytes.length > MAX_POLICY_SIZE) fail('policy', 'the policy is over 1 MiB');
  for (const b of bytes) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a) || b === 0x7f) fail('policy', `the policy contains the control byte 0x${b.toString(16).padStart(2, '0')}`);
  }
  const text = typeof input === 'string' ? input : utf8Decode(bytes);
  if (text === null) fail('policy', 'the policy is not valid UTF-8');
  const logs: PolicyLog[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: PolicyGroup[] = [];
  const defined = new Map<string, 'witness' | 'group'>();
  const order: string[] = [];
  let quorum: string | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    function err(msg: string): never {
      return fail('policy', `policy line ${line}: ${msg}`);
    }
    const fields = raw.split(/[ \t]+/).filter((f) => f.length > 0);
    if (fields.length === 0 || fields[0]!.startsWith('#')) continue;
    const [kw, ...args] = fields as [string, ...string[]];
    const parseKey = (s: string, role: 'log' | 'witness'): VerifierKey => {
      let k: VerifierKey;
      try {
        k = parseVkey(s);
      } catch (e) {
        return err(e instanceof VerifyError ? e.message : String(e));
      }
      if (!k.keyType.roles.includes(role)) err(`a ${role} key must be of a ${role} key type, ${keyLabel(k)} is ${k.keyType.name}`);
      return k;
    };
    const define = (name: string, what: 'witness' | 'group'): void => {
      if (name === 'none') err('the name "none" is reserved');
      if (defined.has(name)) err(`${name} is already defined`);
      defined.set(name, what);
      order.push(name);
    };
    switch (kw) {
      case 'log': {
        if (args.length < 1 || args.length > 2) err('expected: log <vkey> [<url>]');
        const key = parseKey(args[0]!, 'log');
        if (logs.some((l) => bytesEqual(l.key.publicKey, key.publicKey))) err('two log lines have the same public key');
        if (witnesses.some((w) => bytesEqual(w.key.publicKey, key.publicKey))) err('a log key wraps the same public key as a witness key: a log cannot witness itself');
        if (logs.length >= MAX_EACH) err('more than 1024 logs');
        logs.push(args[1] === undefined ? { key } : { key, url: args[1] });
        break;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) err('expected: witness <name> <vkey> [<url>]');
        const key = parseKey(args[1]!, 'witness');
        if (witnesses.some((w) => bytesEqual(w.key.publicKey, key.publicKey))) err('two witness lines have the same public key');
        if (logs.some((l) => bytesEqual(l.key.publicKey, key.publicKey))) err('a witness key wraps the same public key as a log key: a log cannot witness itself');
        if (witnesses.length >= MAX_EACH) err('more than 1024 witnesses');
        define(args[0]!, 'witness');
        witnesses.push(args[2] === undefined ? { name: args[0]!, key } : { name: args[0]!, key, url: args[2] });
        break;
      }
      case 'group': {
        if (args.length < 3) err('expected: group <name> <threshold> <member> [<member>...]');
        const [name, th, ...members] = args as [string, string, ...string[]];
        const n = members.length;
        let k: number;
        if (th === 'all') k = n;
        else if (th === 'any') k = 1;
        else {
          const v = parseCanonicalU64(th);
          if (v === null || v < 1n || v > BigInt(n)) err(`threshold ${th} must be all, any, or a number from 1 to ${n}`);
          k = Number(v);
        }
        const seenMembers = new Set<string>();
        for (const m of members) {
          if (m === 'none') err('"none" cannot be a group member');
          if (!defined.has(m)) err(`member ${m} is not a witness or group defined on an earlier line`);
          if (seenMembers.has(m)) err(`member ${m} appears twice`);
          seenMembers.add(m);
        }
        if (groups.length >= MAX_EACH) err('more than 1024 groups');
        define(name, 'group');
        groups.push({ name, threshold: k, thresholdText: th, members });
        break;
      }
      case 'quorum': {
        if (args.length !== 1) err('expected: quorum <name>');
        if (quorum !== undefined) err('a policy has exactly one quorum line');
        const q = args[0]!;
        if (q !== 'none' && !defined.has(q)) err(`quorum ${q} is not a witness or group defined on an earlier line`);
        quorum = q;
        break;
      }
      default:
        err(`unknown keyword ${kw}`);
    }
  }
  if (quorum === undefined) fail('policy', 'the policy has no quorum line');
  return { logs, witnesses, groups, quorum, order };
}

/** Formats a policy (spec/policy.md §2, "Formatting"). */
export function formatPolicy(p: Policy): string {
  const out: string[] = [];
  for (const l of p.logs) out.push(l.url ? `log ${l.key.vkey} ${l.url}` : `log ${l.key.vkey}`);
  const witnessByName = new Map(p.witnesses.map((w) => [w.name, w]));
  const groupByName = new Map(p.groups.map((g) => [g.name, g]));
  for (const name of p.order) {
    const w = witnessByName.get(name);
    const g = groupByName.get(name);
    if (w) out.push(w.url ? `witness ${w.name} ${w.key.vkey} ${w.url}` : `witness ${w.name} ${w.key.vkey}`);
    else if (g) out.push(`group ${g.name} ${g.thresholdText} ${g.members.join(' ')}`);
  }
  out.push(`quorum ${p.quorum}`);
  return out.join('\n') + '\n';
}

/** Whether the quorum is met by the set of witness names that cosigned (spec/policy.md §3). */
export function quorumMet(p: Policy, cosigned: ReadonlySet<string>): boolean {
  if (p.quorum === 'none') return true;
  const witnessed = new Set<string>(cosigned);
  for (const g of p.groups) {
    const count = g.members.filter((m) => witnessed.has(m)).length;
    if (count >= g.threshold) witnessed.add(g.name);
  }
  return witnessed.has(p.quorum);
}

export interface Cosigner {
  readonly name: string;
  readonly key: VerifierKey;
  readonly timestamp: bigint;
}

export interface PolicyVerified {
  readonly note: Note;
  readonly checkpoint: Checkpoint;
  /** The log key reported: an Ed25519 one if any signed (spec/policy.md §4 step 4). */
  readonly logKey: VerifierKey;
  /** Every policy log key, named as the origin, that signed. */
  readonly logKeys: readonly VerifierKey[];
  readonly cosigners: readonly Cosigner[];
  /** The log's signed time (spec/checkpoint.md §2.4), when the checkpoint carries one. */
  readonly logTime?: LogTime;
}

/** Verifies a signed checkpoint under a policy (spec/policy.md §4). */
export function verifyCheckpointWithPolicy(noteInput: Uint8Array | string | Note, p: Policy): PolicyVerified {
  const note = typeof noteInput === 'object' && 'signatures' in noteInput ? noteInput : parseNote(noteInput);
  const logKeyList = p.logs.map((l) => l.key);
  const tsKeys = logKeyList.filter((k) => k.type === TYPE_ED25519).map(timestampKey);
  const keys = [...logKeyList, ...p.witnesses.map((w) => w.key), ...tsKeys];
  let signers;
  try {
    signers = verifyNote(note, keys);
  } catch (e) {
    if (e instanceof VerifyError && e.message === 'no known key signed the note') fail('note-signature', 'not signed by any log in the policy');
    throw e;
  }
  const isLog = (k: VerifierKey): boolean => p.logs.some((l) => l.key.vkey === k.vkey);
  const logSigners = signers.filter((s) => isLog(s.key));
  if (logSigners.length === 0) fail('note-signature', 'not signed by any log in the policy');
  const checkpoint = parseCheckpointBody(note.text);
  const named = logSigners.filter((s) => s.key.name === checkpoint.origin);
  if (named.length === 0) fail('origin', `origin mismatch: no log key in the policy named ${checkpoint.origin} signed this checkpoint`);
  const ed = named.filter((s) => s.key.type === TYPE_ED25519);
  const logKey = (ed[0] ?? named[0]!).key;
  if (ed.length === 0 && (checkpoint.extensions.length > 0 || checkpoint.timestampMs !== undefined)) {
    fail('checkpoint', 'unsigned extension lines: only ML-DSA-44 log keys signed this checkpoint, and they do not sign extension lines');
  }
  // The log's own timestamped signatures: the timestamp keys of its Ed25519
  // keys, and its ML-DSA-44 LOG keys (an ML-DSA-44 key listed as a witness
  // is a witness here, spec/policy.md §6).
  const timed = signers.filter(
    (s) =>
      s.key.name === checkpoint.origin &&
      ((s.key.type === TYPE_COSIGNATURE_V1 && tsKeys.some((t) => t.vkey === s.key.vkey)) || (s.key.type === TYPE_MLDSA44 && isLog(s.key))),
  );
  const lt = logTime(checkpoint, timed, ed.length > 0);
  const cosigners: Cosigner[] = [];
  for (const s of signers) {
    const w = p.witnesses.find((x) => x.key.vkey === s.key.vkey);
    if (w && s.timestamp !== undefined) cosigners.push({ name: w.name, key: s.key, timestamp: s.timestamp });
  }
  if (!quorumMet(p, new Set(cosigners.map((c) => c.name)))) {
    const who = cosigners.length ? cosigners.map((c) => c.name).join(', ') : 'no witness';
    fail('quorum', `quorum ${p.quorum} not met: cosigned by ${who}`);
  }
  const base = { note, checkpoint, logKey, logKeys: named.map((s) => s.key), cosigners };
  return lt === undefined ? base : { ...base, logTime: lt };
}
