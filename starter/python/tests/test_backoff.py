"""backoff.py: the exponential ceiling, full jitter, and replay by seed."""

import random

import pytest

from backoff import Backoff, exponential, full_jitter


class FixedRandom:
    """A random source that always says the same number in [0, 1)."""

    def __init__(self, value):
        self.value = value

    def random(self):
        return self.value


def test_the_ceiling_doubles_up_to_the_cap():
    assert [exponential(0.1, 2.0, 1.0, n) for n in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_a_huge_retry_count_is_the_cap_not_an_overflow():
    assert exponential(0.1, 2.0, 5.0, 100_000) == 5.0


def test_full_jitter_scales_the_ceiling_by_the_random_number():
    assert full_jitter(0.8, FixedRandom(0.0)) == 0.0
    assert full_jitter(0.8, FixedRandom(0.5)) == pytest.approx(0.4)
    backoff = Backoff(base=0.1, cap=1.0, rng=FixedRandom(0.5))
    assert [backoff.next_delay() for _ in range(5)] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])


def test_full_jitter_spreads_over_the_whole_range_below_the_ceiling():
    rng = random.Random(1)
    draws = [full_jitter(1.0, rng) for _ in range(1000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert min(draws) < 0.05 and max(draws) > 0.95


def test_the_same_seed_gives_the_same_waits():
    schedule = lambda seed: [b.next_delay() for b in [Backoff(rng=random.Random(seed))] for _ in range(8)]  # noqa: E731
    assert schedule(9) == schedule(9)
    assert schedule(9) != schedule(10)


def test_reset_starts_the_schedule_over():
    backoff = Backoff(base=0.1, cap=1.0, rng=FixedRandom(0.5))
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.05)


def test_settings_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="base <= cap"):
        Backoff(base=1.0, cap=0.5)
