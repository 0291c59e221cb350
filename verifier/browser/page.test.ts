// The verifier page in a real browser (Debian's chromium, headless, driven
// by playwright-core) against a real provlog-server with claims registered
// by the provlog CLI. Every request the browser makes is recorded.
//
// Needs: /usr/bin/chromium (or $CHROMIUM), and the provlog-server and provlog
// binaries in $PROVLOG_BIN_DIR, else $CARGO_TARGET_DIR/debug, else
// <repo>/target/debug. Screenshots go to verifier/screenshots/ (git-ignored).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_DIR, VERIFIER_DIR } from '../test/util.js';
import { formatVkey } from '../src/note.js';
import { decodeLookupProof } from '../src/lookup.js';
import { ed25519 } from '@noble/curves/ed25519.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BIN = process.env.PROVLOG_BIN_DIR ?? (process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, 'debug') : join(REPO_DIR, 'target', 'debug'));
const SHOTS = join(VERIFIER_DIR, 'screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let work: string;
let serverProc: ChildProcess;
let monitorProc: ChildProcess;
let witnessVkey: string;
let base: string; // http://127.0.0.1:PORT of the log
let logVkey: string;
let proxy: http.Server;
let proxyBase: string;
let tamper: 'none' | 'lookup-proof' | 'checkpoint-sig' | 'bundle-commit-proof' | 'bundle-entry' = 'none';
// The second log, started with --verifiable-index (lookup-proof bundles), and a tampering proxy to it.
let vserverProc: ChildProcess;
let vbase: string;
let vlogVkey: string;
let vproxy: http.Server;
let vproxyBase: string;
let vTreeSize = 0;
let ctx: BrowserContext;
const requests: string[] = [];
const consoleErrors: string[] = [];
let files: { cat: string; dog: string; catModified: string; catReceipt: string; catTlog: string; catReceiptTampered: string };

/** A small valid PNG (a colour gradient), so the claim's media type is image/png. */
function png(w: number, h: number, seed: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 255]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + 3 * w);
    for (let x = 0; x < w; x++) row.set([(x * 4 + seed) & 255, (y * 4) & 255, (seed * 3) & 255], 1 + 3 * x);
    rows.push(row);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

function waitForLine(p: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        p.stdout!.off('data', onData);
        resolve(m);
      }
    };
    p.stdout!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${re}: ${buf}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** SIGTERM, then wait for the graceful exit (the server commits and flushes). */
async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGTERM');
  await exited;
}

