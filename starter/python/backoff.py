"""How long to wait before the next retry: exponential backoff with full jitter.

Waiting longer after each failure gives a struggling server room to recover
(*exponential backoff*): 100 ms, 200 ms, 400 ms, ... up to a cap. But if a
thousand clients failed at the same instant and all wait exactly 100 ms, they
come back together, in waves. *Jitter* spreads them out. With *full jitter*
each wait is uniformly random between zero and the exponential ceiling:

    ceiling(n) = min(cap, base * multiplier ** n)     n = retries so far
    delay(n)   = random.uniform(0, ceiling(n))

(Marc Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015:
of the strategies it compares, full jitter does about the least total work.
The lab's Rust core, src/resilience/backoff.rs, also offers equal and
decorrelated jitter.)

The randomness is injected: give `Backoff` a `random.Random(seed)` and the
same seed gives the same waits, so a run can be replayed and a test can check
exact numbers. Nothing here sleeps: the caller does.
"""

from __future__ import annotations

import random


def exponential(base: float, multiplier: float, cap: float, retry: int) -> float:
    """`min(cap, base * multiplier ** retry)` in seconds: the ceiling, without jitter."""
    try:
        ceiling = base * multiplier**retry
    except OverflowError:  # a huge retry count: far past the cap
        return cap
    return min(cap, ceiling)


def full_jitter(ceiling: float, rng: random.Random) -> float:
    """Uniformly random in [0, ceiling)."""
    return ceiling * rng.random()


class Backoff:
    """The waits of one logical call: each one drawn below a ceiling that doubles."""

    def __init__(self, base=0.1, cap=2.0, multiplier=2.0, rng=None):
        if base <= 0 or cap < base or multiplier < 1:
            raise ValueError(f"backoff needs 0 < base <= cap and multiplier >= 1 (got {base}, {cap}, {multiplier})")
        self.base, self.cap, self.multiplier = base, cap, multiplier
        self.rng = rng or random.Random()
        self.retries = 0

    def next_delay(self) -> float:
        """The wait before the next retry, in seconds; advances the schedule."""
        ceiling = exponential(self.base, self.multiplier, self.cap, self.retries)
        self.retries += 1
        return full_jitter(ceiling, self.rng)

    def reset(self):
        """Start over from the base: after the server's pushback (gRFC A6), its delay
        replaced ours, and the schedule begins again."""
        self.retries = 0
