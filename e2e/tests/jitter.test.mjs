// The jitter experiment in headless Chromium: Brooker's five strategies at
// N = 5 and 10, run by the server's load engine through Trunk's /rpc route.
//
// Every plotted point is held to the server's own numbers, read here from
// the bytes the server sent (each gRPC-Web reply the page received, decoded
// by this file, not by the page): a point's calls are the run's final
// attempts_sent and the CompareAndSets GetStats counted in the run's
// session, its time the run's final elapsed_ms. Then the page's comparison
// with the blog is checked against those same numbers, claim by claim.
// Screenshots in e2e/artifacts/jitter-1280x720.png, jitter-1920x1080.png and
// jitter-whole-1280.png (the experiment from its heading to its comparison).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, rows, useLab } from '../lib/lab.mjs';

const lab = useLab({});
const view = '[data-testid="jitter"]';
const STRATEGIES = ['none', 'exponential', 'full', 'equal', 'decorrelated'];

/** A protobuf message's fields: number → list of values (varints as numbers, the rest as bytes). */
function fields(bytes) {
  const out = new Map();
  let i = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[i++];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const [number, type] = [Math.floor(key / 8), key % 8];
    let value;
    if (type === 0) value = varint();
    else if (type === 1) value = bytes.subarray(i, (i += 8));
    else if (type === 2) {
      const length = varint();
      value = bytes.subarray(i, (i += length));
    } else if (type === 5) value = bytes.subarray(i, (i += 4));
    else throw new Error(`wire type ${type}`);
    if (!out.has(number)) out.set(number, []);
    out.get(number).push(value);
  }
  return out;
}

/** The messages of a gRPC-Web reply body (its trailers frame left out). */
function messages(body) {
  const out = [];
  for (let i = 0; i + 5 <= body.length; ) {
    const flag = body[i];
    const length = body.readUInt32BE(i + 1);
    if ((flag & 0x80) === 0) out.push(body.subarray(i + 5, i + 5 + length));
    i += 5 + length;
  }
  return out;
}

const first = (message, number, fallback = 0) => message.get(number)?.[0] ?? fallback;

/**
 * In the page, before its own code: keeps a copy of the body of every reply
 * to the `-jitter` session, as the server sent it (fetch's stream teed, so
 * the page reads its half as it arrives). DevTools' response bodies are not
 * available for a streamed reply, hence this.
 */
