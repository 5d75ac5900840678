// The RPC-vs-REST lesson in headless Chromium: both protocols run against
// the real server and both latency distributions are drawn. Screenshot in
// e2e/artifacts/rpc-vs-rest.png.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, useLab } from '../lib/lab.mjs';

const PROXY_PREFIX = '/e2e-rpc';
const CALLS = 40;

const lab = useLab({ proxyPrefix: PROXY_PREFIX });

/** Runs the comparison and returns what the page drew and tabulated. */
async function runComparison(page, { calls, mode }) {
  await page.fill('#comparison-calls', String(calls));
  await page.selectOption('#comparison-mode', mode);
  await page.click('[data-testid="run-comparison"]');
  await page.locator('[data-testid="comparison-results"]').waitFor({ timeout: 60_000 });
  const plots = {};
  for (const protocol of ['gRPC-Web', 'REST/JSON']) {
    const figure = page.locator(`[data-testid="histogram"][data-protocol="${protocol}"]`);
    const bars = await figure.locator('rect.bar').evaluateAll((rects) => rects.map((r) => Number(r.dataset.count)));
    const row = page.locator(`table.numbers tr[data-protocol="${protocol}"]`);
    plots[protocol] = {
      count: Number(await figure.getAttribute('data-count')),
      p50: Number(await figure.getAttribute('data-p50')),
      p99: Number(await figure.getAttribute('data-p99')),
      barTotal: bars.reduce((a, b) => a + b, 0),
      errors: Number(await row.locator('[data-field="errors"]').innerText()),
      requestBytes: Number(await row.locator('[data-field="request-bytes"]').innerText()),
      transferBytes: await row.locator('[data-field="transfer-bytes"]').innerText(),
    };
  }
  return plots;
}

describe('the RPC vs REST lesson', () => {
  it('plots both protocols, one call at a time, cross-origin', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
    const plots = await runComparison(page, { calls: CALLS, mode: '1' });
    for (const [protocol, plot] of Object.entries(plots)) {
      assert.equal(plot.count, CALLS, `${protocol}: every call is counted`);
      assert.equal(plot.barTotal, CALLS, `${protocol}: every call is drawn in a bar`);
      assert.equal(plot.errors, 0, `${protocol}: no errors`);
      assert.ok(plot.p50 > 0 && plot.p99 >= plot.p50, `${protocol}: percentiles ${plot.p50} ≤ ${plot.p99}`);
      // timing-allow-origin lets a page on another origin read the sizes.
      assert.match(plot.transferBytes, /^\d+$/, `${protocol}: response size readable cross-origin`);
    }
    assert.equal(plots['gRPC-Web'].requestBytes, 23, '5-byte frame header + two 9-byte doubles');
    assert.equal(plots['REST/JSON'].requestBytes, 13, '{"a":1,"b":2}');
    await page.locator('[data-testid="rpc-vs-rest"]').screenshot({ path: join(ARTIFACTS, 'rpc-vs-rest.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('runs eight at a time through trunk serve’s proxy', async () => {
    const url = `${lab.trunk.origin}/?server=${encodeURIComponent(lab.trunk.origin + PROXY_PREFIX)}`;
    const { page, problems } = await openPage(lab.browser.context, url);
    const plots = await runComparison(page, { calls: CALLS, mode: '8' });
    for (const [protocol, plot] of Object.entries(plots)) {
      assert.equal(plot.count, CALLS, protocol);
      assert.equal(plot.errors, 0, protocol);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('explains a call count it cannot use', async () => {
    const { page } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
    await page.fill('#comparison-calls', '0');
    assert.match(await page.innerText('[data-testid="rpc-vs-rest"] .input-error'), /whole number from 1 to 5000/);
    assert.equal(await page.isDisabled('[data-testid="run-comparison"]'), true);
    await page.close();
  });
});
