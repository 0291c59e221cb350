#!/usr/bin/env node
// Builds the verifier page into log-server/web/ (committed, so a fresh clone
// serves it without npm), or into --out DIR. The build is deterministic:
// test/web-build.test.ts rebuilds into a temporary directory and compares
// byte for byte, so the committed bundle cannot go stale.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--out');
const out = i > 0 ? resolve(process.argv[i + 1]) : resolve(root, '..', 'log-server', 'web');
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'app.ts')],
  outfile: join(out, 'assets', 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022'],
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
});
await build({
  entryPoints: [join(root, 'web', 'app.css')],
  outfile: join(out, 'assets', 'app.css'),
  bundle: true,
  minify: true,
  charset: 'utf8',
  logLevel: 'warning',
});
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'web', 'icon.svg'), join(out, 'assets', 'icon.svg'));
console.log(`built the verifier page into ${out}`);
