"""client.py as handed out: what a naive retry loop does to a bank account."""

from conftest import run

import client

DROP = ["--drop", "0.3", "--seed", "7", "--reset", "--quiet"]


def test_retrying_withdrawals_without_a_key_takes_the_money_twice(server):
    """Lost replies, retried without a key: the server runs withdrawals twice."""
    report, text = run(client.main, server, "naive-drop", "withdraw", "--count", "20", *DROP)
    tally = report.tally
    assert tally.intended == 20
    assert report.executions > 20, "with 30 % of replies lost and retries, some withdrawals must run twice"
    # Only `drop` faults: every attempt that reached the server executed.
    assert report.executions == tally.attempts
    assert report.faults == {"fail": 0, "drop": tally.attempts - tally.succeeded, "delay": 0}
    assert report.replays == 0
    # The money tells the same story, to the cent.
    assert report.after.state == report.before.state - 100 * report.executions
    assert report.believed_state == report.before.state - 100 * tally.succeeded
    assert report.after.state < report.believed_state
    assert f"duplicates: {report.executions - 20} — some withdrawals ran twice" in text


def test_the_same_seed_replays_the_same_run(server):
    """--seed with --reset reseeds the server's faults: two sessions, one story."""
    first, first_text = run(
        client.main, server, "naive-a", "withdraw", "--count", "12", "--drop", "0.5", "--seed", "3", "--reset"
    )
    second, second_text = run(
        client.main, server, "naive-b", "withdraw", "--count", "12", "--drop", "0.5", "--seed", "3", "--reset"
    )
    calls = lambda text: [line for line in text.splitlines() if line.startswith("call ")]  # noqa: E731
    assert calls(first_text) == calls(second_text)
    assert len(calls(first_text)) == 12
    assert (first.tally.attempts, first.executions) == (second.tally.attempts, second.executions)


def test_the_naive_loop_retries_every_error(server):
    """Even errors that will never go away (a NaN operand) are retried, --attempts times."""
    report, _ = run(client.main, server, "naive-nan", "add", "--amount", "nan", "--count", "2", "--quiet")
    assert report.tally.attempts == 2 * 4
    assert report.tally.failed == {"INVALID_ARGUMENT": 2}


def test_against_a_refusing_server_every_call_waits_out_every_attempt(server):
    """No breaker: a server that fails everything gets every attempt of every call."""
    report, _ = run(
        client.main, server, "naive-down", "withdraw", "--count", "20", "--fail", "1.0", "--reset", "--quiet"
    )
    assert report.tally.attempts == 20 * 4
    assert report.faults["fail"] == 20 * 4, "the server saw exactly the attempts the client counted"
    assert report.executions == 0
    assert report.after.state == report.before.state
