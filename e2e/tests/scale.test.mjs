// The Scale view in headless Chromium: a run of the server's load engine
// (Lab/RunLoad, server streaming) through Trunk's own /rpc route — the
// page's default path, no ?server= — drawn live, stopped, refused, and run
// from two tabs at once. Every number asserted here is read from the page's
// data-* attributes and checked against another of the server's numbers.
// Screenshots in e2e/artifacts/scale-1280x720.png and scale-1920x1080.png.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, rows, useLab } from '../lib/lab.mjs';

// No proxyPrefix: Trunk.toml's /rpc route forwards to this test's server.
const lab = useLab({});

const view = '[data-testid="scale-view"]';

/** Types a number into one of the Scale view's fields (the change lands on blur). */
async function setNumber(page, id, value) {
  await page.fill(`#field-scale-${id}`, String(value));
  await page.press(`#field-scale-${id}`, 'Tab');
}

/** Presses Run and waits until the run is over (done, stopped or failed). */
async function run(page) {
  await page.click('[data-testid="scale-run"]');
  return ended(page);
}

/** Waits until the run is over (done or failed). */
async function ended(page) {
  await page.waitForSelector(`${view}:is([data-phase="done"],[data-phase="failed"])`, { timeout: 60_000 });
  return page.locator(view).getAttribute('data-phase');
}

/** The summary's numbers. */
async function summary(page) {
  const [s] = await rows(page, '[data-testid="scale-summary"]');
  return s;
}

/** The summary's numbers once the server's counters (read after its queue drained) are in. */
async function drainedSummary(page) {
  await page.waitForSelector('[data-testid="scale-server"]', { timeout: 15_000 });
  return summary(page);
}

/**
 * An unlimited server, no brownout, evenly spaced calls, one attempt and no
 * timeout: every call executes once and succeeds, however busy the machine.
 */
async function plainRun(page, { rate, durationMs }) {
  await page.click('#field-scale-retries'); // off: one attempt
  await setNumber(page, 'attempt-timeout', 0);
  await setNumber(page, 'deadline', 0);
  await setNumber(page, 'workers', 0);
  await setNumber(page, 'queue', 0); // the server refuses a queue with no workers to wait for
  await page.click('[data-group="scale-brownout"] > summary'); // unfold the group
  await page.click('#field-scale-brownout'); // off
  await page.click('#field-scale-poisson'); // evenly spaced
  await setNumber(page, 'rate', rate);
  await setNumber(page, 'duration', durationMs);
}

