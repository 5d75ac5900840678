// Every guided lesson of the resilience lab, run in headless Chromium against
// the real server, with assertions on what the page plots and tabulates (the
// data-* attributes of the timeline, the breaker band, the summary and the
// client-vs-server table). A screenshot of each lesson goes to
// e2e/artifacts/lesson-<id>.png.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, openPage, rows, useLab } from '../lib/lab.mjs';
import { serverRecords } from '../lib/server_record.mjs';

const lab = useLab({ proxyPrefix: '/e2e-lessons' });

/**
 * Opens a lesson, picks `answer` (a choice's index) in its check if given,
 * runs it, waits for its conclusion, screenshots it, returns what is drawn.
 */
async function runLesson(id, answer) {
  const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
  await page.click(`button.lesson[data-lesson="${id}"]`);
  if (answer !== undefined) await page.check(`[data-testid="check"] input[data-choice="${answer}"]`);
  await page.click('[data-testid="lesson-run"]');
  await page.locator('[data-testid="conclusion"]').waitFor({ timeout: 90_000 });
  await page.locator('.lab').screenshot({ path: join(ARTIFACTS, `lesson-${id}.png`) });
  const drawn = {
    truth: await rows(page, 'table.truth tbody tr'),
    summary: await rows(page, 'table.summary tbody tr'),
    attempts: await rows(page, 'svg[data-plot="timeline"] [data-outcome]'),
    breaker: await rows(page, 'svg[data-plot="breaker"] [data-state]'),
    tokens: await rows(page, 'svg[data-plot="budget"] [data-tokens]'),
    error: await page.locator('[data-testid="lab-error"]').count(),
    verdict: (await rows(page, '[data-testid="verdict"]'))[0],
    checkLocked: (await page.locator('[data-testid="check"]').getAttribute('disabled')) !== null,
  };
  // The numbers a student reads, kept for the README's lesson table.
  const record = { lesson: id, truth: drawn.truth, summary: drawn.summary };
  writeFileSync(join(ARTIFACTS, `lesson-${id}.json`), JSON.stringify(record, null, 2));
  console.log(`lesson ${id}:`, JSON.stringify(record));
  return { page, problems, drawn };
}

async function finish({ page, problems, drawn }) {
  assert.equal(drawn.error, 0, 'no error shown');
  assert.deepEqual(problems, [], 'no errors in the browser console');
  await page.close();
}

const outcomes = (attempts) => new Set(attempts.map((a) => a.outcome));