function keepReplies() {
  window.__jitterReplies = [];
  const fetch = window.fetch;
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : null;
    const headers = request ? request.headers : new Headers(init?.headers);
    const url = request ? request.url : String(input);
    const response = await fetch(input, init);
    if (!(headers.get('x-lab-session') ?? '').endsWith('-jitter') || !response.body) return response;
    const [page, kept] = response.body.tee();
    // Kept as it arrives: the page drops a run's stream once it has the
    // final snapshot, which may cut the copy short of the trailers.
    const entry = { method: url.slice(url.lastIndexOf('/') + 1), bytes: [] };
    window.__jitterReplies.push(entry);
    const reader = kept.getReader();
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        entry.bytes.push(...value);
      }
    })().catch(() => {});
    return new Response(page, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** The replies kept by `keepReplies`, decoded: each run's final snapshot, and the CompareAndSets GetStats counted after it. */
async function serverReplies(page) {
  const kept = await page.evaluate(() => window.__jitterReplies);
  const replies = { runs: [], stats: [] };
  for (const { method, bytes } of kept) {
    const decoded = messages(Buffer.from(bytes)).map(fields);
    if (method === 'RunLoad') {
      const last = decoded.find((s) => first(s, 3) === 1); // final
      if (!last) continue; // the stopped run
      replies.runs.push({ elapsedMs: first(last, 1), succeeded: first(last, 6), attempts: first(last, 10) });
    } else if (method === 'GetStats') {
      const cas = (decoded[0].get(2) ?? [])
        .map(fields)
        .find((e) => Buffer.from(first(e, 1)).toString() === '/calculator.v1.Store/CompareAndSet');
      replies.stats.push(cas ? first(cas, 2) : 0);
    }
  }
  return replies;
}

/** What the page's claims must say, judged here from the points at N (as the blog frames them). */
function expectedClaims(at) {
  const [none, exp, full, equal, decor] = STRATEGIES.map((s) => at[s]);
  const jittered = [full, equal, decor];
  return {
    loser: jittered.every((p) => exp.calls > p.calls && exp.timeMs > p.timeMs),
    cut: jittered.every((p) => p.calls < exp.calls),
    least: full.calls <= equal.calls && full.calls <= decor.calls,
    equal: equal.calls >= full.calls && equal.timeMs > full.timeMs,
    decorrelated: decor.calls > full.calls && decor.timeMs < full.timeMs,
    // Immediate retry finishing first is where the lab differs from the blog.
    first: !Object.values(at).every((p) => none.timeMs <= p.timeMs),
  };
}

describe('the jitter experiment', () => {
  it('plots each run as the server counted it, and compares with the blog from those numbers', async () => {
    await lab.browser.context.addInitScript(keepReplies);
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    await page.fill('#jitter-clients', '10, 5');
    await page.press('#jitter-clients', 'Tab');
    await page.fill('#jitter-seed', '3');
    await page.press('#jitter-seed', 'Tab');
    const started = Date.now();
    await page.click('[data-testid="jitter-run"]');
    // Live progress while a run is under way.
    await page.waitForSelector('[data-testid="jitter-progress"]:has-text("clients done")', { timeout: 10_000 });
    await page.waitForSelector(`${view}[data-busy="false"][data-done="10"]`, { timeout: 60_000 });
    const wallS = (Date.now() - started) / 1000;
    assert.equal(await page.locator('[data-testid="jitter-error"]').count(), 0);

    // The plan: the quick strategies at each N, then exponential without jitter.
    const order = [
      ...[5, 10].flatMap((n) => ['none', 'full', 'equal', 'decorrelated'].map((s) => [s, n])),
      ['exponential', 5],
      ['exponential', 10],
    ];
    const { runs, stats } = await serverReplies(page);
    assert.equal(runs.length, order.length, 'one RunLoad per (strategy, N)');
    assert.equal(stats.length, order.length);

    for (const plot of ['jitter-calls', 'jitter-time']) {
      const points = await rows(page, `[data-plot="${plot}"] path[data-strategy]`);
      assert.equal(points.length, order.length, `${plot}: a point per run`);
      order.forEach(([strategy, n], i) => {
        const p = points.find((q) => q.strategy === strategy && q.n === n);
        assert.ok(p, `${plot}: ${strategy} at N = ${n}`);
        const run = runs[i];
        assert.equal(run.succeeded, n, `${strategy}, N = ${n}: every client wrote`);
        assert.equal(p.calls, run.attempts, `${strategy}, N = ${n}: calls = the run's attempts`);
        assert.equal(p.calls, stats[i], `${strategy}, N = ${n}: calls = the server's CompareAndSets`);
        assert.equal(p.serverCalls, stats[i]);
        assert.equal(p.timeMs, run.elapsedMs, `${strategy}, N = ${n}: time = the run's elapsed_ms`);
        assert.ok(p.calls >= n, 'at least one write per client');
      });
    }
    // The same numbers in the table (at the list's largest N, 10).
    const points = await rows(page, '[data-plot="jitter-calls"] path[data-strategy]');
    const at10 = Object.fromEntries(points.filter((p) => p.n === 10).map((p) => [p.strategy, p]));
    for (const s of STRATEGIES) {
      const cells = await page.locator(`[data-testid="jitter-table"] tr[data-strategy="${s}"] td`).allInnerTexts();
      assert.equal(cells[1], String(at10[s].calls), `${s}: the table's calls`);
    }

    // The comparison, at N = 10: each claim filed where this run's numbers put it.
    const comparison = page.locator('[data-testid="jitter-comparison"]');
    assert.equal(await comparison.getAttribute('data-n'), '10');
    const claims = await rows(page, '[data-testid="jitter-comparison"] li[data-claim]');
    const expected = expectedClaims(at10);
    assert.deepEqual(
      Object.fromEntries(claims.map((c) => [c.claim, c.agrees === 'true'])),
      expected,
      `claims against the numbers ${JSON.stringify(at10)}`,
    );
    const loser = await page.locator('li[data-claim="loser"]').innerText();
    assert.ok(loser.includes(`made ${at10.exponential.calls} calls`), loser);
    console.log(
      `jitter e2e: ${wallS.toFixed(1)} s for ${order.length} runs; N = 10:`,
      STRATEGIES.map((s) => `${s} ${at10[s].calls}/${at10[s].timeMs} ms`).join(', '),
    );

    for (const [width, height] of [[1280, 720], [1920, 1080]]) {
      await page.setViewportSize({ width, height });
      await page.evaluate(() => document.querySelector('[data-plot="jitter-calls"]').scrollIntoView());
      await page.screenshot({ path: join(ARTIFACTS, `jitter-${width}x${height}.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.locator(view).screenshot({ path: join(ARTIFACTS, 'jitter-whole-1280.png') });

    // Stop: the run in progress ends, and the page says nothing went wrong.
    await page.fill('#jitter-clients', '200');
    await page.press('#jitter-clients', 'Tab');
    await page.click('[data-testid="jitter-run"]');
    await page.waitForSelector('[data-testid="jitter-progress"]:has-text("clients done")', { timeout: 10_000 });
    await page.click('[data-testid="jitter-stop"]');
    await page.waitForSelector(`${view}[data-busy="false"]`, { timeout: 5_000 });
    assert.equal(await page.locator('[data-testid="jitter-error"]').count(), 0);
    assert.deepEqual(problems, []);
  });
});
