"""solution.py against the real server: the same faults as the naive client, done right."""

from conftest import run

import solution

DROP = ["--drop", "0.3", "--seed", "7", "--reset", "--quiet"]


def run_solution(server, clock, name, *argv):
    return run(solution.main, server, name, *argv, clock=clock, sleep=clock.sleep)


def test_with_keys_every_withdrawal_runs_exactly_once(server, clock):
    """The naive client's faults (same seed); keys turn the retries into replays."""
    report, text = run_solution(server, clock, "solution-drop", "withdraw", "--count", "20", *DROP)
    tally = report.tally
    assert tally.attempts > 20, "replies were lost, so there were retries"
    assert report.executions == 20
    assert report.after.state == report.before.state - 20 * 100
    assert report.replays >= tally.replayed >= 1
    assert tally.succeeded == 20 and report.believed_state == report.after.state
    assert "duplicates: 0 — the server ran Withdraw 20 times for 20 intended calls" in text
    # It waited between attempts (backoff; test_backoff.py checks the schedule), never past the cap.
    assert clock.slept and all(0 <= s < 2.0 for s in clock.slept)


def test_without_keys_it_does_not_retry_a_withdrawal(server, clock):
    """At most once: no duplicates, but a lost reply is a failure whose money did leave."""
    report, text = run_solution(server, clock, "solution-nokeys", "withdraw", "--count", "20", "--no-keys", *DROP)
    tally = report.tally
    assert tally.attempts == 20
    assert report.executions == 20
    assert tally.failed["not idempotent and no key: a retry could run it twice"] == 20 - tally.succeeded > 0
    assert report.after.state == report.before.state - 20 * 100
    assert report.believed_state > report.after.state, "the client thinks the failed withdrawals took nothing"
    lost = 100 * (20 - tally.succeeded)
    assert text.splitlines()[-1].endswith(f"the client's books are off by -${lost // 100}.00")


def test_the_breaker_opens_against_a_refusing_server_and_fails_fast(server, clock):
    """Every request fails: after 10 (its minimum calls) the breaker sends no more."""
    report, text = run_solution(server, clock, "solution-down", "withdraw", "--count", "20", "--fail", "1.0", "--reset")
    tally = report.tally
    assert tally.attempts == 10
    assert report.faults["fail"] == 10, "the server saw exactly the attempts the client counted"
    assert report.executions == 0
    assert tally.failed["circuit breaker open"] == 18
    assert "breaker: closed -> open (10 of the last 10 requests failed" in text
    assert text.count("gave up: circuit breaker open (nothing sent)") == 17


def test_a_client_error_is_neither_retried_nor_held_against_the_server(server, clock):
    """INVALID_ARGUMENT will not change on a retry, and it is not the server's failure."""
    report, text = run_solution(server, clock, "solution-nan", "add", "--amount", "nan", "--count", "12", "--quiet")
    assert report.tally.attempts == 12
    assert report.tally.failed == {"INVALID_ARGUMENT": 12}
    assert "breaker is closed now" in text


def test_an_idempotent_operation_is_retried_without_a_key(server, clock):
    """SetValue needs no key: its repeats are harmless, and the report says so."""
    report, text = run_solution(server, clock, "solution-set", "set", "--count", "10", *DROP)
    assert report.tally.succeeded == 10
    assert report.after.state == 10.0
    assert report.executions == report.tally.attempts > 10
    assert f"duplicates: {report.executions - 10} — harmless to the state: SetValue is idempotent" in text
