// Starting the real pieces for a browser test: the lab server, `trunk serve`
// and headless Chromium. Every process is started here, by PID, and stopped
// here; nothing is left running when a test file ends.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO, 'e2e', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const SERVER_BIN =
  process.env.LAB_SERVER_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(REPO, 'target'), 'debug', 'rpc-lab-server');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Waits for `pattern` in a child's output; rejects if it exits first or time runs out. */
function waitForOutput(child, stream, pattern, what, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    stream.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before printing ${pattern}:\n${seen}`));
    });
  });
}

/** Stops a child (and its process group, if it leads one) and waits for it. */
async function stop(child, group) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(group ? -child.pid : child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const killed = setTimeout(() => {
    try {
      process.kill(group ? -child.pid : child.pid, 'SIGKILL');
    } catch {}
  }, 5000);
  await exited;
  clearTimeout(killed);
}

/** The lab server on 127.0.0.1 with a port the OS picks. */
export async function startServer() {
  const child = spawn(SERVER_BIN, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', () => {}); // logs; keep the pipe drained
  const [, url] = await waitForOutput(child, child.stdout, /listening on (http:\/\/\S+)/, 'rpc-lab-server', 30_000);
  return { url, stop: () => stop(child, false) };
}

/** A port that was free a moment ago (Trunk cannot report a port it chose itself). */
export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePromise(port));
    });
  });
}

/**
 * Trunk.toml as it is, but with its /rpc route forwarding to `serverUrl`
 * instead of :50051, in a directory of its own under target/ (Trunk reads
 * paths relative to its config, so the page's is made absolute). Returns
 * the config's path.
 */
function trunkConfigFor(serverUrl) {
  const dir = mkdtempSync(join(REPO, 'target', 'e2e-trunk-'));
  const original = readFileSync(join(REPO, 'Trunk.toml'), 'utf8');
  const config = original
    .replace('target = "web/index.html"', `target = ${JSON.stringify(join(REPO, 'web', 'index.html'))}`)
    .replace('backend = "http://127.0.0.1:50051"', `backend = ${JSON.stringify(serverUrl)}`);
  if (config === original || !config.includes(serverUrl)) throw new Error('Trunk.toml no longer has the lines this test rewrites');
  writeFileSync(join(dir, 'Trunk.toml'), config);
  return join(dir, 'Trunk.toml');
}

/**
 * `trunk serve` for the real page, with an extra proxy route `prefix` that
 * forwards to `serverUrl` exactly as Trunk.toml's /rpc route forwards to
 * :50051 — so a test can use Trunk's proxy without the fixed port. Without
 * a `prefix`, Trunk.toml's own /rpc route forwards to `serverUrl`: the page
 * then needs no `?server=`, as under `./lab run`.
 */
export async function startTrunk({ serverUrl, prefix }) {
  const port = await freePort();
  // A fresh output directory: Trunk serves what is in its dist directory
  // while it rebuilds, so a reused one would show the last build's page —
  // a test of old code that looks like a test of the new.
  mkdirSync(join(REPO, 'target'), { recursive: true });
  const dist = mkdtempSync(join(REPO, 'target', 'e2e-dist-'));
  const route = prefix
    ? [`--proxy-backend=${serverUrl}`, `--proxy-rewrite=${prefix}`]
    : ['--config', trunkConfigFor(serverUrl)];
  const child = spawn(
    'trunk',
    [
      'serve',
      // The page a student gets from `./lab run`: the size-optimised release
      // build, so render times measured here are the real ones.
      '--release',
      '--offline',
      '--no-autoreload',
      '--address', '127.0.0.1',
      '--port', String(port),
      ...route,
      '--dist', dist,
    ],
    // Trunk reads NO_COLOR as true|false; an inherited NO_COLOR=1 would stop it.
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: 'true' } },
  );
  let log = '';
  child.stdout.on('data', (c) => (log += c));
  child.stderr.on('data', (c) => (log += c));
  const origin = `http://127.0.0.1:${port}`;
  const stopAndClean = async () => {
    await stop(child, true);
    rmSync(dist, { recursive: true, force: true });
    if (!prefix) rmSync(dirname(route[1]), { recursive: true, force: true });
  };
  // The first serve compiles the page; allow a cold build on a slow machine.
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`trunk serve exited with ${child.exitCode}:\n${log}`);
    try {
      const response = await fetch(`${origin}/`);
      if (response.ok && (await response.text()).includes('.wasm')) break;
    } catch {}
    if (Date.now() > deadline) {
      await stopAndClean();
      throw new Error(`trunk serve did not serve the page in time:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { origin, stop: stopAndClean, log: () => log };
}

/** Headless Chromium, as set up on this machine (Debian's package). */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'rpc-lab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the page and records what a student would not see but a developer
 * must: uncaught errors and console errors.
 */
export async function openPage(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector('button[data-operation="Add"]');
  return { page, problems };
}

/** Types the operands, clicks `operation` and returns what the page shows for that call. */
export async function calculate(page, operation, a, b) {
  const result = page.locator('[data-testid="result"]');
  const previous = Number((await result.getAttribute('data-call-number')) ?? 0);
  await page.fill('#operand-a', String(a));
  await page.fill('#operand-b', String(b));
  await page.click(`button[data-operation="${operation}"]`);
  const shown = page.locator(`[data-testid="result"][data-call-number="${previous + 1}"]`);
  await shown.waitFor({ timeout: 15_000 });
  return {
    outcome: await shown.getAttribute('data-outcome'),
    value: await shown.getAttribute('data-value'),
    code: await shown.getAttribute('data-code'),
    text: await shown.innerText(),
  };
}

/**
 * The lab for one test file: starts the server, `trunk serve` (with an extra
 * proxy route `proxyPrefix` to that server; without one, Trunk.toml's /rpc
 * route goes to it) and the browser before its tests, and stops them after.
 * Use `lab.server`, `lab.trunk`, `lab.browser`.
 */
export function useLab({ proxyPrefix }) {
  const lab = {};
  before(async () => {
    lab.server = await startServer();
    lab.trunk = await startTrunk({ serverUrl: lab.server.url, prefix: proxyPrefix });
    lab.browser = await launchBrowser();
  });
  after(async () => {
    await lab.browser?.close();
    await lab.trunk?.stop();
    await lab.server?.stop();
  });
  return lab;
}

/** The data-* attributes of every element matching `selector`, as numbers where they are numbers. */
export async function rows(page, selector) {
  return page.locator(selector).evaluateAll((elements) =>
    elements.map((e) => {
      const out = {};
      for (const [k, v] of Object.entries(e.dataset)) out[k] = v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
      return out;
    }),
  );
}

/** Moves a slider as dragging it would: a new value and an input event. */
export async function slide(page, id, value) {
  await page.locator(`#field-${id}`).evaluate((input, v) => {
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}