describe('the Scale view', () => {
  it('streams a run through Trunk’s /rpc route as it happens and draws every window', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    // The default scenario, shorter: the brownout (1.0–1.5 s) still falls inside.
    const durationMs = 2000;
    await setNumber(page, 'duration', durationMs);
    assert.equal(await run(page), 'done', await page.locator(view).innerText());

    const windows = Number(await page.locator(view).getAttribute('data-windows'));
    assert.ok(windows >= 10, `${windows} windows of 100 ms for a ${durationMs} ms run`);
    // Each plot draws one point per window (latency: per window in which calls ended).
    for (const series of ['offered', 'goodput', 'queued', 'executing', 'retries']) {
      const points = await rows(page, `circle[data-series="${series}"]`);
      assert.equal(points.length, windows, `${series}: one point per window`);
      const times = points.map((p) => p.atMs);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), `${series}: in time order`);
    }
    assert.ok((await rows(page, 'circle[data-series="p99"]')).length >= 10, 'latency drawn');
    // The capacity line: 8 workers of 20 ms = 400/s, 100/s in the brownout (S × 4).
    const [capacity] = await rows(page, '[data-level="capacity"]');
    assert.equal(capacity.steps, '400 100 400');
    const [shade] = await rows(page, '[data-plot="scale-load"] rect.shade');
    assert.deepEqual([shade.shadeFromMs, shade.shadeToMs], [1000, 1500]);
    const [timeout] = await rows(page, '[data-level="attempt timeout"]');
    assert.equal(timeout.steps, 250);

    // The summary is the final message's, and agrees with the windows drawn
    // and with the server's counters once its queue drained.
    const s = await drainedSummary(page);
    assert.equal(s.wholeRun, 'true');
    assert.equal(s.calls, s.succeeded + s.failed, 'every call ended');
    assert.ok(s.serverExecutions >= s.executions, `GetStats ${s.serverExecutions} ≥ ${s.executions} counted during the run`);
    const facts = await page.locator('[data-fact]').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.fact, e.querySelector('dt').innerText])));
    assert.equal(facts.calls, String(s.calls));
    assert.equal(Number(facts.amplification), Math.round((s.attempts / s.calls) * 100) / 100, 'attempts per call');
    assert.equal(facts.useful, `${Math.round((s.succeeded / s.serverExecutions) * 10000) / 100} %`, 'successful calls ÷ executions');
    assert.equal(facts.goodput, `${Math.round((s.succeeded / (s.elapsedMs / 1000)) * 100) / 100}/s`);

    // Streamed, not buffered: the messages arrived over the run's length,
    // the first long before the last. Trunk's proxy holding the reply to its
    // end would deliver them all within a few milliseconds.
    const first = Number(await page.locator(view).getAttribute('data-first-arrival-ms'));
    const last = Number(await page.locator(view).getAttribute('data-last-arrival-ms'));
    console.log(`through Trunk's /rpc: first snapshot after ${first} ms, final after ${last} ms, ${windows} windows of a ${durationMs} ms run`);
    assert.ok(last - first >= durationMs / 2, `messages spread over ${last - first} ms of a ${durationMs} ms run`);

    for (const [width, height] of [[1280, 720], [1920, 1080]]) {
      await page.setViewportSize({ width, height });
      await page.locator(view).scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector('[data-testid="scale-view"] .scale-plots').scrollIntoView());
      await page.screenshot({ path: join(ARTIFACTS, `scale-${width}x${height}.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('Stop ends a run before its duration, and the server lets the session run again', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    const durationMs = 20_000;
    await setNumber(page, 'duration', durationMs);
    await page.click('[data-testid="scale-run"]');
    await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.windows) >= 3, view);
    await page.click('[data-testid="scale-stop"]');
    assert.equal(await page.locator(view).getAttribute('data-phase'), 'stopped');
    const s = await summary(page);
    assert.equal(s.wholeRun, 'false', 'the windows received, not a final message');
    assert.ok(s.elapsedMs < durationMs / 2, `stopped at ${s.elapsedMs} ms of ${durationMs}`);
    const points = (await rows(page, 'circle[data-series="offered"]')).length;

    // Had the stream's cancellation not reached the server, its 20 s run
    // would hold the session and a new run would be refused ("one run per
    // session") until it ended. It is let go within milliseconds; a press
    // that still meets it is retried, for at most 2 s.
    await setNumber(page, 'duration', 300);
    const stoppedAt = Date.now();
    let refusals = 0;
    for (;;) {
      const phase = await run(page);
      if (phase === 'done') break;
      const error = await page.innerText('[data-testid="scale-error"]');
      assert.match(error, /RESOURCE_EXHAUSTED/, error);
      refusals += 1;
      assert.ok(Date.now() - stoppedAt < 2000, `still refused ${Date.now() - stoppedAt} ms after Stop: ${error}`);
      await page.waitForTimeout(100);
    }
    console.log(`after Stop: ${points} windows drawn; the next run was refused ${refusals} times first`);
    assert.equal((await summary(page)).wholeRun, 'true');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows a refusal in the server’s own words', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    await setNumber(page, 'rate', 6000); // the server allows 5 000 (--max-load-rate)
    assert.equal(await run(page), 'failed');
    const error = await page.innerText('[data-testid="scale-error"]');
    assert.match(error, /^RESOURCE_EXHAUSTED: open\.rate_per_second 6000 is more than this server allows \(--max-load-rate 5000\)/);
    assert.equal(await page.locator(view).getAttribute('data-windows'), '0');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('runs in each tab’s own session: two tabs at once count only their own calls', async () => {
    // The page has no way to share a session between tabs: each tab is its
    // own (web/src/session.rs), so a second tab's run is isolated, not refused.
    const tabs = [];
    for (const rate of [200, 100]) {
      const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
      await plainRun(page, { rate, durationMs: 1000 });
      tabs.push({ page, problems, rate });
    }
    // Both running at the same time on one server: two 1 s runs started
    // well under a second apart.
    const pressed = [];
    for (const { page } of tabs) {
      await page.click('[data-testid="scale-run"]');
      pressed.push(Date.now());
    }
    assert.ok(pressed[1] - pressed[0] < 500, `the second run started ${pressed[1] - pressed[0]} ms after the first`);
    for (const { page } of tabs) {
      const phase = await ended(page).catch(async (e) => `${e.message}\n${await page.locator(view).innerText()}`);
      assert.equal(phase, 'done', await page.locator(view).innerText());
    }
    const counted = [];
    for (const { page, problems, rate } of tabs) {
      const s = await drainedSummary(page);
      // 1 s of evenly spaced calls at `rate`, each executed once, all OK.
      assert.ok(Math.abs(s.calls - rate) <= 1, `${s.calls} calls at ${rate}/s for 1 s`);
      assert.equal(s.succeeded, s.calls);
      assert.equal(s.executions, s.calls, 'the run saw only its own executions');
      assert.equal(s.serverExecutions, s.calls, "the server's counters for this tab hold only this tab's calls");
      counted.push(s.calls);
      assert.deepEqual(problems, []);
      await page.close();
    }
    assert.notEqual(counted[0], counted[1]);
  });
});
