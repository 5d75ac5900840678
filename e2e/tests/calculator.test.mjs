// The calculator page in headless Chromium, against the real server, served by
// the real `trunk serve`. Screenshots land in e2e/artifacts/.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, calculate, freePort, openPage, useLab } from '../lib/lab.mjs';

const PROXY_PREFIX = '/e2e-rpc';

const lab = useLab({ proxyPrefix: PROXY_PREFIX });

/** The four operations and the contract's errors, as the page must show them. */
async function checkCalculator(page) {
  for (const [operation, a, b, expected] of [
    ['Add', 2, 3, '5'],
    ['Subtract', 2, 3.5, '-1.5'],
    ['Multiply', -4, 2.5, '-10'],
    ['Divide', 7, 2, '3.5'],
  ]) {
    const shown = await calculate(page, operation, a, b);
    assert.equal(shown.outcome, 'ok', `${operation}(${a}, ${b}): ${shown.text}`);
    assert.equal(shown.value, expected, `${operation}(${a}, ${b})`);
    assert.match(shown.text, /took \d+\.\d ms/, 'the duration of the call is shown');
  }

  const byZero = await calculate(page, 'Divide', 1, 0);
  assert.equal(byZero.outcome, 'error');
  assert.equal(byZero.code, 'INVALID_ARGUMENT');
  assert.match(byZero.text, /division by zero/);
  assert.match(byZero.text, /What it means:.*change the input/s, 'the error is explained');

  const nan = await calculate(page, 'Add', 'NaN', 1);
  assert.equal(nan.code, 'INVALID_ARGUMENT');
  assert.match(nan.text, /operand a is NaN/);

  const overflow = await calculate(page, 'Multiply', '1e308', 10);
  assert.equal(overflow.code, 'OUT_OF_RANGE');
  assert.match(overflow.text, /overflows/);

  // The page is still usable after errors.
  assert.equal((await calculate(page, 'Add', 1, 1)).value, '2');
}

describe('the calculator page', () => {
  it('works on its own origin through trunk serve’s proxy', async () => {
    const url = `${lab.trunk.origin}/?server=${encodeURIComponent(lab.trunk.origin + PROXY_PREFIX)}`;
    const { page, problems } = await openPage(lab.browser.context, url);
    await checkCalculator(page);
    await page.fill('#operand-a', '6');
    await page.fill('#operand-b', '0');
    await calculate(page, 'Divide', 6, 0);
    await page.screenshot({ path: join(ARTIFACTS, 'calculator-divide-by-zero.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('works cross-origin with ?server= (CORS in a real browser)', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
    assert.equal(await page.getAttribute('[data-testid="server"]', 'data-server'), lab.server.url);
    await checkCalculator(page);
    await page.screenshot({ path: join(ARTIFACTS, 'calculator-cross-origin.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('explains an unusable ?server= and falls back to its own origin', async () => {
    const { page } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=localhost:50051`);
    const warning = await page.innerText('[data-testid="server"] .warning');
    assert.match(warning, /must start with http:\/\//);
    assert.equal(await page.getAttribute('[data-testid="server"]', 'data-server'), `${lab.trunk.origin}/rpc`);
    await page.close();
  });

  it('refuses operands that are not numbers before calling, and says why', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
    await page.fill('#operand-a', 'six');
    assert.match(await page.innerText('[data-testid="input-error"]'), /“six” is not a number/);
    assert.equal(await page.isDisabled('button[data-operation="Add"]'), true);
    await page.fill('#operand-a', '6');
    assert.equal(await page.isDisabled('button[data-operation="Add"]'), false);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('explains a server that is not running instead of crashing', async () => {
    const closedPort = await freePort();
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=http://127.0.0.1:${closedPort}`);
    const shown = await calculate(page, 'Add', 1, 2);
    assert.equal(shown.outcome, 'error');
    assert.equal(shown.code, 'UNKNOWN');
    assert.match(shown.text, /server is not running/);
    await page.screenshot({ path: join(ARTIFACTS, 'calculator-server-down.png'), fullPage: true });
    // The browser itself logs the refused connection; nothing else may go wrong.
    assert.ok(problems.every((p) => /ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), problems.join('\n'));
    await page.close();
  });
});
