// The lab server serves the page itself (`--page`, what `./lab class` runs):
// with no `trunk serve` anywhere, headless Chromium opens the release page
// from the lab server, gets it compressed, and a call made through the page
// (the calculator's Add, to /rpc on the page's own origin) is answered by
// that server. A screenshot goes to e2e/artifacts/page-served-by-the-lab.png.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, calculate, launchBrowser } from '../lib/lab.mjs';
import { buildPage, freshDist, pageFiles, startServerWithPage, waitForEncoding } from '../lib/page.mjs';

const lab = {};

before(async () => {
  lab.dist = freshDist('e2e-page');
  await buildPage(lab.dist);
  lab.server = await startServerWithPage(lab.dist);
  lab.browser = await launchBrowser();
});

after(async () => {
  await lab.browser?.close();
  await lab.server?.stop();
  if (lab.dist) rmSync(lab.dist, { recursive: true, force: true });
});

describe('the lab server serves its own page', () => {
  it('opens the release page from the lab server, compressed, and a call through it is answered', async () => {
    // gzip is ready within seconds of the start; brotli may still be on its way.
    const wasm = pageFiles(lab.dist).find((f) => f.name.endsWith('.wasm'));
    await waitForEncoding(lab.server.url, wasm.name, 'gzip');

    const page = await lab.browser.context.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console.error: ${m.text()}`));
    const responses = [];
    page.on('response', (r) => responses.push(r));

    await page.goto(`${lab.server.url}/`);
    await page.waitForSelector('button[data-operation="Add"]');
    const shown = await calculate(page, 'Add', 2, 3);
    assert.equal(shown.outcome, 'ok', shown.text);
    assert.equal(shown.value, '5');

    // Everything came from the lab server's own origin: the page, and the
    // call under /rpc (no Trunk, no ?server=).
    const origin = new URL(lab.server.url).origin;
    const urls = responses.map((r) => r.url());
    assert.ok(urls.every((u) => u.startsWith(origin)), urls.join('\n'));
    const call = responses.find((r) => r.url() === `${origin}/rpc/calculator.v1.Calculator/Add`);
    assert.ok(call, `the Add went to /rpc on the page's origin:\n${urls.join('\n')}`);
    assert.equal(call.status(), 200);
    // And the page says so: no "Trunk forwards the calls" where there is no Trunk.
    const banner = await page.locator('[data-testid="server"]').innerText();
    assert.match(banner, /the lab server serves this page and answers the calls itself/);
    assert.doesNotMatch(banner, /trunk/i);

    // The module came compressed, typed for streaming compilation.
    const module = responses.find((r) => r.url() === `${origin}/${wasm.name}`);
    assert.equal(module.headers()['content-type'], 'application/wasm');
    assert.match(module.headers()['content-encoding'] ?? 'identity', /^(gzip|br)$/);
    assert.match(module.headers()['cache-control'], /immutable/);
    const transferred = (await module.request().sizes()).responseBodySize;
    assert.ok(transferred < wasm.bytes * 0.6, `${transferred} bytes on the wire for a ${wasm.bytes}-byte module`);

    assert.deepEqual(problems, []);
    await page.screenshot({ path: join(ARTIFACTS, 'page-served-by-the-lab.png') });
    await page.close();
  });
});
