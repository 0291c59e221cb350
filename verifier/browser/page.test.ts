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
import { createHash } from 'node:crypto';
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
let tamper: 'none' | 'lookup-proof' | 'checkpoint-sig' | 'bundle-commit-proof' | 'bundle-entry' | 'similar-entry' = 'none';
// The second log, started with --verifiable-index (lookup-proof bundles), and a tampering proxy to it.
let vserverProc: ChildProcess;
let vbase: string;
let vlogVkey: string;
let vproxy: http.Server;
let vproxyBase: string;
let vTreeSize = 0;
let ctx: BrowserContext;
const requests: string[] = [];
/** Every request as "METHOD url", for the uploads find similar makes. */
const methods: string[] = [];
const consoleErrors: string[] = [];
let files: { cat: string; dog: string; catModified: string; catReceipt: string; catTlog: string; catReceiptTampered: string };
// Made with chromium (canvas) and registered on the second log: a picture, a resized JPEG copy of it, and (with
// c2pa-python) a JPEG and a PNG signed with C2PA whose receipts `provlog submit --embed` put in their manifests.
let pics: { sunset: string; sunsetSmall: string; embeddedJpg?: string; embeddedPng?: string; embeddedTampered?: string; embeddedAltered?: string };
let sunsetSha = '';
/** Why the C2PA fixtures could not be made (c2pa-python missing), else null. */
let noC2pa: string | null = null;

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
        if (tamper === 'similar-entry' && req.url?.startsWith('/matches/byContent') && ur.statusCode === 200) {
          // Flip one bit in the middle of the first match's signed claim.
          const j = JSON.parse(body.toString()) as { matches: { entry: string }[] };
          const e = Buffer.from(j.matches[0]!.entry, 'base64');
          e[Math.floor(e.length / 2)]! ^= 1;
          j.matches[0]!.entry = e.toString('base64');
          body = Buffer.from(JSON.stringify(j));
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
  ctx.on('request', (r) => {
    requests.push(r.url());
    methods.push(`${r.method()} ${r.url()}`);
  });
  ctx.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  await makeC2paFixtures(run);
});

