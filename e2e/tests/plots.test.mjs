// Reading the plots, in headless Chromium against the real server: the
// timeline keeps every lesson step (named by its variant, on its own clock,
// every attempt wide enough to see), the attempts-per-interval bars show the
// retry storm's stripes, the histograms draw the timeout and readable axes,
// and at 1440×900 the controls stay beside the plots. Screenshots go to
// e2e/artifacts/plots-*.png.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, useLab } from '../lib/lab.mjs';

const lab = useLab({ proxyPrefix: '/e2e-plots' });

async function open() {
  const opened = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
  await opened.page.setViewportSize({ width: 1440, height: 900 });
  return opened;
}

async function runLesson(page, id) {
  await page.click(`button.lesson[data-lesson="${id}"]`);
  await page.click('[data-testid="lesson-run"]');
  await page.locator('[data-testid="conclusion"]').waitFor({ timeout: 120_000 });
}

const timeline = (page) => page.locator('svg[data-plot="timeline"]');
const timelinePicker = (page) => page.locator('figure.timeline-plot .step-picker');

/** The timeline's step blocks: step, label, calls, rows drawn. */
function blocks(page) {
  return timeline(page).locator('g.step-block').evaluateAll((gs) =>
    gs.map((g) => ({
      step: Number(g.dataset.step),
      label: g.dataset.stepLabel,
      calls: Number(g.dataset.stepCalls),
      rows: g.querySelectorAll('g.call-row').length,
    })),
  );
}

