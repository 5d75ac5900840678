"""A circuit breaker: stop calling a server that keeps failing.

Retries help when failures are rare and brief. When a server is down they make
things worse: every call waits out its timeouts (the course's example: 5 s x
1000 requests = 5000 s wasted), and the extra load keeps the server from
recovering. A circuit breaker watches the outcomes of the last calls and, when
too many failed, *opens*: calls fail at once, without touching the network.
After a wait it lets ONE call through to test the server (*half-open*): if
that probe succeeds the breaker *closes* again, otherwise it reopens for
another wait.

              failure rate >= threshold
              (once the window holds minimum_calls)
    CLOSED ──────────────────────────────────────▶ OPEN ◀────────┐
       ▲                                            │ wait over   │ probe failed
       │ probe succeeded                            ▼             │
       └─────────────────────────────────────── HALF-OPEN ────────┘

The settings are named as in Resilience4j, the industry's vocabulary for
breakers, and in the lab's Rust core (src/resilience/breaker/): a window of
the last N calls, a minimum number of calls before judging (2 failures out of
2 calls is not yet evidence of an outage), a failure-rate threshold in
percent, and the wait in the open state.

A "call" here is one request: the caller asks before every attempt and
reports how each ended, so each retry counts too. What counts as a failure is
the caller's decision (see solution.py): the
server's failures (UNAVAILABLE, DEADLINE_EXCEEDED, ...), never the client's
own mistakes (INVALID_ARGUMENT: a server that says so is healthy).

The clock is injected, so a test drives the breaker through minutes of
virtual time without sleeping. A production breaker adds what this one
leaves out: several probes, a wait that grows on each reopening, slow calls
counted as failures, a time-based window, thread safety, and ignoring the
late outcome of a call that started before the breaker changed state (the
Rust core has all of these).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerConfig:
    window: int = 20  # judge the outcomes of the last `window` calls
    minimum_calls: int = 10  # ... once at least this many are in the window
    failure_rate_threshold: float = 50.0  # open at this percentage of failures
    wait_in_open: float = 5.0  # seconds to reject calls before a probe

    def problems(self):
        """Everything wrong with these settings, in words (empty if nothing)."""
        found = []
        if self.window < 1:
            found.append(f"window is {self.window}: it must hold at least 1 call")
        if not 1 <= self.minimum_calls <= max(self.window, 1):
            found.append(f"minimum_calls is {self.minimum_calls}: use 1 to window ({self.window})")
        if not 0 < self.failure_rate_threshold <= 100:
            found.append(
                f"failure_rate_threshold is {self.failure_rate_threshold}: a percentage, more than 0, at most 100"
            )
        if not self.wait_in_open > 0:
            found.append(f"wait_in_open is {self.wait_in_open}: the breaker would never stay open")
        return found


class CircuitOpen(Exception):
    """The breaker refused the call: send nothing."""

    def __init__(self, state, retry_after):
        super().__init__(f"circuit breaker {state}")
        self.state = state
        self.retry_after = retry_after  # seconds until a probe may pass (None: a probe is out)


class CircuitBreaker:
    def __init__(self, config=BreakerConfig(), clock=time.monotonic, on_transition=None):
        problems = config.problems()
        if problems:
            raise ValueError("bad breaker settings: " + "; ".join(problems))
        self.config = config
        self.clock = clock
        self.on_transition = on_transition  # called with (from_state, to_state, why)
        self.state = CLOSED
        self.outcomes = deque(maxlen=config.window)  # True = the call failed
        self.open_until = 0.0
        self.probe_in_flight = False

    def acquire(self):
        """Ask to make one call now. Returns if it may go; raises CircuitOpen if not."""
        now = self.clock()
        if self.state == OPEN:
            if now < self.open_until:
                raise CircuitOpen(OPEN, self.open_until - now)
            self._move(HALF_OPEN, f"{self.config.wait_in_open:g} s passed: one probe may go")
        if self.state == HALF_OPEN:
            if self.probe_in_flight:
                raise CircuitOpen(HALF_OPEN, None)
            self.probe_in_flight = True

    def record(self, failed: bool):
        """Report how the permitted call ended: did the server fail it?"""
        if self.state == HALF_OPEN:
            self.probe_in_flight = False
            if failed:
                self._open("the probe failed")
            else:
                self.outcomes.clear()  # a fresh start: the old failures are history
                self._move(CLOSED, "the probe succeeded")
            return
        if self.state != CLOSED:
            return  # an outcome that arrives while open says nothing new
        self.outcomes.append(failed)
        calls, failures = len(self.outcomes), sum(self.outcomes)
        if calls >= self.config.minimum_calls and failures * 100 >= self.config.failure_rate_threshold * calls:
            self._open(f"{failures} of the last {calls} requests failed")

    def failure_rate(self):
        """Percentage of failures in the window (None while it is empty)."""
        return 100 * sum(self.outcomes) / len(self.outcomes) if self.outcomes else None

    def _open(self, why):
        self.open_until = self.clock() + self.config.wait_in_open
        self._move(OPEN, f"{why}; rejecting calls for {self.config.wait_in_open:g} s")

    def _move(self, to, why):
        before, self.state = self.state, to
        if self.on_transition:
            self.on_transition(before, to, why)
