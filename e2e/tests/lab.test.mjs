// The resilience lab's controls in headless Chromium against the real server:
// fault sliders become headers the server obeys, each tab is its own session,
// the event log exports, the keyboard reaches everything, and a run of 1000
// calls keeps the page responsive (render times are written to
// e2e/artifacts/lab-performance.json and reported in the README).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, freePort, openPage, slide, useLab } from '../lib/lab.mjs';

const lab = useLab({ proxyPrefix: '/e2e-lab' });

const open = () => openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);

/** Chooses an operation and types its inputs. */
async function choose(page, operation, inputs = {}) {
  await page.selectOption('#field-operation', operation);
  for (const [name, value] of Object.entries(inputs)) await page.fill(`#input-${name}`, String(value));
}

/** Sets a number field the way a person does: type, then leave the field. */
async function setNumber(page, id, value) {
  await page.fill(`#field-${id}`, String(value));
  await page.press(`#field-${id}`, 'Tab');
}

async function callOnce(page) {
  const before = await page.locator('svg[data-plot="timeline"]').getAttribute('data-calls').catch(() => '0');
  await page.click('[data-testid="call-once"]');
  await page.waitForFunction(
    (n) => Number(document.querySelector('svg[data-plot="timeline"]')?.dataset.calls ?? 0) > n
      && !document.querySelector('[data-testid="progress"]'),
    Number(before ?? 0),
  );
  return page.locator('[data-testid="last-call"]').innerText();
}

