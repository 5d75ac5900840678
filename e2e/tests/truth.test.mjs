// The page tells the truth (issue 10): its own idempotency keys never repeat,
// so nothing the student did not cause is answered from the store; its own
// reads are not counted as the student's calls (nor shown as theirs in the
// server's view); and an attempt answered from
// the store whose reply was then lost is drawn as a replay, not an execution.
// Everything is read from the page's data-* attributes, in headless Chromium
// against the real server. Screenshots of the truth table go to e2e/artifacts/.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, rows, slide, useLab } from '../lib/lab.mjs';

const lab = useLab({ proxyPrefix: '/e2e-truth' });

const open = () => openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);

async function choose(page, operation) {
  await page.selectOption('#field-operation', operation);
}

/** Clicks "Call once" and waits until its row of the truth table is there. */
async function callOnce(page) {
  const before = await page.locator('table.truth tbody tr').count();
  await page.click('[data-testid="call-once"]');
  await page.waitForFunction(
    (n) => document.querySelectorAll('table.truth tbody tr').length > n
      && !document.querySelector('[data-testid="progress"]'),
    before,
  );
  const truth = await rows(page, 'table.truth tbody tr');
  const step = truth.length - 1;
  const attempts = await rows(page, `svg[data-plot="timeline"] g[data-step="${step}"] [data-outcome]`);
  return { truth: truth.at(-1), attempts, text: await page.locator('[data-testid="last-call"]').innerText() };
}

async function runLesson(page, id) {
  await page.click(`button.lesson[data-lesson="${id}"]`);
  await page.click('[data-testid="lesson-run"]');
  await page.locator('[data-testid="conclusion"]').waitFor({ timeout: 90_000 });
}

