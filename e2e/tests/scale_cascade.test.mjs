// The Scale view's cascade lesson in headless Chromium: checkouts wait on a
// payment service that hangs; Adds beside them share the front tier's
// workers but never call payment. One click runs its three steps (no
// breaker, a breaker in the server's client of payment, + a bulkhead), and
// the test asserts the contrast on what is PLOTTED: the background Adds'
// goodput, p99 and the checkouts waiting on payment, read from each step's
// plots (data-series / data-at-ms / data-value) at the moment that step's
// final message arrived, and the step table's data-* values beside them.
//
// Wall time: three runs of 4 s at full scale (the story depends on the
// front tier's service time, which ?scale_time does not scale), about 16 s
// for the lesson. Screenshots: e2e/artifacts/scale-cascade-{1280x720,1920x1080}.png (the
// steps and the verdict), scale-cascade-{question,plots,tiers,breaker,summary}-1280x720.png.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, useLab } from '../lib/lab.mjs';
import { SCALE_LESSONS as box, scaleStepDone, scaleSteps as steps } from '../lib/scale_lessons.mjs';

const lab = useLab({});


/**
 * Keeps, for each step, what the plots drew when its numbers first appeared
 * in the table (its final message: the plots then hold that run's every
 * window, and the next step has not started). Installed before the click.
 */
function recordPlotsPerStep(box) {
  window.__plots = {};
  const series = (plot, name) =>
    [...document.querySelectorAll(`[data-plot="${plot}"] circle[data-series="${name}"]`)].map((c) => [
      Number(c.dataset.atMs),
      Number(c.dataset.value),
    ]);
  const look = () => {
    for (const tr of document.querySelectorAll(`${box} [data-testid="scale-steps"] tbody tr`)) {
      const i = tr.dataset.step;
      if (window.__plots[i] || !tr.querySelector('td[data-name="bg-ok"][data-value]')) continue;
      window.__plots[i] = {
        addGoodput: series('scale-load', 'background Add goodput'),
        addP99: series('scale-latency', 'background Add p99'),
        waiting: series('scale-queue', 'waiting on payment'),
        // The server's payment breaker, span by span: [state, from, to].
        band: [...document.querySelectorAll('[data-plot="scale-retries"] rect.band')].map((r) => [
          r.dataset.state,
          Number(r.dataset.fromMs),
          Number(r.dataset.toMs),
        ]),
        bandTitle: document.querySelector('[data-plot="scale-retries"] figcaption').textContent,
        legend: [...document.querySelectorAll('[data-plot] .scale-legend span')].map((s) => s.textContent),
        duration: Number(document.querySelector('#field-scale-duration').value),
      };
    }
  };
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
}

/** Mean of the values drawn at times in (from, to]. */
function mean(points, from, to) {
  const v = points.filter(([at]) => at > from && at <= to).map(([, value]) => value);
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}

