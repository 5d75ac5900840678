// The lab server serving its own page (`--page DIR`, as `./lab class` runs
// it): building the release page into a directory, and starting the server
// on it. Shared by the browser test (tests/page.test.mjs) and the page-load
// benchmark (bench/page-load.mjs). Every process is started here, by PID,
// and stopped by the caller through the returned `stop`.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './lab.mjs';

const SERVER_BIN =
  process.env.LAB_SERVER_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(REPO, 'target'), 'debug', 'rpc-lab-server');

/** A fresh directory under target/ (so a test never serves an older build). */
export function freshDist(name) {
  mkdirSync(join(REPO, 'target'), { recursive: true });
  return mkdtempSync(join(REPO, 'target', `${name}-`));
}

/**
 * `trunk build --release --offline --dist DIR`: the page `./lab class` serves.
 * Cargo's wasm-release build is shared with `trunk serve --release`, so after
 * the other browser tests this only re-runs wasm-bindgen (seconds).
 */
export function buildPage(dist) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('trunk', ['build', '--release', '--offline', '--dist', dist], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Trunk reads NO_COLOR as true|false; an inherited NO_COLOR=1 would stop it.
      env: { ...process.env, NO_COLOR: 'true' },
    });
    let log = '';
    child.stdout.on('data', (c) => (log += c));
    child.stderr.on('data', (c) => (log += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`trunk build exited with ${code}:\n${log}`))));
  });
}

/** The page's files and their sizes on disk. */
export function pageFiles(dist) {
  return readdirSync(dist)
    .filter((name) => statSync(join(dist, name)).isFile())
    .map((name) => ({ name, bytes: statSync(join(dist, name)).size }));
}

/** The lab server with `--page dist` on 127.0.0.1 and a port the OS picks. */
export async function startServerWithPage(dist, extraArgs = []) {
  const child = spawn(SERVER_BIN, ['--listen', '127.0.0.1:0', '--page', dist, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  // The server logs this line once every file's compressed forms are made.
  let onCompressed;
  const compressed = new Promise((r) => (onCompressed = r));
  child.stderr.on('data', (c) => {
    log += c; // logs; keep the pipe drained
    if (log.includes('the page is compressed')) onCompressed();
  });
  const url = await new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`rpc-lab-server did not start in 30 s:\n${seen}${log}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rpc-lab-server exited with ${code}:\n${seen}${log}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killed);
  };
  return { url, stop, log: () => log, compressed };
}

/**
 * Waits until the server sends `file` in `encoding` to a client that accepts
 * it: the server compresses in the background after start (gzip in seconds,
 * brotli in about 2 s in a release build, up to a minute in a debug build).
 */
export async function waitForEncoding(url, file, encoding, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/${file}`, { method: 'HEAD', headers: { 'accept-encoding': encoding } });
    if (response.headers.get('content-encoding') === encoding) return;
    if (Date.now() > deadline) throw new Error(`${file} was not served as ${encoding} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