describe('lessons', () => {
  it('withdraw: without keys the server executes more withdrawals than intended; with keys they are equal', async () => {
    const run = await runLesson('withdraw', 0); // "exactly $50, as intended"
    const [keysOff, keysOn] = run.drawn.truth;
    assert.ok(keysOff.executed > keysOff.intended, `keys off executed ${keysOff.executed} of ${keysOff.intended}`);
    assert.ok(keysOff.offBy < 0, 'the balance is lower than intended');
    assert.ok(keysOff.clientOffBy < 0, 'and lower than the client believes');
    assert.equal(keysOn.executed, keysOn.intended, 'keys on: executions equal intentions');
    assert.equal(keysOn.offBy, 0);
    assert.equal(keysOn.clientOffBy, 0);
    assert.ok(keysOn.replayed > 0, 'retries were answered from the idempotency store');
    // The check: committed before the run, locked during it, judged by the table's numbers.
    assert.equal(run.drawn.verdict.chosen, 0);
    assert.equal(run.drawn.verdict.right, 1, 'the balance is below $50, as the truth table says');
    assert.ok(run.drawn.checkLocked, 'the answer cannot change after the run');
    const drawnOutcomes = outcomes(run.drawn.attempts);
    assert.ok(drawnOutcomes.has('dropped-reply') && drawnOutcomes.has('replayed'), [...drawnOutcomes].join());
    // Each step's own server counters (issue 10): keys are stored only with keys on.
    const [countersOff, countersOn] = await rows(run.page, '[data-testid="server-counters"] li');
    assert.deepEqual([countersOff.replays, countersOff.keysStored], [0, 0]);
    assert.equal(countersOn.replays, keysOn.replayed);
    assert.equal(countersOn.keysStored, keysOn.intended, 'one stored key per logical call');
    assert.ok(countersOff.faultsDrop > 0 && countersOn.faultsDrop > 0, 'both steps lost replies');
    // Every execution either answered the client or lost its reply; an
    // attempt answered from the store and then lost is a replay, not one more.
    for (const [step, truth] of [keysOff, keysOn].entries()) {
      const attempts = await rows(run.page, `svg[data-plot="timeline"] g[data-step="${step}"] [data-outcome]`);
      const count = (outcome) => attempts.filter((a) => a.outcome === outcome).length;
      const [answered, dropped] = [count('ok') + count('error'), count('dropped-reply')];
      assert.equal(truth.executed, answered + dropped, `${truth.label}: ${truth.executed} = ${answered} + ${dropped}`);
    }
    // Without keys each lost reply is an execution the client never heard
    // of; with keys the retry's replay tells it, unless every attempt failed.
    assert.equal(keysOff.unseen, keysOff.executed - keysOff.clientOk);
    assert.equal(keysOn.unseen, keysOn.intended - keysOn.clientOk);
    await finish(run);
  });

  it('set vs increment: both run twice, only the increment ends off', async () => {
    const run = await runLesson('set-vs-increment');
    const [increment, set] = run.drawn.truth;
    assert.ok(increment.executed > increment.intended && increment.offBy > 0, JSON.stringify(increment));
    assert.ok(set.executed > set.intended, 'the sets were duplicated too');
    assert.equal(set.offBy, 0, 'but a repeated set leaves the same value');
    // Issue 10: the set's duplicates are harmless and are not shown as an alarm.
    assert.equal(increment.duplicatesHarmless, 'false');
    assert.equal(set.duplicatesHarmless, 'true');
    const executedCell = (operation) =>
      run.page.locator(`table.truth tbody tr[data-operation="${operation}"] td`).nth(2);
    assert.match(await executedCell('Increment').getAttribute('class'), /\bbad\b/);
    assert.doesNotMatch((await executedCell('SetValue').getAttribute('class')) ?? '', /\bbad\b/);
    assert.match(await executedCell('SetValue').innerText(), /harmless \(SetValue is idempotent\)/);
    const findings = await run.page.locator('[data-testid="findings"] li').allInnerTexts();
    assert.ok(
      findings.some((f) => f.includes(`SetValue ran ${set.executed} times for ${set.intended} calls intended; the ${set.duplicates} extra runs did no harm`)),
      findings.join('\n'),
    );
    await finish(run);
  });

  it('delivery semantics: at-most-once loses, at-least-once duplicates, keys give exactly-once effect', async () => {
    const run = await runLesson('delivery');
    const [atMost, atLeast, exactly] = run.drawn.truth;
    assert.ok(atMost.clientOk < atMost.intended, 'without retries some calls fail for the client');
    assert.ok(atMost.executed > atMost.clientOk, 'yet some of those failed calls did execute (lost replies)');
    assert.ok(atMost.executed <= atMost.intended);
    assert.ok(atMost.clientOffBy < 0, 'the client believes it kept money that is gone');
    assert.ok(atLeast.executed > atLeast.intended, 'retrying without keys duplicates');
    assert.equal(exactly.executed, exactly.intended);
    assert.equal(exactly.offBy, 0);
    assert.equal(exactly.clientOffBy, 0);
    await finish(run);
  });

  it('service down: the breaker rejects fast during the outage and a probe closes it after', async () => {
    const run = await runLesson('service-down');
    const [plain, guarded, brief] = run.drawn.summary;
    assert.equal(plain.rejected, 0);
    assert.ok(plain.failedMs >= 20 * 240, `without a breaker every outage call waited: ${plain.failedMs} ms`);
    assert.ok(guarded.rejected > 0, 'calls were rejected by the breaker');
    assert.ok(guarded.failedMs < plain.failedMs / 2, `with a breaker ${guarded.failedMs} ms vs ${plain.failedMs} ms`);
    const rejected = run.drawn.attempts.filter((a) => a.outcome === 'rejected');
    assert.ok(rejected.length > 0 && rejected.every((a) => a.endMs - a.startMs < 5), 'rejections take no time');
    const states = run.drawn.breaker.map((s) => s.state);
    for (const state of ['closed', 'open', 'half-open']) assert.ok(states.includes(state), `${state} in ${states}`);
    assert.equal(states.at(-1), 'closed', 'a successful probe closed it after the outage');
    // When a breaker hurts: a 4-call outage, then calls refused though the service was back.
    assert.equal(brief.calls, 24);
    assert.ok(brief.rejected > 0 && brief.rejected < brief.calls - 4, `refused ${brief.rejected} after the outage`);
    assert.ok(brief.ok > 0, 'a probe got through and closed it');
    assert.equal(run.drawn.verdict.right, 1, 'judged "some", by the summary\'s numbers');
    assert.equal(run.drawn.verdict.chosen, '', 'no answer given');
    await finish(run);
  });

  it('timeouts: a timeout below the latency distribution gives false timeouts', async () => {
    const run = await runLesson('timeouts');
    const [tight, generous] = run.drawn.summary;
    assert.ok(tight.timeouts > tight.calls / 2, `${tight.timeouts} of ${tight.calls} timed out at 100 ms`);
    assert.equal(generous.timeouts, 0);
    assert.equal(generous.ok, generous.calls);
    const [tightTruth] = run.drawn.truth;
    assert.ok(tightTruth.executed < tightTruth.intended, 'timed-out requests were not executed (grpc-timeout)');
    // The histograms show one step at a time: the real distribution first.
    const panel = run.page.locator('[data-plot="latency"]');
    assert.equal(await panel.getAttribute('data-step'), '1');
    const p99 = Number(await panel.locator('[data-testid="histogram"]').first().getAttribute('data-p99'));
    assert.ok(p99 > 100 && p99 < 400, `p99 of the healthy server, ${p99} ms, lies between the two timeouts`);
    await panel.getByRole('button', { name: 'timeout 100 ms' }).click();
    assert.equal(await panel.getAttribute('data-step'), '0');
    await finish(run);
  });

  it('retry storm: jitter spreads retries, the budget cuts them', async () => {
    const run = await runLesson('retry-storm');
    const [noJitter, , budget] = run.drawn.summary;
    assert.ok(noJitter.attempts > noJitter.calls * 1.5, `storm: ${noJitter.attempts} attempts for ${noJitter.calls} calls`);
    assert.ok(budget.attempts < noJitter.attempts * 0.8, `budget: ${budget.attempts} vs ${noJitter.attempts}`);
    assert.ok(run.drawn.tokens.length > 0, 'the budget plot shows tokens');
    assert.ok(run.drawn.tokens.some((t) => t.tokens <= 5), 'tokens fell to the refusal line');
    // The page's attempt times against the server's own record of the same
    // requests (read over gRPC-Web by this test, not by the page). The server
    // decides each in well under a millisecond; the page used to add its own
    // redraws (50–140 ms at p50, docs/analysis.md §6) and now draws only
    // between attempts: 23–49 ms at p50 on the 2-core VM at load 1–3.6, the
    // browser's own work and the machine's load. The bound is generous on
    // purpose (it catches the old redraw stalls only on a loaded machine);
    // the exact count is not.
    const session = await run.page.locator('section.lab').getAttribute('data-session');
    const records = (await serverRecords(lab.server.url, session)).filter((r) => !r.bookkeeping);
    const sent = run.drawn.attempts.filter((a) => a.outcome !== 'rejected');
    assert.equal(records.length, sent.length, 'the server recorded every attempt the timeline draws');
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const pageMs = median(sent.map((a) => a.endMs - a.startMs));
    const serverMs = median(records.map((r) => r.serverMicros / 1000));
    const stats = await rows(run.page, '[data-testid="render-stats"]');
    console.log('retry storm, attempt p50:', JSON.stringify({ pageMs, serverMs, attempts: sent.length, render: stats[0] }));
    assert.ok(serverMs < 5, `the server decided in ${serverMs} ms (p50)`);
    assert.ok(pageMs < serverMs + 100, `the page's attempt p50 ${pageMs} ms is not the server's ${serverMs} ms plus the page's redraws`);
    await finish(run);
  });

  it('one slow call: others keep going; a per-attempt timeout cuts the slow one', async () => {
    const run = await runLesson('one-slow-call');
    const [noTimeout, withTimeout] = run.drawn.summary;
    assert.ok(noTimeout.slowestMs >= 1900, `the stuck call took ${noTimeout.slowestMs} ms`);
    assert.ok(noTimeout.wallMs < noTimeout.slowestMs + 1000, 'the other calls ran meanwhile');
    assert.ok(withTimeout.timeouts >= 1);
    assert.ok(withTimeout.slowestMs < 1000, `with a timeout the slowest took ${withTimeout.slowestMs} ms`);
    assert.equal(withTimeout.ok, withTimeout.calls);
    await finish(run);
  });

  it('the same seed replays the same run', async () => {
    const first = await runLesson('delivery');
    const again = first.page.getByRole('button', { name: /Run again with seed/ });
    const outcomesOf = (attempts) => attempts.map((a) => `${a.attempt}:${a.outcome}`).join(' ');
    const before = { truth: first.drawn.truth, outcomes: outcomesOf(first.drawn.attempts) };
    await again.click();
    await first.page.locator('[data-testid="conclusion"]').waitFor({ timeout: 90_000 });
    const truth = await rows(first.page, 'table.truth tbody tr');
    const attempts = await rows(first.page, 'svg[data-plot="timeline"] [data-outcome]');
    assert.deepEqual(truth, before.truth);
    assert.equal(outcomesOf(attempts), before.outcomes);
    await finish(first);
  });
});