/** A proxy to the log that can tamper with answers, as a hostile network or server could. */
function startProxy(upstream: () => string): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer((req, res) => {
    const target = upstream();
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (ur) => {
      const parts: Buffer[] = [];
      ur.on('data', (d: Buffer) => parts.push(d));
      ur.on('end', () => {
        let body = Buffer.concat(parts);
        const isBundle = (ur.headers['content-type'] ?? '').startsWith('application/vnd.provlog.lookup+cbor');
        if ((tamper === 'bundle-commit-proof' || tamper === 'bundle-entry') && isBundle) {
          // Flip one byte of the CBOR: in the index-commit's inclusion proof, or inside the first listed entry.
          const p = decodeLookupProof(body);
          const target = tamper === 'bundle-commit-proof' ? p.proof[0] : p.entries?.[0]?.entry;
          if (!target) throw new Error(`tamper ${tamper}: nothing to flip in this bundle`);
          const at = body.indexOf(Buffer.from(target));
          assert.ok(at > 0);
          body = Buffer.from(body);
          body[at + Math.floor(target.length / 2)]! ^= 1;
        }
        // The legacy JSON answer only (not the bundle request's 404 on a log without an index).
        const legacy = req.url?.startsWith('/v1/lookup') && ur.statusCode === 200 && !isBundle;
        if (tamper === 'lookup-proof' && legacy) {
          const j = JSON.parse(body.toString()) as { entries: { proof: string[]; index: number }[] };
          // Flip one bit of the first proof hash of the first entry.
          const e = j.entries[0]!;
          const h = Buffer.from(e.proof[0]!, 'base64');
          h[0]! ^= 1;
          e.proof[0] = h.toString('base64');
          body = Buffer.from(JSON.stringify(j));
        }
        if (tamper === 'checkpoint-sig' && (req.url === '/checkpoint' || legacy)) {
          // Change the tree size in the signed text: the signature no longer matches.
          // The size is the note's second line, after the origin (whatever it is): in the
          // lookup's JSON the newline is escaped, in /checkpoint it is not.
          const bump = (_m: string, a: string, n: string) => `${a}${Number(n) + 1}`;
          const before = body.toString();
          const after = req.url === '/checkpoint' ? before.replace(/^([^\n]*\n)(\d+)/, bump) : before.replace(/("checkpoint":"[^"\\]*\\n)(\d+)/, bump);
          if (after === before) throw new Error(`tamper checkpoint-sig: no tree size found in ${req.url}`);
          body = Buffer.from(after);
        }
        const headers = { ...ur.headers };
        delete headers['content-length'];
        res.writeHead(ur.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    resolve({ server, base: `http://127.0.0.1:${a.port}` });
  }));
}

before(async () => {
  for (const b of ['provlog-server', 'provlog', 'provlog-monitor']) assert.ok(existsSync(join(BIN, b)), `${b} not found in ${BIN}: run cargo build -p provlog-server -p provlog-cli -p provlog-monitor`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: apt-get install -y chromium`);
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'provlog-page-'));
  // The log runs on a port chosen now, so the witnessing monitor can be told
  // its URL: first start (creates the log key), then the monitor, then the
  // log again with the monitor as its witness (as in the README).
  const port = await freePort();
  const logArgs = ['--data', join(work, 'data'), '--listen', `127.0.0.1:${port}`];
  const first = spawn(join(BIN, 'provlog-server'), logArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  logVkey = (await waitForLine(first, /\nvkey (\S+)\n/))[1]!;
  await stop(first);
  writeFileSync(join(work, 'monitor.toml'), `witness_name = "witness-a.example"\n[[log]]\nurl = "http://127.0.0.1:${port}"\nvkey = "${logVkey}"\n[alerts]\nstdout = false\n`);
  monitorProc = spawn(join(BIN, 'provlog-monitor'), ['--data', join(work, 'monitor'), '--listen', '127.0.0.1:0', '--config', join(work, 'monitor.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  monitorProc.stderr!.on('data', (d: Buffer) => appendFileSync(join(work, 'monitor.log'), d));
  const mm = await waitForLine(monitorProc, /listening on (http:\/\/127\.0\.0\.1:\d+)\n(?:.*\n)*?witness-vkey (\S+)\n/);
  witnessVkey = mm[2]!;
  serverProc = spawn(join(BIN, 'provlog-server'), [...logArgs, '--witness', `${witnessVkey}=${mm[1]}`, '--witness-quorum', '1', '--witness-timeout-ms', '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  serverProc.stderr!.on('data', (d: Buffer) => appendFileSync(join(work, 'server.log'), d));
  const m = await waitForLine(serverProc, /listening on (http:\/\/127\.0\.0\.1:\d+)\n(?:.*\n)*?vkey (\S+)\n/);
  base = m[1]!;
  assert.equal(m[2], logVkey);
  const run = (...args: string[]): string => execFileSync(join(BIN, 'provlog'), args, { cwd: work, encoding: 'utf8' });
  run('keygen', '--out', join(work, 'vendor.key'), '--name', 'imagegen.example');
  const img = join(work, 'images');
  mkdirSync(img);
  writeFileSync(join(img, 'cat.png'), png(96, 64, 1));
  writeFileSync(join(img, 'dog.png'), png(64, 64, 90));
  run('submit', '--log', base, '--key', join(work, 'vendor.key'), '--log-key', logVkey, '--generator', 'Example AI/imagegen/2.1', '--disclosure', 'label,c2pa', '--consent', 'not_applicable', '--tlog-proof', img);
  const modified = join(work, 'cat-edited.png');
  writeFileSync(modified, Buffer.concat([readFileSync(join(img, 'cat.png')), Buffer.from([0])]));
  // A receipt with one bit of its inclusion proof flipped: the proof hashes
  // are the last 32-byte strings before the checkpoint bytes.
  const rc = readFileSync(join(img, 'cat.png.provlog'));
  const tampered = Buffer.from(rc);
  const cpAt = tampered.indexOf(Buffer.from('checkpoint'));
  const proofAt = tampered.indexOf(Buffer.from('proof'));
  assert.ok(proofAt > 0 && cpAt > proofAt);
  const firstHash = proofAt + 'proof'.length + 1 + 2; // array head, then 58 20
  if (firstHash + 32 <= cpAt) tampered[firstHash]! ^= 1;
  else tampered[tampered.indexOf(Buffer.from('index')) + 5]! ^= 1; // single-entry tree: no proof hashes; change the index
  const tdir = join(work, 'tampered');
  mkdirSync(tdir);
  writeFileSync(join(tdir, 'cat.png.provlog'), tampered);
  copyFileSync(join(img, 'cat.png'), join(tdir, 'cat.png'));
  files = { cat: join(img, 'cat.png'), dog: join(img, 'dog.png'), catModified: modified, catReceipt: join(img, 'cat.png.provlog'), catTlog: join(img, 'cat.png.tlog-proof'), catReceiptTampered: join(tdir, 'cat.png.provlog') };
  ({ server: proxy, base: proxyBase } = await startProxy(() => base));
  // The second log: a verifiable index, no witness.
  vserverProc = spawn(join(BIN, 'provlog-server'), ['--data', join(work, 'vdata'), '--listen', '127.0.0.1:0', '--verifiable-index'], { stdio: ['ignore', 'pipe', 'pipe'] });
  vserverProc.stderr!.on('data', (d: Buffer) => appendFileSync(join(work, 'vserver.log'), d));
  const vm = await waitForLine(vserverProc, /listening on (http:\/\/127\.0\.0\.1:\d+)\n(?:.*\n)*?vkey (\S+)\n/);
  vbase = vm[1]!;
  vlogVkey = vm[2]!;
  const vimg = join(work, 'vimages');
  mkdirSync(vimg);
  copyFileSync(files.cat, join(vimg, 'cat.png'));
  writeFileSync(join(vimg, 'bird.png'), png(80, 48, 170));
  run('submit', '--log', vbase, '--key', join(work, 'vendor.key'), '--log-key', vlogVkey, '--generator', 'Example AI/imagegen/2.1', '--disclosure', 'label', '--consent', 'not_applicable', vimg);
  ({ server: vproxy, base: vproxyBase } = await startProxy(() => vbase));
  ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'provlog-chromium-')), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1100, height: 900 } });
  ctx.on('request', (r) => requests.push(r.url()));
  ctx.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
});

after(async () => {
  await ctx?.close();
  proxy?.close();
  vproxy?.close();
  await stop(vserverProc);
  await stop(serverProc);
  await stop(monitorProc);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function open(url: string, width = 1100): Promise<Page> {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await page.setViewportSize({ width, height: 900 });
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

async function verdict(page: Page, files: string[]): Promise<{ text: string; cls: string }> {
  await page.evaluate(() => document.getElementById('result')?.replaceChildren());
  await page.setInputFiles('#file', files);
  const v = page.locator('#result .verdict');
  await v.waitFor();
  return { text: (await v.innerText()).replace(/\s+/g, ' '), cls: (await v.getAttribute('class')) ?? '' };
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

test('a registered file shows VERIFIED with its vendor, generator, source type and entry', async () => {
  const page = await open(`${base}/`);
  const v = await verdict(page, [files.cat]);
  assert.match(v.cls, /\bok\b/);
  assert.match(v.text, /VERIFIED cat\.png is registered in the log/);
  assert.match(v.text, /imagegen\.example\+[0-9a-f]{8}\+/);
  assert.match(v.text, /Example AI \/ imagegen 2\.1/);
  assert.match(v.text, /trainedAlgorithmicMedia/);
  assert.match(v.text, /a visible label on the content; a C2PA manifest/);
  assert.match(v.text, /not applicable: no real person is depicted/);
  assert.match(v.text, /image\/png/);
  assert.match(v.text, /Checked under the key this server reports \(not pinned\)/);
  assert.ok(v.text.includes(logVkey), 'the verdict names the key it is under');
  // Focus moves to the verdict for keyboard and screen-reader users.
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('verdict-title')), true);
  await shoot(page, 'desktop-verified');
  // The README's picture (verifier/screenshot.png is a copy of this one).
  await page.setViewportSize({ width: 760, height: 900 });
  await shoot(page, 'readme');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-verified');
  // No horizontal scrolling on a phone.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits a 390 px screen');
  await page.close();
});

test('a modified file is not verified', async () => {
  const page = await open(`${base}/`);
  const v = await verdict(page, [files.catModified]);
  assert.doesNotMatch(v.text, /VERIFIED/);
  assert.match(v.text, /NO CLAIM FOUND/);
  await shoot(page, 'desktop-not-found');
  await page.close();
});

test('a file with its receipt is verified offline, without any request', async () => {
  const page = await open(`${base}/`);
  for (const receipt of [files.catReceipt, files.catTlog]) {
    const before = requests.length;
    const v = await verdict(page, [files.cat, receipt]);
    assert.match(v.text, /VERIFIED cat\.png is registered in the log/);
    assert.match(v.text, /no request was made/);
    assert.deepEqual(requests.slice(before), [], 'no request while verifying a receipt');
  }
  // The receipt against another file fails at the asset check, still offline.
  const before = requests.length;
  const v = await verdict(page, [files.dog, files.catReceipt]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the file's SHA-256/);
  assert.deepEqual(requests.slice(before), []);
  await page.close();
});

test('a tampered receipt fails and names the check', async () => {
  const page = await open(`${base}/`);
  const v = await verdict(page, [files.cat, files.catReceiptTampered]);
  assert.match(v.cls, /\bfail\b/);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the inclusion proof/);
  await shoot(page, 'desktop-tampered-receipt');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-tampered-receipt');
  await page.close();
});

test('answers a proxy tampers with fail, naming the check', async () => {
  const page = await open(`${proxyBase}/`);
  tamper = 'lookup-proof';
  let v = await verdict(page, [files.dog]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the inclusion proof/);
  tamper = 'checkpoint-sig';
  v = await verdict(page, [files.dog]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the log's signature on its checkpoint/);
  await shoot(page, 'desktop-tampered-proxy');
  tamper = 'none';
  v = await verdict(page, [files.dog]);
  assert.match(v.text, /VERIFIED dog\.png/);
  await page.close();
});

test('the entry page shows the claim and its proof, verified; the log key and witnesses are shown', async () => {
  const page = await open(`${base}/entry/1`);
  const v = page.locator('#result .verdict');
  await v.waitFor();
  const text = (await v.innerText()).replace(/\s+/g, ' ');
  assert.match(text, /VERIFIED Entry #1/);
  assert.match(text, /imagegen\.example/);
  assert.match(text, /Witnesses/);
  assert.ok((await page.locator('#trust').innerText()).includes(logVkey));
  await page.locator('details summary').click();
  assert.match(await page.locator('details').innerText(), /Inclusion proof \(1 hash,/);
  await shoot(page, 'desktop-entry');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-entry');
  // An index beyond the tree says so; a non-canonical one is not a page.
  const p2 = await open(`${base}/entry/99`);
  await p2.locator('#result .verdict').waitFor();
  assert.match(await p2.locator('#result').innerText(), /not in the log/);
  const r = await fetch(`${base}/entry/007`);
  assert.equal(r.status, 404);
  await page.close();
  await p2.close();
});

test('pinning: the verdict says which key it is under, and a wrong pinned key fails', async () => {
  const page = await open(`${base}/`);
  await page.click('#pin-server');
  assert.match(await page.locator('#trust').innerText(), /Pinned in this browser/);
  let v = await verdict(page, [files.cat]);
  assert.match(v.text, /Checked under the log key you pinned/);
  assert.ok(v.text.includes(logVkey));
  // Pin another log's key (same name, different key): the log's checkpoints no longer verify.
  const other = execFileSync(join(BIN, 'provlog'), ['keygen', '--out', join(work, 'other.key'), '--name', logVkey.split('+')[0]!], { encoding: 'utf8' }).trim().split('\n').pop()!;
  await page.getByRole('button', { name: 'Change' }).click();
  await page.fill('#pin-text', other);
  await page.getByRole('button', { name: 'Pin', exact: true }).click();
  assert.match(await page.locator('#trust').innerText(), /This server reports a different key/);
  v = await verdict(page, [files.cat]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the log's signature on its checkpoint/);
  await shoot(page, 'desktop-wrong-pin');
  // A malformed pin is refused with a reason.
  await page.getByRole('button', { name: 'Change' }).click();
  await page.fill('#pin-text', 'not a key');
  await page.getByRole('button', { name: 'Pin', exact: true }).click();
  assert.match(await page.locator('#pin-error').innerText(), /Not pinned/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Unpin' }).click();
  assert.match(await page.locator('#trust').innerText(), /Not pinned/);
  await page.close();
});

test('witnesses: the cosignature is shown; a pinned policy that requires it verifies, one that requires more fails at the quorum', async () => {
  const page = await open(`${base}/`);
  let v = await verdict(page, [files.cat]);
  assert.match(v.text, /VERIFIED/);
  assert.match(v.text, /Witnesses \(keys this server reports\) witness-a\.example: cosigned at/);
  assert.ok((await page.locator('#trust').innerText()).includes(witnessVkey), 'the witness keys the server reports are shown');
  const pin = async (text: string): Promise<void> => {
    await page.getByRole('button', { name: /Pin another key or policy|Change/ }).click();
    await page.fill('#pin-text', text);
    await page.getByRole('button', { name: 'Pin', exact: true }).click();
  };
  await pin(`log ${logVkey}\nwitness wa ${witnessVkey}\nquorum wa\n`);
  assert.match(await page.locator('#trust').innerText(), /quorum "wa"/);
  v = await verdict(page, [files.cat]);
  assert.match(v.text, /VERIFIED/);
  assert.match(v.text, /with witness quorum "wa"/);
  assert.match(v.text, /Witnesses \(required by your policy\) wa: cosigned at/);
  v = await verdict(page, [files.cat, files.catReceipt]);
  assert.match(v.text, /VERIFIED cat\.png.*no request was made/);
  await shoot(page, 'desktop-witness-policy');
  const wb = formatVkey('witness-b.example', 4, ed25519.getPublicKey(new Uint8Array(32).fill(77)));
  await pin(`log ${logVkey}\nwitness wa ${witnessVkey}\nwitness wb ${wb}\ngroup both all wa wb\nquorum both\n`);
  v = await verdict(page, [files.cat]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the witness cosignatures the policy requires/);
  assert.match(v.text, /quorum both not met: cosigned by wa/);
  await page.getByRole('button', { name: 'Unpin' }).click();
  await page.close();
});

test('keyboard: the skip link, the file chooser and the pin buttons are reachable with Tab', async () => {
  const page = await open(`${base}/`);
  const seen: string[] = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return a ? `${a.tagName.toLowerCase()}#${a.id}:${(a.textContent ?? '').trim().slice(0, 30)}` : '';
    }));
  }
  assert.ok(seen.some((s) => s.startsWith('a#:Skip to the verifier')), seen.join(' | '));
  assert.ok(seen.some((s) => s.startsWith('input#file')), seen.join(' | '));
  assert.ok(seen.some((s) => s.startsWith('button#pin-server')), seen.join(' | '));
  // Every form control has an accessible name.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, textarea, button')].filter((el) => {
    const id = el.id;
    const label = id ? document.querySelector(`label[for="${id}"]`) : null;
    return !(label || el.getAttribute('aria-label') || (el.textContent ?? '').trim());
  }).length);
  assert.equal(unnamed, 0);
  await page.close();
});