/** Pictures drawn in chromium: a seeded pattern with a disc; returned as base64 PNG/JPEG, and a resized JPEG copy. */
async function drawPictures(): Promise<Record<'sunset' | 'sunsetSmall' | 'photoJpg' | 'photoPng', Buffer>> {
  const page = await ctx.newPage();
  const out = await page.evaluate(async () => {
    const paint = (w: number, hh: number, seed: number): OffscreenCanvas => {
      const c = new OffscreenCanvas(w, hh);
      const g = c.getContext('2d')!;
      const img = g.createImageData(w, hh);
      for (let y = 0; y < hh; y++) {
        for (let x = 0; x < w; x++) {
          const fx = x / w;
          const fy = y / hh;
          const cx = fx - 0.5 - 0.2 * Math.sin(seed);
          const cy = fy - 0.5;
          const o = 4 * (y * w + x);
          img.data[o] = 128 + 127 * Math.sin(6 * fx + seed);
          img.data[o + 1] = 128 + 127 * Math.cos(5 * fy + 2 * seed);
          img.data[o + 2] = cx * cx + cy * cy < 0.05 ? 240 : fx * fy * 255;
          img.data[o + 3] = 255;
        }
      }
      g.putImageData(img, 0, 0);
      return c;
    };
    const b64 = async (b: Blob): Promise<string> => {
      const a = new Uint8Array(await b.arrayBuffer());
      let s = '';
      for (let i = 0; i < a.length; i += 0x8000) s += String.fromCharCode(...a.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const sunset = paint(480, 320, 3);
    const small = new OffscreenCanvas(336, 224);
    small.getContext('2d')!.drawImage(sunset, 0, 0, 336, 224);
    return {
      sunset: await b64(await sunset.convertToBlob({ type: 'image/png' })),
      sunsetSmall: await b64(await small.convertToBlob({ type: 'image/jpeg', quality: 0.7 })),
      photoJpg: await b64(await paint(400, 300, 7).convertToBlob({ type: 'image/jpeg', quality: 0.9 })),
      photoPng: await b64(await paint(320, 240, 9).convertToBlob({ type: 'image/png' })),
    };
  });
  await page.close();
  return { sunset: Buffer.from(out.sunset, 'base64'), sunsetSmall: Buffer.from(out.sunsetSmall, 'base64'), photoJpg: Buffer.from(out.photoJpg, 'base64'), photoPng: Buffer.from(out.photoPng, 'base64') };
}

/** Registers the pictures on the second log; with c2pa-python, C2PA-signs two and embeds their receipts. */
async function makeC2paFixtures(run: (...args: string[]) => string): Promise<void> {
  const d = await drawPictures();
  const dir = join(work, 'pics');
  mkdirSync(join(dir, 'plain'), { recursive: true });
  mkdirSync(join(dir, 'c2pa'), { recursive: true });
  writeFileSync(join(dir, 'plain', 'sunset.png'), d.sunset);
  writeFileSync(join(dir, 'sunset-small.jpg'), d.sunsetSmall);
  sunsetSha = createHash('sha256').update(d.sunset).digest('hex');
  run('submit', '--log', vbase, '--key', join(work, 'vendor.key'), '--log-key', vlogVkey, '--generator', 'Example AI/imagegen/2.1', '--disclosure', 'label', '--consent', 'not_applicable', join(dir, 'plain'));
  pics = { sunset: join(dir, 'plain', 'sunset.png'), sunsetSmall: join(dir, 'sunset-small.jpg') };
  const py = process.env.PYTHON ?? 'python3';
  try {
    execFileSync(py, ['-c', 'import c2pa'], { stdio: 'ignore' });
  } catch {
    noC2pa = 'c2pa-python is not installed (pip install c2pa-python): the embedded-receipt fixtures need a C2PA-signed file';
    return;
  }
  const tools = join(REPO_DIR, 'c2pa', 'tests', 'python');
  execFileSync(py, [join(tools, 'make_test_credential.py'), join(dir, 'cred')], { stdio: 'ignore' });
  for (const [name, bytes] of [['photo.jpg', d.photoJpg], ['photo.png', d.photoPng]] as const) {
    writeFileSync(join(dir, `plain-${name}`), bytes);
    execFileSync(py, [join(tools, 'c2pa_tool.py'), 'sign', join(dir, `plain-${name}`), join(dir, 'c2pa', name), '--cert', join(dir, 'cred', 'chain.pem'), '--key', join(dir, 'cred', 'key.pem')], { stdio: 'ignore' });
  }
  run('submit', '--log', vbase, '--key', join(work, 'vendor.key'), '--log-key', vlogVkey, '--consent', 'not_applicable', '--embed', '--c2pa-cert', join(dir, 'cred', 'chain.pem'), '--c2pa-key', join(dir, 'cred', 'key.pem'), join(dir, 'c2pa'));
  const jpg = readFileSync(join(dir, 'c2pa', 'photo.jpg'));
  assert.ok(!existsSync(join(dir, 'c2pa', 'photo.jpg.provlog')), 'the receipt is embedded, not a sidecar');
  // One bit of the embedded receipt's first inclusion-proof hash flipped: the JUMBF
  // boxes stay well formed (APP11 segments have no checksum), the proof does not verify.
  const tampered = Buffer.from(jpg);
  const at = tampered.indexOf(Buffer.from('org.provlog.receipt'));
  const proofKey = tampered.indexOf(Buffer.concat([Buffer.from([0x65]), Buffer.from('proof')]), at);
  assert.ok(at > 0 && proofKey > at, 'the receipt assertion and its proof are in the file');
  assert.equal(tampered[proofKey + 7], 0x58);
  tampered[proofKey + 9]! ^= 1; // key, array head, 58 20, then the hash
  mkdirSync(join(dir, 'tampered'));
  writeFileSync(join(dir, 'tampered', 'photo.jpg'), tampered);
  // The content changed after embedding: a byte of the image data near the end.
  const altered = Buffer.from(jpg);
  altered[altered.length - 20]! ^= 0x5a;
  mkdirSync(join(dir, 'altered'));
  writeFileSync(join(dir, 'altered', 'photo.jpg'), altered);
  pics = { ...pics, embeddedJpg: join(dir, 'c2pa', 'photo.jpg'), embeddedPng: join(dir, 'c2pa', 'photo.png'), embeddedTampered: join(dir, 'tampered', 'photo.jpg'), embeddedAltered: join(dir, 'altered', 'photo.jpg') };
}

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

test('find similar: the notice comes first, the image is uploaded only on the click, and a resized copy gets a verified match', async () => {
  const page = await open(`${vbase}/`);
  const before = methods.length;
  // The exact lookup first (only the SHA-256 leaves the browser): the resized copy is not registered.
  const v = await verdict(page, [pics.sunsetSmall]);
  assert.match(v.text, /VERIFIED no claim for this file/);
  const panel = page.locator('#similar');
  await panel.waitFor();
  const notice = (await page.locator('#similar-notice').innerText()).replace(/\s+/g, ' ');
  assert.match(notice, /This one uploads the image\./);
  assert.match(notice, /sends the whole image \(\d+ bytes\) to this log at 127\.0\.0\.1:\d+/);
  assert.match(notice, /sends at most its SHA-256/);
  assert.match(notice, /Nothing is sent until you click the button/);
  const uploads = (): string[] => methods.slice(before).filter((m) => m.includes('/matches/'));
  assert.deepEqual(uploads(), [], 'nothing is uploaded before the click');
  assert.ok(methods.slice(before).every((m) => m.startsWith('GET ')), methods.slice(before).join('\n'));
  await shoot(page, 'desktop-similar-notice');
  await page.click('#similar-go');
  const r = page.locator('#similar-result .verdict');
  await r.waitFor();
  const text = (await r.innerText()).replace(/\s+/g, ' ');
  assert.deepEqual(uploads(), [`POST ${vbase}/matches/byContent?maxResults=10`], 'one upload, to the log the page came from');
  assert.match(await r.getAttribute('class') ?? '', /\bok\b/);
  assert.match(text, /VERIFIED \d+ similar images? in the log/);
  assert.match(text, /A near match is a perceptual similarity, not proof that it is the same file/);
  assert.match(text, /signed by its vendor and proved included in the log's signed checkpoint/);
  // The registered original is among the matches, at a small distance, shown with its claim.
  assert.ok(text.includes(sunsetSha), `the original's claim is shown: ${text}`);
  const m = new RegExp(`Match \\d+: entry #\\d+, distance (\\d+) of 40(?:(?!Match \\d+:)[^])*SHA-256 ${sunsetSha}`).exec(text);
  assert.ok(m && Number(m[1]) <= 8, text);
  assert.match(text, /imagegen\.example\+[0-9a-f]{8}\+/);
  await shoot(page, 'desktop-similar');
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone-similar');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits a 390 px screen');
  await page.close();
});

test('find similar: a tampered match is not shown as verified', async () => {
  const page = await open(`${vproxyBase}/`);
  try {
    await verdict(page, [pics.sunsetSmall]);
    tamper = 'similar-entry';
    await page.click('#similar-go');
    const r = page.locator('#similar-result .verdict');
    await r.waitFor();
    const text = (await r.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /COULD NOT VERIFY/);
    assert.match(text, /Failed check (the inclusion proof|the vendor's signature on the claim|the signed claim('s encoding)?)/);
    assert.doesNotMatch(text, /VERIFIED/);
  } finally {
    tamper = 'none';
  }
  await page.close();
});

test('a JPEG and a PNG with the receipt embedded in their C2PA manifest are VERIFIED offline, without any request', async (t) => {
  if (noC2pa) return t.skip(noC2pa);
  const page = await open(`${vbase}/`);
  for (const f of [pics.embeddedJpg!, pics.embeddedPng!]) {
    const before = requests.length;
    const v = await verdict(page, [f]);
    assert.match(v.cls, /\bok\b/, v.text);
    assert.match(v.text, /VERIFIED photo\.(jpg|png) is registered in the log/);
    assert.match(v.text, /Checked offline with the receipt embedded in its C2PA manifest store \(manifest urn:c2pa:[0-9a-f-]+\) \(provlog receipt\): no request was made/);
    assert.match(v.text, /Matched by the claim's C2PA hard binding: the file's bytes outside its C2PA manifest store hash to the sha256 hash the vendor logged/);
    assert.match(v.text, /Not checked here: the C2PA signatures/);
    assert.match(v.text, /C2PA manifest urn:c2pa:/);
    assert.match(v.text, /Example AI \/ c2pa-python-test-producer 1\.0/);
    assert.ok(v.text.includes(vlogVkey));
    assert.deepEqual(requests.slice(before), [], 'no request while verifying an embedded receipt');
    if (f.endsWith('.jpg')) await shoot(page, 'desktop-embedded-verified');
  }
  await page.close();
});

test('an embedded receipt that was tampered with, or a file altered after embedding, fails naming the check', async (t) => {
  if (noC2pa) return t.skip(noC2pa);
  const page = await open(`${vbase}/`);
  let before = requests.length;
  let v = await verdict(page, [pics.embeddedTampered!]);
  assert.match(v.cls, /\bfail\b/);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /COULD NOT VERIFY for photo\.jpg \(the receipt embedded in its C2PA manifest store\)/);
  assert.match(v.text, /Failed check the inclusion proof/);
  assert.deepEqual(requests.slice(before), []);
  await shoot(page, 'desktop-embedded-tampered');
  before = requests.length;
  v = await verdict(page, [pics.embeddedAltered!]);
  assert.match(v.text, /COULD NOT VERIFY/);
  assert.match(v.text, /Failed check the file's SHA-256/);
  assert.match(v.text, /do not hash to the logged sha256 hard binding/);
  assert.deepEqual(requests.slice(before), []);
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
