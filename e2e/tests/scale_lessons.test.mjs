// The Scale view's lessons in headless Chromium: the seeds' payment outage
// at 1000 calls, and the metastable retry storm. Each asserts the contrast
// the lesson teaches from the numbers the page shows (the step table's
// data-* attributes, read from the load engine's own snapshots), and that
// the check is judged by them. Screenshot: e2e/artifacts/scale-lessons-1280x720.png.
//
// Wall time: the payment lesson runs at ?scale_time=0.2 (the same 1000
// calls in a fifth of the time, a 1 s timeout: ~11 s for both steps); the
// storm's story depends on service times, which are not scaled, so only its
// first two steps run, at full length (~16 s).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, rows, useLab } from '../lib/lab.mjs';
import { SCALE_LESSONS as box, scaleStepDone, scaleSteps as steps } from '../lib/scale_lessons.mjs';

const lab = useLab({});

describe('the Scale view’s lessons', () => {
  it('payment service down: a shared breaker cuts the clients’ waiting to what it needed to learn', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?scale_time=0.2`);
    await page.click(`button[data-scale-lesson="payment-at-scale"]`);
    assert.match(await page.innerText(`${box} [data-testid="scale-time"]`), /× 0\.2/);
    // Opening the lesson puts its first step's settings in the controls.
    assert.equal(await page.inputValue('#field-scale-duration'), '5000');
    await page.click(`${box} input[data-choice="1"]`);
    await page.click('[data-testid="scale-lesson-run"]');
    await scaleStepDone(page, 1, 60_000);
    // The plots say whose run they show.
    assert.match(await page.innerText('[data-testid="scale-shows"]'), /^The plots show “Payment service down: .*”, step 2 of 2: /);
    // The controls show what ran: the last step's settings, scaled.
    assert.equal(await page.inputValue('#field-scale-duration'), '5000');
    assert.equal(await page.inputValue('#field-scale-rate'), '200');

    const [none, breaker] = await steps(page);
    console.log(`payment ×0.2: no breaker ${JSON.stringify(none)}; breaker ${JSON.stringify(breaker)}`);
    for (const s of [none, breaker]) {
      assert.equal(s.calls, 1000);
      assert.equal(s.executions, 0, 'the service never ran a payment');
    }
    // Every call waited its whole (scaled: 1 s) timeout without a breaker.
    assert.ok(none.wastedS >= 0.95 * 1000 * 1, `${none.wastedS} client-s wasted without a breaker`);
    assert.equal(none.rejected, 0);
    assert.ok(none.wallS >= 5, `the run took ${none.wallS} s`);
    // With it, only what it took to learn: calls in flight before the first
    // timeouts ended (a quarter of the arrivals) and its probes.
    assert.ok(breaker.wastedS < 0.4 * none.wastedS, `${breaker.wastedS} vs ${none.wastedS} client-s`);
    assert.ok(breaker.rejected >= 600, `${breaker.rejected} calls failed fast`);

    const verdict = page.locator(`${box} [data-testid="verdict"]`);
    assert.equal(await verdict.getAttribute('data-right'), '1');
    assert.equal(await verdict.getAttribute('data-chosen'), '1');
    assert.match(await verdict.innerText(), /^Right: a fraction/);
    assert.match(await page.innerText('[data-testid="scale-conclusion"]'), /what the breaker needed to learn/);
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.evaluate((sel) => document.querySelector(sel).scrollIntoView(), `${box} [data-testid="scale-steps"]`);
    await page.screenshot({ path: join(ARTIFACTS, 'scale-lessons-payment-1280x720.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('a metastable retry storm: three tries keep goodput collapsed after the trigger, one does not', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    await page.click(`button[data-scale-lesson="metastable"]`);
    await page.click(`${box} input[data-choice="0"]`); // a wrong guess, judged as such
    const runStep = async (i) => {
      await page.click(`${box} tr[data-step="${i}"] [data-testid="scale-step-run"]`);
      await scaleStepDone(page, i, 40_000);
    };
    await runStep(0);
    await runStep(1);
    const [calm, storm] = await steps(page);
    console.log(`metastable: no retries ${JSON.stringify(calm)}; 3 tries ${JSON.stringify(storm)}`);
    // Two thirds busy before and after the trigger: no retries recovers.
    assert.ok(calm.goodputLast >= 150, `no retries: goodput ${calm.goodputLast}/s in the last second`);
    // Three tries: offered load above the 400/s capacity, goodput collapsed,
    // four seconds after the trigger ended.
    assert.ok(storm.offeredLast > 400, `three tries: offered ${storm.offeredLast} attempts/s`);
    assert.ok(storm.goodputLast <= 0.1 * calm.goodputLast, `goodput ${storm.goodputLast} vs ${calm.goodputLast}/s`);
    assert.ok(storm.executions > storm.calls, `the server executed ${storm.executions} for ${storm.calls} calls`);

    const verdict = page.locator(`${box} [data-testid="verdict"]`);
    assert.equal(await verdict.getAttribute('data-right'), '2');
    assert.match(await verdict.innerText(), /^You answered/);
    // Two of five steps ran: the conclusion, which speaks of all five, waits.
    assert.equal(await page.locator('[data-testid="scale-conclusion"]').count(), 0);

    // The plots and the summary show the latest run: step 2's, the same
    // numbers as its row.
    const [summary] = await rows(page, '[data-testid="scale-summary"]');
    assert.equal(summary.calls, storm.calls);
    assert.equal(summary.serverExecutions, storm.executions);
    assert.ok(summary.attempts > 1.5 * summary.calls, `${summary.attempts} attempts for ${summary.calls} calls`);

    // Step 1's run was kept: shown again, its plots and summary are its own
    // (the same numbers as its row), not a new run's.
    assert.equal(await page.isChecked('#field-scale-retries'), true, 'step 2 ran last: three tries');
    await page.click('[data-testid="scale-show-step"][data-step="0"]');
    assert.equal(await page.isChecked('#field-scale-retries'), false, "the controls show step 1's settings");
    assert.match(await page.innerText('[data-testid="scale-shows"]'), /step 1 of 5: no retries/);
    const [again] = await rows(page, '[data-testid="scale-summary"]');
    assert.equal(again.calls, calm.calls);
    assert.equal(again.serverExecutions, calm.executions);
    const lastSecond = await page.$$eval('[data-plot="scale-load"] circle[data-series="goodput"]', (cs) =>
      cs.map((c) => [Number(c.dataset.atMs), Number(c.dataset.value)]),
    );
    const tail = lastSecond.filter(([at]) => at > 6000 && at <= 7000).map(([, v]) => v);
    const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
    assert.ok(Math.abs(mean - calm.goodputLast) < 0.01, `plotted ${mean}/s vs the row's ${calm.goodputLast}/s`);
    assert.equal(await page.getAttribute('[data-testid="scale-show-step"][data-step="0"]', 'aria-pressed'), 'true');
    await page.evaluate(() => document.querySelector('[data-testid="scale-shows"]').scrollIntoView());
    await page.screenshot({ path: join(ARTIFACTS, 'scale-lessons-step-again-1280x720.png') });

    await page.setViewportSize({ width: 1280, height: 720 });
    await page.locator(box).scrollIntoViewIfNeeded();
    await page.evaluate((sel) => document.querySelector(sel).scrollIntoView(), `${box} [data-testid="scale-steps"]`);
    await page.screenshot({ path: join(ARTIFACTS, 'scale-lessons-1280x720.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });
});