test('a log with a verifiable index: a registered file is VERIFIED and complete, with its vendor', async () => {
  const page = await open(`${vbase}/`);
  const before = requests.length;
  const v = await verdict(page, [files.cat]);
  assert.match(v.cls, /\bok\b/);
  assert.match(v.text, /VERIFIED cat\.png is registered in the log/);
  const m = /complete: these are all the claims for this file as of checkpoint (\d+)\./.exec(v.text);
  assert.ok(m, v.text);
  vTreeSize = Number(m[1]);
  assert.ok(vTreeSize >= 3, `the checkpoint covers the two claims and an index-commit (${vTreeSize})`);
  assert.match(v.text, /imagegen\.example\+[0-9a-f]{8}\+/);
  assert.match(v.text, /Example AI \/ imagegen 2\.1/);
  assert.match(v.text, /a visible label on the content/);
  assert.ok(v.text.includes(vlogVkey), 'the verdict names the key it is under');
  assert.doesNotMatch(v.text, /cannot be proven/);
  // The bundle was asked for, and the legacy answer was not.
  const asked = requests.slice(before).filter((u) => u.includes('/v1/lookup'));
  assert.equal(asked.length, 1, asked.join(' '));
  assert.match(asked[0]!, /\/v1\/lookup\?key=asset%3A[0-9a-f]{64}$/);
  await shoot(page, 'desktop-vindex-complete');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-vindex-complete');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits a 390 px screen');
  await page.close();
});

