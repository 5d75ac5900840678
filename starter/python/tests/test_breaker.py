"""breaker.py: closed, open, half-open, on an injected clock (no sleeping)."""

import pytest

from breaker import CLOSED, HALF_OPEN, OPEN, BreakerConfig, CircuitBreaker, CircuitOpen

SMALL = BreakerConfig(window=4, minimum_calls=4, failure_rate_threshold=50.0, wait_in_open=10.0)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def make(config=SMALL):
    clock, moves = Clock(), []
    breaker = CircuitBreaker(config, clock=clock, on_transition=lambda a, b, why: moves.append((a, b)))
    return breaker, clock, moves


def calls(breaker, *failed):
    for f in failed:
        breaker.acquire()
        breaker.record(failed=f)


def test_it_does_not_judge_before_the_minimum_number_of_calls():
    breaker, _, _ = make()
    calls(breaker, True, True, True)
    assert breaker.state == CLOSED


def test_it_opens_when_the_failure_rate_reaches_the_threshold():
    breaker, _, moves = make()
    calls(breaker, False, False, True)
    assert breaker.state == CLOSED
    calls(breaker, True)  # 2 of 4 = 50 %
    assert breaker.state == OPEN
    assert moves == [(CLOSED, OPEN)]


def test_below_the_threshold_it_stays_closed_and_old_calls_slide_out():
    breaker, _, _ = make()
    calls(breaker, True, False, False, False)  # 25 %
    assert breaker.state == CLOSED
    calls(breaker, False, False, False, True)  # the first failure slid out: 1 of 4 again
    assert breaker.state == CLOSED
    assert breaker.failure_rate() == 25.0


def test_open_it_refuses_at_once_and_says_for_how_long():
    breaker, clock, _ = make()
    calls(breaker, True, True, True, True)
    clock.now = 4.0
    with pytest.raises(CircuitOpen) as refused:
        breaker.acquire()
    assert refused.value.state == OPEN
    assert refused.value.retry_after == pytest.approx(6.0)


def test_after_the_wait_exactly_one_probe_passes():
    breaker, clock, _ = make()
    calls(breaker, True, True, True, True)
    clock.now = 10.0
    breaker.acquire()
    assert breaker.state == HALF_OPEN
    with pytest.raises(CircuitOpen) as second:
        breaker.acquire()
    assert second.value.state == HALF_OPEN


def test_a_successful_probe_closes_it_with_a_clean_window():
    breaker, clock, moves = make()
    calls(breaker, True, True, True, True)
    clock.now = 10.0
    calls(breaker, False)
    assert breaker.state == CLOSED
    assert moves == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert breaker.failure_rate() is None
    calls(breaker, True, True, True)  # the old failures are forgotten: 3 calls are not enough
    assert breaker.state == CLOSED


def test_a_failed_probe_opens_it_for_another_full_wait():
    breaker, clock, moves = make()
    calls(breaker, True, True, True, True)
    clock.now = 10.0
    calls(breaker, True)
    assert breaker.state == OPEN
    clock.now = 19.9
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    clock.now = 20.0
    breaker.acquire()
    assert breaker.state == HALF_OPEN
    assert moves == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (OPEN, HALF_OPEN)]


def test_bad_settings_are_refused_in_words():
    assert BreakerConfig().problems() == []
    problems = BreakerConfig(window=5, minimum_calls=6, failure_rate_threshold=0, wait_in_open=0).problems()
    assert len(problems) == 3
    with pytest.raises(ValueError, match="minimum_calls is 6"):
        CircuitBreaker(BreakerConfig(window=5, minimum_calls=6))