/** Two boxes overlap. */
const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('reading the plots', () => {
  it('the timeline keeps every lesson step, named, on its own clock, after a manual run', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'service-down'); // 50 + 50 + 24 calls: more than the 75 rows drawn at once

    const steps = ['no breaker', 'circuit breaker', 'breaker, 4-call outage'];
    const names = await timelinePicker(page).locator('button').allInnerTexts();
    assert.deepEqual(names, [...steps, 'all steps'], 'steps are named by their variant');
    assert.equal(await timeline(page).getAttribute('data-shown-step'), 'all', 'every step first');
    assert.deepEqual((await blocks(page)).map((b) => [b.label, b.calls, b.rows]), [['no breaker', 50, 50], ['circuit breaker', 50, 50], ['breaker, 4-call outage', 24, 24]]);

    await timelinePicker(page).getByRole('button', { name: 'no breaker' }).click();
    await page.waitForFunction(() => document.querySelector('svg[data-plot="timeline"]').dataset.shownStep === '0');
    assert.deepEqual(await blocks(page), [{ step: 0, label: 'no breaker', calls: 50, rows: 50 }]);
    const firstStepAxis = Number(await timeline(page).getAttribute('data-axis-end-ms'));
    assert.ok(firstStepAxis >= 4900 && firstStepAxis <= 7000, `the step's own clock: ${firstStepAxis} ms`);

    // Every attempt is a box a student can see: at least 4 screen pixels wide.
    const widths = await timeline(page).locator('rect.attempt').evaluateAll((rects) =>
      rects.map((r) => ({ outcome: r.dataset.outcome, width: r.getBoundingClientRect().width })),
    );
    assert.ok(widths.length >= 50, `${widths.length} attempts drawn`);
    const thinnest = Math.min(...widths.map((w) => w.width));
    assert.ok(thinnest >= 4, `thinnest attempt ${thinnest.toFixed(2)} px`);
    await page.locator('figure.timeline-plot').screenshot({ path: join(ARTIFACTS, 'plots-timeline-step.png') });

    // A manual run a few seconds later: a new step, and the lesson's steps
    // keep their axis (they are not squashed to make room for the gap).
    await new Promise((r) => setTimeout(r, 3000));
    const before = Number(await timeline(page).getAttribute('data-calls'));
    await page.click('[data-testid="call-once"]');
    await page.waitForFunction(
      (n) => Number(document.querySelector('svg[data-plot="timeline"]').dataset.calls) > n
        && !document.querySelector('[data-testid="progress"]'),
      before,
    );
    const afterNames = await timelinePicker(page).locator('button').allInnerTexts();
    assert.equal(afterNames.length, 5, afterNames.join(' | '));
    assert.deepEqual(afterNames.slice(0, 3), steps, 'the lesson steps stay selectable');

    await timelinePicker(page).getByRole('button', { name: 'no breaker' }).click();
    await page.waitForFunction(() => document.querySelector('svg[data-plot="timeline"]').dataset.shownStep === '0');
    assert.equal(Number(await timeline(page).getAttribute('data-axis-end-ms')), firstStepAxis, 'same axis as before the manual run');

    await timelinePicker(page).getByRole('button', { name: 'all steps' }).click();
    await page.waitForFunction(() => document.querySelector('svg[data-plot="timeline"]').dataset.shownStep === 'all');
    const all = await blocks(page);
    assert.deepEqual(all.map((b) => b.label).slice(0, 3), steps);
    assert.equal(all.length, 4, 'the manual run is a step of its own');
    assert.deepEqual(all.map((b) => b.rows), all.map((b) => b.calls), 'every call of every step drawn');
    assert.ok(
      Number(await timeline(page).getAttribute('data-axis-end-ms')) <= firstStepAxis + 2000,
      'all steps share an axis as long as the longest step, not the whole session',
    );
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('the retry storm: attempts sent per interval, one strip per step, counting every attempt sent', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'retry-storm');
    const rate = page.locator('svg[data-plot="attempt-rate"]');
    await page.waitForFunction(() => document.querySelector('svg[data-plot="attempt-rate"]')?.dataset.strips === '3');
    await page.locator('figure.rate-plot').screenshot({ path: join(ARTIFACTS, 'plots-retry-storm-rate.png') });
    const strips = await rate.locator('g.rate-strip').evaluateAll((gs) =>
      gs.map((g) => ({
        label: g.dataset.stepLabel,
        counts: [...g.querySelectorAll('rect.rate-bar')].map((r) => Number(r.dataset.count)),
        starts: [...g.querySelectorAll('rect.rate-bar')].map((r) => Number(r.dataset.startMs)),
      })),
    );
    assert.deepEqual(strips.map((s) => s.label), ['no jitter', 'full jitter', 'full jitter + budget']);
    // One set of bins for every strip, so equal bars mean equal load.
    const binMs = Number(await rate.getAttribute('data-bin-ms'));
    for (const s of strips) assert.deepEqual(s.starts, s.counts.map((_, i) => i * binMs));
    // The bars count what the summary counts: every attempt sent, once.
    const summary = await page.locator('table.summary tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.dataset.attempts)));
    const sums = strips.map((s) => s.counts.reduce((a, b) => a + b, 0));
    assert.deepEqual(sums, summary);
    // Each step's attempts, from the timeline's own bars, fall in the bins the strip says.
    // Times to the microsecond, as the strip counts them: the browser's clock
    // ticks in 0.1 ms, so an attempt can start exactly on a bin's edge, where
    // a subtraction's last bit (99.99999999999818 for 100) would pick the bin.
    const starts = await timeline(page).locator('g.step-block').evaluateAll((gs) =>
      gs.map((g) =>
        [...g.querySelectorAll('rect.attempt:not(.rejected)')].map(
          (r) => Math.round((Number(r.dataset.startMs) - Number(g.dataset.stepStartMs)) * 1000) / 1000,
        ),
      ),
    );
    for (const [i, s] of strips.entries()) {
      const counts = s.counts.map(() => 0);
      for (const t of starts[i]) counts[Math.min(counts.length - 1, Math.floor(t / binMs))] += 1;
      assert.deepEqual(counts, s.counts, `${s.label}: the strip matches the timeline`);
    }
    // How bunched-up each step is (the sum of each bin's squared share), for the report.
    const concentration = (counts) => {
      const total = counts.reduce((a, b) => a + b, 0);
      return counts.reduce((sum, c) => sum + (c / total) ** 2, 0);
    };
    console.log('retry storm:', JSON.stringify({ binMs, attempts: sums, concentration: strips.map((s) => concentration(s.counts).toFixed(3)) }));
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('histograms draw the timeout, whole-number ticks and labels that do not overlap', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'timeouts');
    const panel = page.locator('[data-plot="latency"]');
    const attempts = panel.locator('[data-testid="histogram"][data-protocol="attempts"]');
    assert.equal(await panel.getAttribute('data-step'), '1');
    assert.equal(Number(await attempts.locator('g.timeout-line').getAttribute('data-ms')), 400);
    assert.equal(await attempts.locator('g.timeout-line').getAttribute('data-on-scale'), 'true', 'the 400 ms timeout is on the axis');

    await panel.getByRole('button', { name: 'timeout 100 ms' }).click();
    await page.waitForFunction(() => document.querySelector('[data-plot="latency"]').dataset.step === '0');
    assert.equal(Number(await attempts.locator('g.timeout-line').getAttribute('data-ms')), 100);

    for (const histogram of await panel.locator('[data-testid="histogram"]').all()) {
      const count = Number(await histogram.getAttribute('data-count'));
      const title = await histogram.locator('text.plot-title').textContent();
      const protocol = await histogram.getAttribute('data-protocol');
      assert.equal(title, protocol === 'attempts' ? `${count} attempts sent` : `${count} logical calls`);
      const ticks = await histogram.locator('g.y-tick').evaluateAll((gs) => gs.map((g) => Number(g.dataset.count)));
      const top = Math.max(...ticks);
      assert.ok(ticks.some((t) => t > 0 && t < top), `an intermediate y tick: ${ticks}`);
      const tallest = await histogram.locator('rect.bar').evaluateAll((rs) => Math.max(...rs.map((r) => Number(r.dataset.count))));
      assert.ok(top >= tallest, `the axis reaches the tallest bar (${tallest}): ${ticks}`);
      const labels = await histogram.locator('text.marker-label').evaluateAll((ts) => ts.map((t) => t.getBBox()));
      assert.ok(labels.length >= 3);
      for (let a = 0; a < labels.length; a++)
        for (let b = a + 1; b < labels.length; b++)
          assert.ok(!overlap(labels[a], labels[b]), `${protocol}: labels ${a} and ${b} overlap`);
    }
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'plots-1440x900-latency.png') });
    // The controls are beside the histograms, not a screen above them.
    const controls = await page.locator('section.lab .lab-controls').boundingBox();
    assert.ok(controls.y < 900 && controls.y + controls.height > 0, `controls on screen: ${JSON.stringify(controls)}`);
    assert.ok(controls.height <= 900, `the controls column fits the window: ${controls.height} px`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('after a lesson: the breaker keeps every state on the timeline\'s clock, calls are numbered per step, a new run is shown first', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'service-down');

    // The breaker band: on the step's clock (from 0, like the timeline), and
    // every state it passed through visible, however short.
    const breaker = page.locator('svg[data-plot="breaker"]');
    const bands = await breaker.locator('g.band').evaluateAll((gs) =>
      gs.map((g) => ({
        state: g.dataset.state,
        x: Number(g.dataset.x),
        width: Number(g.dataset.width),
        startMs: Number(g.dataset.startMs),
        px: g.querySelector('rect').getBoundingClientRect().width,
      })),
    );
    const minWidth = Number(await breaker.getAttribute('data-min-span-width'));
    assert.ok(bands.length >= 4, JSON.stringify(bands));
    assert.equal(bands[0].startMs, 0, 'the band starts at the step\'s zero');
    assert.deepEqual(bands.slice(-2).map((b) => b.state), ['half-open', 'closed'], 'the probe\'s half-open span is drawn');
    for (const [i, band] of bands.entries()) {
      assert.ok(band.width >= minWidth && band.px >= 4, `span ${i} (${band.state}) is visible: ${band.width} units, ${band.px.toFixed(1)} px`);
      if (i > 0) assert.ok(band.x >= bands[i - 1].x + bands[i - 1].width - 0.01, `span ${i} is not drawn under span ${i - 1}`);
    }
    const breakerTicks = await breaker.locator('g.tick[data-ms]').evaluateAll((gs) => gs.map((g) => Number(g.dataset.ms)));
    assert.equal(Math.min(...breakerTicks), 0, `time since the step began: ${breakerTicks}`);
    assert.ok(
      Number(await breaker.getAttribute('data-axis-end-ms')) <= Number(await timeline(page).getAttribute('data-axis-end-ms')),
      'the breaker\'s step fits on the timeline\'s axis',
    );
    assert.equal(await breaker.locator('text.axis-label').last().textContent(), 'time since the step began');

    // Calls are numbered from 1 in each step, as the status bar numbers them.
    const numbers = await timeline(page).locator('g.step-block').evaluateAll((gs) =>
      gs.map((g) => [...g.querySelectorAll('g.call-row')].map((r) => Number(r.dataset.number))),
    );
    for (const block of numbers) assert.deepEqual(block, block.map((_, i) => i + 1));
    const lastCall = await page.locator('[data-testid="last-call"]').textContent();
    const said = Number(/call (\d+)/.exec(lastCall)?.[1]);
    assert.ok(said >= 1 && said <= 50, `the status bar's call number is a step's: ${lastCall}`);

    // Labels say what they count.
    const headers = await page.locator('table.summary thead th').allInnerTexts();
    assert.ok(headers.includes('attempts timed out'), headers.join(' | '));
    assert.ok(headers.includes('time in failed calls (summed over calls)'), headers.join(' | '));
    assert.match(await page.locator('[data-testid="state-breaker"]').textContent(), /^opens at \d+ % of \d+ attempts/);

    // The sticky status bar does not cover the step picker when the
    // timeline is scrolled into view.
    for (const align of ['start', 'center']) {
      await timelinePicker(page).evaluate((el, block) => el.scrollIntoView({ block }), align);
      const uncovered = await timelinePicker(page).locator('button').evaluateAll((buttons) =>
        buttons.map((b) => {
          const r = b.getBoundingClientRect();
          return b.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
        }),
      );
      assert.ok(uncovered.every(Boolean), `${align}: every picker button can be clicked where it is drawn: ${uncovered}`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'plots-1440x900-picker.png') });

    // A step picked in the histograms, then a manual run: the newest step is shown.
    const latency = page.locator('[data-plot="latency"]');
    await latency.locator('.step-picker').getByRole('button', { name: 'no breaker' }).click();
    await page.waitForFunction(() => document.querySelector('[data-plot="latency"]').dataset.step === '0');
    const before = Number(await timeline(page).getAttribute('data-calls'));
    await page.click('[data-testid="call-once"]');
    await page.waitForFunction(
      (n) => Number(document.querySelector('svg[data-plot="timeline"]').dataset.calls) > n
        && !document.querySelector('[data-testid="progress"]'),
      before,
    );
    assert.equal(await latency.getAttribute('data-step'), '3', 'the manual run (after the lesson\'s three steps), not the old pick');
    assert.equal(await timeline(page).getAttribute('data-shown-step'), 'all');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('at 1440×900 the controls and the timeline are on screen together', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'withdraw');
    await page.locator('figure.timeline-plot').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -60));
    await page.screenshot({ path: join(ARTIFACTS, 'plots-1440x900-timeline.png') });
    const visible = async (selector) => {
      const box = await page.locator(selector).first().boundingBox();
      return box !== null && box.y >= 0 && box.y + Math.min(box.height, 200) <= 900;
    };
    assert.ok(await visible('figure.timeline-plot'), 'the timeline');
    assert.ok(await visible('[data-testid="call-once"]'), 'the run buttons');
    // Folded groups still say what they are set to.
    assert.equal(await page.locator('[data-testid="state-keys"]').textContent(), 'keys on');
    assert.match(await page.locator('[data-testid="state-failures"]').textContent(), /30 % replies lost/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