test('a log with a verifiable index: an unregistered file gets a verified absence, naming the checkpoint', async () => {
  const page = await open(`${vbase}/`);
  const v = await verdict(page, [files.dog]);
  assert.match(v.cls, /\babsent\b/);
  assert.doesNotMatch(v.text, /NO CLAIM FOUND|COULD NOT VERIFY/);
  assert.match(v.text, /VERIFIED no claim for this file as of checkpoint (\d+)/);
  const n = Number(/as of checkpoint (\d+)/.exec(v.text)![1]);
  assert.ok(vTreeSize > 0 && n === vTreeSize, `absence as of checkpoint ${n}, the log's ${vTreeSize}`);
  assert.match(v.text, new RegExp(`none of its first ${n} entries is a claim for dog\\.png`));
  assert.match(v.text, new RegExp(`Checkpoint ${n} entries, root [0-9a-f]{64}`));
  assert.ok(v.text.includes(vlogVkey));
  await shoot(page, 'desktop-vindex-absent');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-vindex-absent');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits a 390 px screen');
  await page.close();
});

test('a log with a verifiable index: a tampered lookup proof is COULD NOT VERIFY, naming the check', async () => {
  const page = await open(`${vproxyBase}/`);
  try {
    tamper = 'bundle-commit-proof';
    let v = await verdict(page, [files.dog]);
    assert.match(v.cls, /\bfail\b/);
    assert.match(v.text, /COULD NOT VERIFY/);
    assert.match(v.text, /Failed check the index-commit's inclusion proof/);
    await shoot(page, 'desktop-vindex-tampered');
    tamper = 'bundle-entry';
    v = await verdict(page, [files.cat]);
    assert.match(v.text, /COULD NOT VERIFY/);
    assert.match(v.text, /Failed check a listed claim's inclusion proof/);
    tamper = 'none';
    v = await verdict(page, [files.cat]);
    assert.match(v.text, /VERIFIED cat\.png.*complete: these are all the claims/);
  } finally {
    tamper = 'none';
  }
  await page.close();
});

test('a log without a verifiable index: the page falls back to the legacy answer and says completeness cannot be proven', async () => {
  const page = await open(`${base}/`);
  let v = await verdict(page, [files.cat]);
  assert.match(v.text, /VERIFIED cat\.png is registered in the log/);
  assert.match(v.text, /Completeness cannot be proven on this log: this log does not keep a verifiable index/);
  assert.doesNotMatch(v.text, /complete: these are all/);
  v = await verdict(page, [files.catModified]);
  assert.match(v.text, /NO CLAIM FOUND/);
  assert.match(v.text, /not a proof\. Completeness cannot be proven on this log/);
  await shoot(page, 'desktop-fallback-not-found');
  await page.close();
});

test('the page is served with a strict CSP and makes no request to any other origin', async () => {
  for (const path of ['/', '/entry/0', '/assets/app.js', '/assets/app.css']) {
    const r = await fetch(`${base}${path}`, { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200, path);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/, path);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe/);
  }
  const plain = await fetch(`${base}/`, { headers: { accept: '*/*' } });
  assert.match(plain.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(await plain.text(), /GET {2}\/checkpoint/);
  assert.ok(requests.length > 10, `requests were recorded (${requests.length})`);
  const foreign = requests.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith(`${proxyBase}/`) && !u.startsWith(`${vbase}/`) && !u.startsWith(`${vproxyBase}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Trusted Type|pageerror/i.test(e)), []);
});
