// Shared test helpers: where the vectors are, and tampering generators.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { VerifyError } from '../src/errors.js';

const here = dirname(fileURLToPath(import.meta.url)); // build/test
/** The verifier/ directory. */
export const VERIFIER_DIR = resolve(here, '..', '..');
export const REPO_DIR = resolve(VERIFIER_DIR, '..');
export const SPEC_DIR = join(REPO_DIR, 'spec');
export const VECTORS = join(SPEC_DIR, 'vectors');

/** Tessera's testdata: $PROVLOG_SHARED or ../shared beside the repo (CI), else /work/shared. */
export function tesseraDir(): string {
  const candidates = [
    process.env.PROVLOG_SHARED ? join(process.env.PROVLOG_SHARED, 'vectors/tessera-testdata') : '',
    join(REPO_DIR, '..', 'shared', 'vectors', 'tessera-testdata'),
    '/work/shared/vectors/tessera-testdata',
  ].filter((p) => p !== '');
  for (const c of candidates) if (existsSync(join(c, 'checkpoint'))) return c;
  throw new Error(`Tessera vectors not found in ${candidates.join(', ')}`);
}

export function vec(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS, path)));
}
export function vecText(path: string): string {
  return readFileSync(join(VECTORS, path), 'utf8');
}

/** Every file under spec/vectors, as relative paths. */
export function allVectorFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(VECTORS, p));
    }
  };
  walk(VECTORS);
  return out.sort();
}

/** Copies of `b` with byte `i` flipped (xor 0x01 and xor 0x80), for every i. */
export function* byteFlips(b: Uint8Array): Generator<{ at: number; bytes: Uint8Array }> {
  for (let i = 0; i < b.length; i++) {
    for (const x of [0x01, 0x80]) {
      const c = b.slice();
      c[i]! ^= x;
      yield { at: i, bytes: c };
    }
  }
}

/** Asserts that `f` throws a VerifyError (optionally of check `check`). */
export function rejects(f: () => unknown, what: string, check?: string): VerifyError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof VerifyError)) throw new Error(`${what}: threw a non-VerifyError: ${String(e)}`);
    if (check !== undefined) assert.equal(e.check, check, `${what}: wrong check (${e.message})`);
    return e;
  }
  assert.fail(`${what}: was accepted`);
}

/** Extracts the hex block following `<!-- test-vector: NAME -->` in a spec document. */
export function specHexVector(doc: string, name: string): Uint8Array {
  const text = readFileSync(join(SPEC_DIR, doc), 'utf8');
  const marker = `<!-- test-vector: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no test vector ${name} in ${doc}`);
  const m = /```text\n([0-9a-f\n]+)```/.exec(text.slice(at));
  if (!m) throw new Error(`malformed test vector ${name}`);
  return Uint8Array.from(Buffer.from(m[1]!.replace(/\n/g, ''), 'hex'));
}