describe('the Scale view’s cascade lesson', () => {
  it('a hanging payment takes Add down without a breaker; the server’s breaker (and a bulkhead) keep it up', async () => {
    const started = Date.now();
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    await page.click(`button[data-scale-lesson="cascade"]`);
    const question = await page.innerText(`${box} .question`);
    assert.match(question, /in the server: in its front tier's client of payment/);
    assert.match(question, /not in your browser, and not in the load engine's virtual clients/);
    await page.click(`${box} input[data-choice="2"]`);
    await page.evaluate(recordPlotsPerStep, box);
    await page.click('[data-testid="scale-lesson-run"]');
    await scaleStepDone(page, 2, 60_000);
    const lessonSeconds = (Date.now() - started) / 1000;

    const table = await steps(page);
    const plots = await page.evaluate(() => window.__plots);
    const [none, breaker, bulkhead] = [0, 1, 2].map((i) => ({ ...table[i], plot: plots[i] }));
    for (const [name, s] of Object.entries({ none, breaker, bulkhead })) {
      const d = s.plot.duration;
      s.plottedLate = mean(s.plot.addGoodput, d / 2, d);
      s.plottedFirst = mean(s.plot.addGoodput, 0, 1000);
      s.mostWaiting = Math.max(...s.plot.waiting.map(([, v]) => v));
      const { plot, ...numbers } = s;
      console.log(`cascade ${name}: ${JSON.stringify(numbers)}; payment breaker ${JSON.stringify(plot.band)}`);
    }
    console.log(`cascade: the lesson took ${lessonSeconds.toFixed(1)} s from opening the page`);

    for (const s of [none, breaker, bulkhead]) {
      // The plots drew the background's lines, each with its legend entry,
      // and one point per 100 ms window of the run (40 in 4 s, and more
      // while calls in flight ended).
      assert.ok(s.plot.addGoodput.length >= 40, `${s.plot.addGoodput.length} goodput points`);
      assert.ok(s.plot.waiting.length >= 40);
      for (const entry of ['background Add goodput', 'background Add p99', 'waiting on payment', 'background Add timeout']) {
        assert.ok(s.plot.legend.includes(entry), `legend ${JSON.stringify(s.plot.legend)} lacks ${entry}`);
      }
      // The table is what was plotted: the same windows' mean.
      assert.ok(Math.abs(s.bgLate - s.plottedLate) < 0.01, `table ${s.bgLate} vs plot ${s.plottedLate}`);
      assert.ok(Math.abs(s.bgFirst - s.plottedFirst) < 0.01, `table ${s.bgFirst} vs plot ${s.plottedFirst}`);
      assert.ok(s.bgCalls >= 195 && s.bgCalls <= 200, `${s.bgCalls} Adds started (50/s for 4 s)`);
      assert.equal(s.calls, 80, 'checkouts: 20/s for 4 s');
    }
    // No breaker: every front worker waits on payment; Adds starve in the
    // second half — a small fraction of what they got with the breaker.
    assert.equal(none.mostWaiting, 4, 'all four front workers waited on payment');
    assert.ok(none.plottedLate <= 0.2 * breaker.plottedLate, `Add goodput, 2nd half: ${none.plottedLate}/s vs ${breaker.plottedLate}/s`);
    assert.ok(none.bgOk <= 0.35 * breaker.bgOk, `Adds OK: ${none.bgOk} vs ${breaker.bgOk}`);
    assert.ok(none.bgP99 >= 250, `no breaker: Add p99 ${none.bgP99} ms (their 300 ms timeout)`);
    assert.equal(none.failedFast, 0);
    assert.ok(none.paymentFailed >= 20, `${none.paymentFailed} checkouts waited out payment`);
    // Breaker: the Adds are served once it opened; checkouts fail fast.
    assert.ok(breaker.plottedLate >= 0.8 * 50, `with the breaker: ${breaker.plottedLate}/s of 50`);
    assert.ok(breaker.failedFast >= 50, `${breaker.failedFast} checkouts failed fast`);
    assert.ok(breaker.bgP99Late < 150, `with the breaker: Add p99 ${breaker.bgP99Late} ms at most in the second half`);
    assert.ok(none.bgP99Late >= 250, `no breaker: Add p99 ${none.bgP99Late} ms in the second half (their 300 ms timeout)`);
    // The worst window p99 of the second half, as plotted.
    const worst = (s) => Math.max(0, ...s.plot.addP99.filter(([at]) => at > s.plot.duration / 2 && at <= s.plot.duration).map(([, v]) => v));
    for (const s of [none, breaker, bulkhead]) assert.equal(s.bgP99Late, worst(s));
    // The retries plot's band is the server's payment breaker: none without
    // one; with one, closed while it learns, then open to the end.
    assert.deepEqual(none.plot.band, []);
    for (const s of [breaker, bulkhead]) {
      assert.match(s.plot.bandTitle, /the server's payment breaker/);
      assert.deepEqual(s.plot.band.map(([state]) => state), ['closed', 'open']);
      assert.equal(s.plot.band.at(-1)[2], Math.max(...s.plot.waiting.map(([at]) => at)), 'open to the last window');
    }
    // Bulkhead: never more than two wait on payment, so Add is served from
    // the first second, when the breaker alone had not learnt yet.
    assert.ok(bulkhead.mostWaiting <= 2, `${bulkhead.mostWaiting} waited on payment`);
    assert.ok(bulkhead.plottedLate >= 0.8 * 50);
    assert.ok(bulkhead.plottedFirst >= 0.8 * 50 * 0.9, `bulkhead: first-second Add goodput ${bulkhead.plottedFirst}/s`);
    assert.ok(breaker.mostWaiting >= 3, `breaker alone: ${breaker.mostWaiting} waited on payment while it learnt`);

    const verdict = page.locator(`${box} [data-testid="verdict"]`);
    assert.equal(await verdict.getAttribute('data-right'), '2');
    assert.equal(await verdict.getAttribute('data-chosen'), '2');
    const because = await verdict.innerText();
    assert.match(because, new RegExp(`No breaker: ${none.bgOk} of ${none.bgCalls} Adds succeeded`));
    assert.match(because, new RegExp(`${breaker.failedFast} checkouts failed fast`));
    // Step 1's checkouts, each counted once by the server: the late ones got
    // a worker and were still waiting on payment when their shopper's 2 s
    // ran out (checkouts_abandoned), none "never reached the handler" unless
    // the numbers leave some over.
    const ended = because.match(new RegExp(`${none.paymentFailed} checkouts waited out payment's timeout, (\\d+) were still waiting on it when their shopper's 2 s ran out(?:, (\\d+) gave up queued)?`));
    assert.ok(ended, because);
    const [left, queued] = [Number(ended[1]), Number(ended[2] ?? 0)];
    assert.ok(left > 0, 'late checkouts were left waiting on payment');
    assert.equal(none.paymentFailed + left + queued, none.calls, 'every checkout counted once');
    assert.doesNotMatch(because, /cannot show/);
    assert.match(await page.innerText('[data-testid="scale-conclusion"]'), /it sits in the server, in its client of the dependency — not in the browser/);
    // The summary (the last step's run) keeps the two operations apart: its
    // facts name Checkout, and the Adds have a fact of their own.
    const summary = page.locator('[data-testid="scale-summary"]');
    assert.equal(Number(await summary.getAttribute('data-calls')), bulkhead.calls);
    assert.match(await summary.locator('[data-fact="calls"] dd').innerText(), /^Checkout logical calls: /);
    assert.match(await summary.locator('[data-fact="useful"] dd').innerText(), /^Checkout useful work: /);
    const addFact = summary.locator('[data-fact="background"]');
    assert.equal(await addFact.locator('dt').innerText(), `${bulkhead.bgOk} of ${bulkhead.bgCalls}`);
    assert.match(await addFact.locator('dd').innerText(), /^background Add calls that succeeded .*the server executed \d+ Adds/);
    // The controls show what ran: Checkout, and the tiers the lesson set.
    assert.equal(await page.inputValue('#field-scale-operation'), '5');
    assert.match(await page.innerText('[data-testid="state-scale-tiers"]'), /500 ms per attempt, a breaker, a bulkhead of 2/);

    for (const [width, height] of [[1280, 720], [1920, 1080]]) {
      await page.setViewportSize({ width, height });
      await page.evaluate((sel) => document.querySelector(sel).scrollIntoView(), `${box} [data-testid="scale-steps"]`);
      await page.screenshot({ path: join(ARTIFACTS, `scale-cascade-${width}x${height}.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    for (const [sel, name] of [
      [`${box} article[data-scale-lesson="cascade"]`, 'question'],
      ['[data-plot="scale-load"]', 'plots'],
      ['[data-group="scale-tiers"]', 'tiers'],
      ['[data-plot="scale-queue"]', 'breaker'],
      ['[data-testid="scale-summary"]', 'summary'],
    ]) {
      await page.evaluate((s) => document.querySelector(s).scrollIntoView(), sel);
      await page.screenshot({ path: join(ARTIFACTS, `scale-cascade-${name}-1280x720.png`) });
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
});
