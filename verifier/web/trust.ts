// Which log key (or policy) verdicts are under. The page never trusts the
// key the server reports without saying so: a user pins a key or a full
// tlog-policy (kept in this browser's localStorage), and every verdict
// names what it was checked under.

import { VerifyError } from '../src/errors.js';
import { parseVkey, type VerifierKey } from '../src/note.js';
import { parsePolicy, type Policy, singleLogPolicy } from '../src/policy.js';

/** What the server says about itself (`GET /v1/log`). Informational only. */
export interface ServerInfo {
  readonly origin: string;
  readonly vkey: VerifierKey;
  readonly witnesses: readonly VerifierKey[];
  readonly witnessQuorum: number;
}

export interface Trust {
  readonly policy: Policy;
  /** pinned: the user's own choice; server: the key this server reports, not pinned. */
  readonly source: 'pinned' | 'server';
  /** The pinned text (a vkey or a policy). */
  readonly pinnedText?: string;
  /** The log key(s) verdicts are under, as vkeys. */
  readonly logKeys: readonly string[];
  /** Set when the server reports a key that is not among the pinned ones. */
  readonly mismatch: boolean;
}

const STORAGE_KEY = 'provlog-verifier.trust';

export function loadPin(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function savePin(text: string | null): boolean {
  try {
    if (text === null) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, text);
    return true;
  } catch {
    return false;
  }
}

/** Parses what a user pins: one vkey, or a whole tlog-policy. */
export function parsePin(text: string): Policy {
  const t = text.trim();
  if (!t.includes('\n') && !/^(log|witness|group|quorum|#)[ \t]/.test(t)) return singleLogPolicy(parseVkey(t));
  return parsePolicy(t);
}

export function describeError(e: unknown): string {
  return e instanceof VerifyError || e instanceof Error ? e.message : String(e);
}

/** Parses the `/v1/log` JSON. */
export function parseServerInfo(j: unknown): ServerInfo {
  const o = j as { origin?: unknown; vkey?: unknown; witnesses?: unknown; witness_quorum?: unknown };
  if (typeof o?.vkey !== 'string') throw new Error('the server did not report a log key');
  const vkey = parseVkey(o.vkey);
  const witnesses = Array.isArray(o.witnesses) ? o.witnesses.filter((w): w is { vkey: string } => typeof w?.vkey === 'string').map((w) => parseVkey(w.vkey)) : [];
  return { origin: typeof o.origin === 'string' ? o.origin : vkey.name, vkey, witnesses, witnessQuorum: typeof o.witness_quorum === 'number' ? o.witness_quorum : 0 };
}

/** The trust in force: the pin if there is a valid one, else the server's key, labelled as such. */
export function currentTrust(server: ServerInfo | null, pin: string | null): Trust | { error: string } {
  if (pin !== null) {
    try {
      const policy = parsePin(pin);
      const logKeys = policy.logs.map((l) => l.key.vkey);
      return { policy, source: 'pinned', pinnedText: pin, logKeys, mismatch: server !== null && !logKeys.includes(server.vkey.vkey) };
    } catch (e) {
      return { error: `the pinned key in this browser is not valid: ${describeError(e)}` };
    }
  }
  if (!server) return { error: 'no log key: the server did not report one and none is pinned' };
  return { policy: singleLogPolicy(server.vkey), source: 'server', logKeys: [server.vkey.vkey], mismatch: false };
}