describe('the page tells the truth', () => {
  it('after a lesson, manual calls in the same tab are not answered with the lesson\'s outcomes', async () => {
    const { page, problems } = await open();
    // A student's own pick first: the lesson must replace it in the control,
    // not only in the settings (a newcomer saw "GetBalance" while Run ran Withdraw).
    await page.selectOption('#field-operation', 'GetBalance');
    await runLesson(page, 'withdraw');
    assert.equal(await page.inputValue('#field-operation'), 'Withdraw', 'the control shows the operation the lesson set');
    await page.locator('.plot-card:has(table.truth)').screenshot({ path: join(ARTIFACTS, 'truth-withdraw.png') });
    // The settings are the lesson's last step: Withdraw $5 from alice, keys
    // on. Without faults, any replay now would be one the student did not cause.
    await slide(page, 'drop', 0);
    await slide(page, 'fail', 0);

    const withdraw = await callOnce(page);
    assert.deepEqual(withdraw.attempts.map((a) => a.outcome), ['ok'], 'one attempt, executed');
    assert.equal(withdraw.truth.operation, 'Withdraw');
    assert.equal(withdraw.truth.executed, 1, 'the withdrawal ran');
    assert.equal(withdraw.truth.replayed, 0, 'nothing was answered from the store');
    assert.equal(withdraw.truth.clientOffBy, 0, 'the client is right about the balance');
    assert.equal(withdraw.truth.offBy, 0);
    assert.match(withdraw.text, /balance \$45\.00/, `the lesson left $50, one more $5: ${withdraw.text}`);

    await choose(page, 'GetBalance');
    const read = await callOnce(page);
    assert.doesNotMatch(read.text, /FAILED_PRECONDITION/);
    assert.match(read.text, /balance \$45\.00/);
    assert.deepEqual(read.attempts.map((a) => a.outcome), ['ok']);
    assert.equal(read.truth.executed, 1, "the page's own balance reads are not counted");
    assert.equal(read.truth.duplicates, 0);
    assert.equal(read.truth.replayed, 0);

    // The server's view lists the page's own set-up and truth reads too — the
    // server ran them — but marked as the page's, and keeps them out of its
    // table: GetBalance there is the student's one read. (Cross-origin here,
    // so the mark's header also passed the CORS preflight.)
    await page.waitForSelector('[data-testid="sv-table"] tr[data-operation="GetBalance"]', { timeout: 10_000 });
    const [balance] = await rows(page, '[data-testid="sv-table"] tr[data-operation="GetBalance"]');
    assert.equal(balance.requests, 1, "only the student's own read");
    const own = await rows(page, '[data-testid="sv-calls"] li[data-bookkeeping="true"]');
    assert.ok(own.length > 0, 'the lesson set up an account and read balances');
    assert.ok(own.every((r) => ['Deposit', 'GetBalance'].includes(r.operation)), JSON.stringify(own));
    const [note] = await rows(page, '[data-testid="sv-own"]');
    assert.equal(note.requests, own.reduce((n, r) => n + r.attempts, 0));
    assert.match(await page.locator('[data-testid="sv-calls"] li[data-bookkeeping="true"] .sv-who').first().innerText(), /· the page$/);
    await page.locator('[data-testid="sv-calls"]').screenshot({ path: join(ARTIFACTS, 'server-view-own-calls.png') });

    await page.locator('.plot-card:has(table.truth)').screenshot({ path: join(ARTIFACTS, 'truth-after-withdraw-manual.png') });
    const counters = await rows(page, '[data-testid="server-counters"] li');
    assert.equal(counters.length, 4, 'one line of server counters per run');
    assert.deepEqual(counters.slice(2).map((c) => [c.replays, c.keyReuseRejected]), [[0, 0], [0, 0]]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('an attempt answered from the store whose reply is lost is a replay, not an execution', async () => {
    const { page, problems } = await open();
    await choose(page, 'Increment');
    await slide(page, 'drop', 100);
    // Keys are on by default: attempt 1 executes and loses its reply; every
    // retry is answered from the store and loses its reply too.
    const call = await callOnce(page);
    const outcomes = call.attempts.map((a) => a.outcome);
    assert.ok(outcomes.length >= 2, outcomes.join());
    assert.deepEqual(outcomes, ['dropped-reply', ...outcomes.slice(1).map(() => 'replayed')]);
    assert.equal(call.truth.executed, 1);
    assert.equal(call.truth.replayed, outcomes.length - 1);
    assert.equal(call.truth.unseen, 1, 'one execution, whose reply never arrived');
    assert.match(call.text, /UNAVAILABLE: “injected fault: the server answered from the idempotency store/);
    const findings = await page.locator('[data-testid="findings"] li').allInnerTexts();
    assert.equal(findings.length, 1);
    assert.match(findings[0], /the server ran Increment 1 time, but only 0 answers reached the client\. 1 reply was lost/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('timeouts: the server ran calls the client had given up on, and the page says how many', async () => {
    const { page, problems } = await open();
    await runLesson(page, 'timeouts');
    await page.locator('.plot-card:has(table.truth)').screenshot({ path: join(ARTIFACTS, 'truth-timeouts.png') });
    const [tight, generous] = await rows(page, 'table.truth tbody tr');
    const [tightSummary] = await rows(page, 'table.summary tbody tr');
    // No retries, no lost replies: every execution either answered the
    // client (OK) or ran after the client stopped waiting.
    assert.equal(tight.answered, tight.clientOk);
    assert.equal(tight.unseen, tight.executed - tight.clientOk);
    assert.equal(tightSummary.timeouts, tight.intended - tight.clientOk, 'every failed call timed out');
    const findings = await page.locator('[data-testid="findings"] li[data-step="0"]').allInnerTexts();
    if (tight.unseen > 0) {
      assert.equal(findings.length, 1);
      assert.ok(
        findings[0].startsWith(`timeout 100 ms: the server ran Add ${tight.executed} times, but only ${tight.clientOk} answers reached the client. ${tight.unseen === 1 ? '1 call' : `${tight.unseen} calls`} ran after the client had stopped waiting (it had timed out)`),
        findings[0],
      );
    } else {
      assert.deepEqual(findings, [], 'nothing ran unseen, and nothing is claimed');
    }
    console.log(`timeouts lesson: ${tight.clientOk} OK, ${tight.executed} executed, ${tight.unseen} ran after a timeout`);
    // At 400 ms a healthy server answers in time; on a loaded machine a call
    // may still time out, and then the page must count it the same way.
    const generousSummary = (await rows(page, 'table.summary tbody tr'))[1];
    assert.equal(generous.unseen, generous.executed - generous.clientOk);
    if (generousSummary.timeouts === 0) assert.equal(generous.unseen, 0, 'no timeout, nothing unseen');
    const counters = await rows(page, '[data-testid="server-counters"] li');
    assert.equal(counters.length, 2);
    assert.ok(counters[0].faultsDelay > 0 && counters[1].faultsDelay > 0, 'each step counted its own delays');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