describe('the lab', () => {
  it('reports when the page becomes interactive', async () => {
    // The first test of the file: a fresh browser profile, nothing cached,
    // as for a student's first visit.
    const page = await lab.browser.context.newPage();
    await page.goto(`${lab.trunk.origin}/?server=${lab.server.url}`);
    await page.locator('button.lesson[data-lesson="withdraw"]').waitFor();
    const timing = await page.evaluate(() => ({
      interactiveMs: performance.getEntriesByName('lab-interactive')[0]?.startTime,
      domContentLoadedMs: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd,
      wasmBytes: performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.wasm')).map((r) => r.encodedBodySize)[0],
    }));
    assert.ok(timing.interactiveMs > 0, 'the lab marks when it is interactive');
    assert.equal(await page.isEnabled('button.lesson[data-lesson="withdraw"]'), true);
    writeFileSync(join(ARTIFACTS, 'lab-load.json'), JSON.stringify(timing, null, 2));
    console.log('lab load:', JSON.stringify(timing));
    await page.close();
  });

  it('fault sliders reach the server as headers: 100 % fail is refused before executing', async () => {
    const { page, problems } = await open();
    await choose(page, 'Add', { a: 2, b: 3 });
    assert.match(await callOnce(page), /= 5/);
    await slide(page, 'fail', 100);
    await page.click('#field-retries'); // retries off: one attempt, one outcome
    const text = await callOnce(page);
    assert.match(text, /UNAVAILABLE/);
    const last = page.locator('svg[data-plot="timeline"] g[data-row]').last();
    assert.equal(await last.locator('[data-outcome]').first().getAttribute('data-outcome'), 'injected-fail');
    const counters = page.locator('[data-testid="server-counters"]');
    assert.ok(Number(await counters.getAttribute('data-faults-fail')) >= 1, 'the server counted the injected fault');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('each tab is its own lab session', async () => {
    const a = await open();
    const b = await open();
    const sessionA = await a.page.locator('section.lab').getAttribute('data-session');
    const sessionB = await b.page.locator('section.lab').getAttribute('data-session');
    assert.notEqual(sessionA, sessionB);
    await choose(a.page, 'Deposit', { account: 'shared', amount: 50 });
    assert.match(await callOnce(a.page), /balance \$50\.00/);
    await choose(b.page, 'GetBalance', { account: 'shared' });
    assert.match(await callOnce(b.page), /balance \$0\.00/, "tab B does not see tab A's money");
    await a.page.close();
    await b.page.close();
  });

  it('exports the event log as CSV and JSON', async () => {
    const { page, problems } = await open();
    await choose(page, 'Add', { a: 1, b: 1 });
    await callOnce(page);
    await callOnce(page);
    for (const [label, name] of [['CSV', 'rpc-lab-run.csv'], ['JSON', 'rpc-lab-run.json']]) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: `Export events (${label})` }).click(),
      ]);
      assert.equal(download.suggestedFilename(), name);
      const path = join(ARTIFACTS, name);
      await download.saveAs(path);
      const text = readFileSync(path, 'utf8');
      if (label === 'CSV') {
        const lines = text.trim().split('\n');
        assert.equal(lines[0], 't_ms,step,call,event,attempt,code,ms,detail,step_label');
        assert.equal(lines.filter((l) => l.includes(',call_ended,')).length, 2);
      } else {
        const events = JSON.parse(text);
        assert.deepEqual(events.filter((e) => e.event === 'call_ended').map((e) => e.code), ['OK', 'OK']);
      }
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('is usable from the keyboard: Tab to a lesson, Enter opens it, Space answers, Enter runs it', async () => {
    const { page, problems } = await open();
    await page.focus('button.lesson[data-lesson="withdraw"]');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.lesson), 'withdraw');
    await page.keyboard.press('Enter'); // opens the lesson
    // Tab on to its check (a radio group: Space picks the first answer) and on to "Run the lesson".
    const focused = () => page.evaluate(() => document.activeElement?.dataset.choice ?? document.activeElement?.dataset.testid);
    for (let tabs = 0; tabs < 20 && (await focused()) !== 'lesson-run'; tabs++) {
      await page.keyboard.press('Tab');
      if ((await focused()) === '0') await page.keyboard.press('Space');
    }
    assert.equal(await focused(), 'lesson-run');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="conclusion"]').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('[data-testid="verdict"]').getAttribute('data-chosen'), '0', 'the answer picked by keyboard');
    // Every control has a label a screen reader can read.
    const unlabelled = await page.locator('.lab input, .lab select').evaluateAll((inputs) =>
      inputs.filter((i) => !i.labels || i.labels.length === 0).map((i) => i.id || i.outerHTML.slice(0, 60)),
    );
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('explains a server that is down instead of running a lesson', async () => {
    const closedPort = await freePort();
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=http://127.0.0.1:${closedPort}`);
    await page.click('button.lesson[data-lesson="withdraw"]');
    await page.click('[data-testid="lesson-run"]');
    const error = page.locator('[data-testid="lab-error"]');
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.innerText(), /setting up the step failed with UNKNOWN\b.*server is not running/s);
    assert.equal(await page.isEnabled('button.lesson[data-lesson="withdraw"]'), true, 'the page is usable again');
    await page.locator('.lesson-text[data-phase="failed"]').waitFor();
    assert.equal(await page.locator('[data-testid="conclusion"]').count(), 0, 'no conclusion for a lesson that did not run');
    await page.locator('.lab').screenshot({ path: join(ARTIFACTS, 'lab-server-down.png') });
    // The browser itself logs the refused connection; nothing else may go wrong.
    assert.ok(problems.every((p) => /ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), problems.join('\n'));
    await page.close();
  });

  it('stop ends a run early', async () => {
    const { page, problems } = await open();
    await choose(page, 'Add', { a: 1, b: 2 });
    await setNumber(page, 'count', 200);
    await setNumber(page, 'pace', 20);
    await page.click('[data-testid="run-many"]');
    await page.locator('[data-testid="progress"]').waitFor();
    await page.click('[data-testid="stop"]');
    await page.locator('[data-testid="progress"]').waitFor({ state: 'detached', timeout: 30_000 });
    const [summary] = await page.locator('table.summary tbody tr').evaluateAll((r) => r.map((e) => Number(e.dataset.calls)));
    assert.ok(summary > 0 && summary < 200, `stopped after ${summary} calls`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('a run of 1000 calls keeps the page responsive', async () => {
    const { page, problems } = await open();
    await choose(page, 'Add', { a: 1, b: 2 });
    await setNumber(page, 'count', 1000);
    await setNumber(page, 'concurrency', 8);
    await slide(page, 'drop', 20);
    // Watch the main thread: the longest gap between animation frames.
    await page.evaluate(() => {
      window.__frames = { last: performance.now(), longest: 0, count: 0, running: true };
      const tick = (t) => {
        const f = window.__frames;
        f.longest = Math.max(f.longest, t - f.last);
        f.last = t;
        f.count += 1;
        if (f.running) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const started = Date.now();
    await page.click('[data-testid="run-many"]');
    await page.locator('[data-testid="progress"]').waitFor();
    await page.locator('[data-testid="progress"]').waitFor({ state: 'detached', timeout: 300_000 });
    const seconds = (Date.now() - started) / 1000;
    const frames = await page.evaluate(() => {
      window.__frames.running = false;
      return window.__frames;
    });
    const stats = page.locator('[data-testid="render-stats"]');
    const render = {
      redraws: Number(await stats.getAttribute('data-redraws')),
      meanMs: Number(await stats.getAttribute('data-mean-ms')),
      maxMs: Number(await stats.getAttribute('data-max-ms')),
    };
    const [summary] = await page.locator('table.summary tbody tr').evaluateAll((r) => r.map((e) => ({ ...e.dataset })));
    assert.equal(Number(summary.calls), 1000);
    assert.equal(Number(summary.ok) + Number(summary.failed), 1000);
    const rowsDrawn = await page.locator('svg[data-plot="timeline"] g[data-row]').count();
    assert.ok(rowsDrawn <= 75, `the timeline draws the newest rows only (${rowsDrawn})`);
    assert.ok(render.redraws < 1000, `redraws are batched: ${render.redraws} for 1000 calls`);
    const report = { calls: 1000, concurrency: 8, seconds, render, longestFrameGapMs: frames.longest, frames: frames.count };
    writeFileSync(join(ARTIFACTS, 'lab-performance.json'), JSON.stringify(report, null, 2));
    console.log('lab performance:', JSON.stringify(report));
    await page.locator('.lab').screenshot({ path: join(ARTIFACTS, 'lab-1000-calls.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });
});
