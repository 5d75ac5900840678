// The server's view in headless Chromium: the course's Python starter client
// (starter/python) runs against the real server in the page's own session,
// and the page shows, from the server's record (Lab/WatchRequests, streamed),
// what the server did with each attempt. The naive client (no keys, drops
// on) leaves withdrawals that ran and lost their reply — each retried, so
// each ran twice; the solution (keys) leaves none. A reload brings the
// server's backlog back; a server restart is survived. Every number asserted
// is read from the page's data-* attributes and checked against what the
// client itself printed. Screenshot: e2e/artifacts/server-view-1280x720.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, REPO, openPage, rows, useLab } from '../lib/lab.mjs';
import { serverRecords } from '../lib/server_record.mjs';

// No proxyPrefix: Trunk.toml's /rpc route forwards to this test's server —
// the path `./lab run` gives a student.
const lab = useLab({});

const PYTHON = process.env.LAB_PYTHON ?? join(REPO, 'interop', 'python', '.venv', 'bin', 'python');
const STARTER = join(REPO, 'starter', 'python');
const view = '[data-testid="server-view"]';

/** Runs a script of the starter kit; resolves with its output (rejects if it fails). */
function python(args) {
  return new Promise((resolvePromise, reject) => {
    execFile(PYTHON, args, { cwd: STARTER, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${args.join(' ')}: ${error.message}\n${stdout}${stderr}`)) : resolvePromise(stdout),
    );
  });
}

/** The command the page offers for the starter client, as argv, run at `address` with `extra` arguments. */
async function pageCommand(page) {
  const text = await page.locator('[data-testid="sv-python"]').getAttribute('data-command');
  const argv = text.split(' ');
  assert.equal(argv[0], 'python');
  return { text, argv: argv.slice(1) };
}

/** The value after `flag` in argv. */
const option = (argv, flag) => argv[argv.indexOf(flag) + 1];

/** The number a report line states: `duplicates: 7`, `Withdraw executed  27`. */
function reported(output, pattern) {
  const match = output.match(pattern);
  assert.ok(match, `no ${pattern} in:\n${output}`);
  return Number(match[1]);
}

/** The view's numbers once it has `n` records. */
async function viewWith(page, n) {
  await page.waitForSelector(`${view}[data-records="${n}"]`, { timeout: 10_000 });
  const [numbers] = await rows(page, view);
  return numbers;
}

describe('the server’s view', () => {
  let naive; // the tab the naive client ran in: { page, problems, session, records }

  before(async () => {
    // The stubs, as a student generates them (the proto may have changed).
    await python(['generate_stubs.py']);
  });

  it('shows the naive client’s withdrawals that ran and lost their reply: retried, each ran twice', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/`);
    await page.waitForSelector(`${view}[data-link="watching"]`);
    const { text, argv } = await pageCommand(page);
    // Under Trunk the page cannot see the server's address: it gives ./lab run's, and says so.
    assert.equal(option(argv, '--server'), '127.0.0.1:50051');
    assert.match(await page.locator('.sv-own').innerText(), /where \.\/lab run starts it/);
    const session = option(argv, '--session');
    assert.match(session, /^tab-[0-9a-f]{12}$/);
    assert.equal(await page.locator('section.lab').getAttribute('data-session'), session, 'the tab’s own session');
    const grpcurl = await page.locator('[data-testid="sv-grpcurl"]').getAttribute('data-command');
    assert.ok(grpcurl.includes(`-H 'x-lab-session: ${session}'`), grpcurl);

    // The page's command, pointed at this test's server; seeded so the run is the README's.
    argv[argv.indexOf('--server') + 1] = new URL(lab.server.url).host;
    const output = await python([...argv, '--seed', '7', '--reset', '--quiet']);
    const attempts = reported(output, /attempts sent\s+(\d+)/);
    const executed = reported(output, /Withdraw executed\s+(\d+)/);
    const duplicates = reported(output, /duplicates: (\d+)/);
    assert.ok(duplicates > 0, `the naive client ran some withdrawals twice:\n${output}`);

    // Its requests: a top-up Deposit, the withdrawals' attempts and two balance reads.
    const withdrawals = `[data-testid="sv-calls"] li[data-operation="Withdraw"]`;
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n, [withdrawals, attempts], { timeout: 10_000 });
    const calls = await rows(page, withdrawals);
    assert.equal(calls.length, attempts, 'without keys, every attempt is a row of its own');
    assert.ok(calls.every((c) => c.key === undefined && c.attempts === 1));
    assert.equal(new Set(calls.map((c) => c.client)).size, 1, 'one client: one connection');
    assert.equal(calls.reduce((n, c) => n + c.executions, 0), executed, 'every execution the server counted');
    assert.equal(calls.filter((c) => c.possibleDuplicate === 'true').length, duplicates,
      'each lost reply, retried by the naive client, is one withdrawal run twice');
    const [withdraw] = await rows(page, '[data-testid="sv-table"] tr[data-operation="Withdraw"]');
    assert.deepEqual(
      [withdraw.requests, withdraw.executions, withdraw.replays, withdraw.duplicates, withdraw.possibleDuplicates],
      [attempts, executed, 0, 0, duplicates],
    );
    const numbers = (await rows(page, view))[0];
    assert.equal(numbers.possibleDuplicates, duplicates);
    assert.equal(numbers.duplicates, 0, 'no key: nothing the server can prove');
    assert.match(await page.locator('[data-testid="sv-verdict"]').innerText(), new RegExp(`^${duplicates} requests without an idempotency key`));
    assert.match(await page.locator(`${withdrawals} .sv-who`).first().innerText(), /^A · grpc-python$/);
    console.log(`server view, through Trunk's /rpc: ${numbers.records} records; last live record ${numbers.lagMs} ms after the server's reply was ready`);

    await page.locator(view).scrollIntoViewIfNeeded();
    await page.locator('[data-testid="sv-table"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'server-view-1280x720.png') });
    assert.deepEqual(problems, []);
    naive = { page, problems, session, records: numbers.records, text };
  });

  it('shows no duplicates for the solution with keys, watched across origins with ?server=', async () => {
    const { page, problems } = await openPage(lab.browser.context, `${lab.trunk.origin}/?server=${lab.server.url}`);
    await page.waitForSelector(`${view}[data-link="watching"]`);
    const { argv } = await pageCommand(page);
    // With ?server= the page knows the address: the command is ready to paste.
    assert.equal(option(argv, '--server'), new URL(lab.server.url).host);
    assert.notEqual(option(argv, '--session'), naive.session, 'a new tab, a new session');
    argv[0] = 'solution.py';
    const output = await python([...argv, '--seed', '7', '--reset', '--quiet']);
    const executed = reported(output, /Withdraw executed\s+(\d+)/);
    const replays = reported(output, /replays\s+(\d+)/);
    assert.equal(reported(output, /duplicates: (\d+)/), 0, output);
    assert.ok(replays > 0, `some lost replies were retried and answered from the store:\n${output}`);

    const withdrawals = `[data-testid="sv-calls"] li[data-operation="Withdraw"]`;
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 20, withdrawals, { timeout: 10_000 });
    const calls = await rows(page, withdrawals);
    assert.ok(calls.every((c) => typeof c.key === 'string' && c.executions === 1), 'each key ran once');
    assert.equal(calls.reduce((n, c) => n + c.executions, 0), executed);
    assert.equal(calls.reduce((n, c) => n + c.replays, 0), replays);
    assert.ok(calls.some((c) => c.attempts > 1), 'retries share their call’s row');
    // The table counts keys as calls, beside requests as attempts: a student
    // once compared "28 requests" with "13 keyed" as if both were requests.
    const [withdraw] = await rows(page, '[data-testid="sv-table"] tr[data-operation="Withdraw"]');
    assert.equal(withdraw.keyedCalls, calls.length, 'one key per logical call');
    assert.equal(withdraw.requests, calls.reduce((n, c) => n + c.attempts, 0), 'every attempt is a request');
    assert.ok(withdraw.requests > withdraw.keyedCalls, 'retries are requests, not calls');
    assert.equal(await page.locator('[data-testid="sv-table"] thead th').nth(4).innerText(), 'calls with a key');
    await page.locator('[data-testid="sv-table"]').scrollIntoViewIfNeeded();
    await page.locator('[data-testid="sv-table"]').screenshot({ path: join(ARTIFACTS, 'server-view-keys-table.png') });
    const numbers = (await rows(page, view))[0];
    assert.equal(numbers.duplicates, 0);
    assert.equal(numbers.possibleDuplicates, 0);
    assert.match(await page.locator('[data-testid="sv-verdict"]').innerText(), new RegExp(`^No duplicates: no key ran more than once; ${replays} requests? answered from the idempotency store`));
    console.log(`server view, cross-origin: last live record ${numbers.lagMs} ms after the server's reply was ready`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('keeps the view across a reload: the same session, its backlog streamed again', async () => {
    const { page, problems } = naive;
    await page.reload();
    await page.waitForSelector(`${view}[data-link="watching"]`);
    const { text } = await pageCommand(page);
    assert.equal(text, naive.text, 'the tab keeps its session name');
    // The whole backlog, as the server holds it (read from Node, not through
    // the page): the count the first test read may have been taken before the
    // naive client's last requests were drawn, since the view redraws only
    // between attempts.
    const held = (await serverRecords(lab.server.url, naive.session)).length;
    assert.ok(held >= naive.records, `${held} records held, ${naive.records} seen before`);
    const numbers = await viewWith(page, held);
    assert.equal(numbers.opened, 1, 'a fresh page, one stream');
    assert.ok(numbers.possibleDuplicates > 0);
    const calls = await rows(page, '[data-testid="sv-calls"] li');
    assert.ok(calls.length > 0);
    assert.deepEqual(problems, []);
  });
});
