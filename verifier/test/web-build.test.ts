// The committed page bundle (log-server/web/) is exactly what the sources
// build to, so it cannot go stale: rebuild into a temporary directory and
// compare every file byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_DIR, VERIFIER_DIR } from './util.js';

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('log-server/web/ is byte-identical to a fresh build of verifier/web/ (run `npm run build:web` after changing the page)', () => {
  const out = mkdtempSync(join(tmpdir(), 'provlog-web-'));
  try {
    execFileSync(process.execPath, [join(VERIFIER_DIR, 'scripts', 'build-web.mjs'), '--out', out], { stdio: 'pipe' });
    const committed = join(REPO_DIR, 'log-server', 'web');
    assert.deepEqual(files(out), files(committed));
    for (const f of files(out)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(committed, f))), `${f} differs from a fresh build`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
