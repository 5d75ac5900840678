"""The course's gRPC client, done right. The same command line as client.py.

    python solution.py withdraw --count 20 --drop 0.3

Each logical call, in order:

1. gets ONE idempotency key (a UUID4) if the operation is not idempotent, sent
   on every attempt, so the server runs it once and answers retries from its
   store (`idempotent-replayed: true`);
2. gets ONE deadline (--deadline); each attempt may use only the time left
   (and at most --timeout), sent as grpc-timeout so the server knows too;
3. asks the circuit breaker (breaker.py) before every attempt, and tells it
   how the attempt ended;
4. after a failure, applies the retry rules; the first "no" ends the call:
   is the code retryable? is the operation safe to repeat (idempotent, or
   keyed)? did the server push back? are attempts left? is there time to
   wait and try again?
5. waits the server's pushback, or else exponential backoff with full jitter
   (backoff.py), then tries again.

The rules and their order are those of the lab's Rust core
(src/resilience/caller/sequential.rs). What a production client adds: a
retry budget across calls (src/resilience/budget.rs, gRFC A6), hedging,
metrics.

--seed makes the waits replayable. It never makes the keys: a seeded key
would repeat in the next run, and the server would answer that run from its
store without executing anything.
"""

from __future__ import annotations

import random
import sys
import time
import uuid

import grpc

from backoff import Backoff
from breaker import BreakerConfig, CircuitBreaker, CircuitOpen
from rpclab import cli, headers, runner
from rpclab.outcome import GaveUp

DESCRIPTION = __doc__.split("\n\n")[0] + "\n\nDone right: keys, a deadline, backoff with jitter, a circuit breaker."

# Worth another attempt: the server was unreachable or lost the reply
# (UNAVAILABLE), ran out of time (DEADLINE_EXCEEDED), or asks for a retry
# (ABORTED, e.g. the same key is still executing). Anything else will fail
# the same way again: INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ...
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED}

# The server's failures, as the circuit breaker counts them. A client's own
# mistake (INVALID_ARGUMENT) is not one: a server that says so is healthy.
SERVER_FAILURES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}

DO_NOT_RETRY = "do not retry"


def may_retry(code, idempotent, keyed):
    """None if a call that failed with `code` may be retried; else why not, in words."""
    if code not in RETRYABLE:
        return f"{code.name} is not retryable"
    if not (idempotent or keyed):
        # UNAVAILABLE may mean "executed, reply lost": without a key the
        # server cannot tell a retry from a new request, and runs it again.
        return "not idempotent and no key: a retry could run it twice"
    return None


def pushback(error):
    """The server's grpc-retry-pushback-ms (gRFC A6): seconds to wait, DO_NOT_RETRY, or None."""
    value = headers.of(error, headers.RETRY_PUSHBACK_MS)
    if value is None:
        return None
    try:
        millis = int(value.strip())
    except ValueError:
        return DO_NOT_RETRY  # malformed: A6 says do not retry
    return DO_NOT_RETRY if millis < 0 else millis / 1000


class ResilientClient:
    """Makes logical calls the careful way; one per run, so the breaker remembers."""

    def __init__(self, args, clock=time.monotonic, sleep=time.sleep, out=None):
        self.args = args
        self.clock = clock
        self.sleep = sleep
        self.out = out or sys.stdout
        self.rng = random.Random(args.seed)  # the backoff's jitter, replayable with --seed
        self.rejected = 0  # attempts the breaker refused (each one ends its call)
        # One breaker for the run, judging every attempt: each request sent is
        # a call to it, so a server that fails every attempt is found out
        # after `minimum_calls` attempts, however they group into logical calls.
        self.breaker = None
        if not args.no_breaker:
            self.breaker = CircuitBreaker(breaker_config(args), clock=clock, on_transition=self.show_transition)

    def call(self, send, operation):
        """One logical call: attempts, waits and rules as described at the top."""
        args = self.args
        key = None if operation.idempotent or args.no_keys else str(uuid.uuid4())
        metadata = [(headers.IDEMPOTENCY_KEY, key)] if key else []
        deadline = self.clock() + args.deadline
        backoff = Backoff(base=args.backoff_ms / 1000, cap=args.max_backoff_ms / 1000, rng=self.rng)
        last_error = None
        for attempt in range(1, args.attempts + 1):
            time_left = deadline - self.clock()
            if time_left <= 0:
                raise GaveUp("deadline passed", last_error)
            if self.breaker:
                try:
                    self.breaker.acquire()
                except CircuitOpen:
                    self.rejected += 1
                    raise GaveUp("circuit breaker open", last_error) from None
            try:
                reply = send(metadata=metadata, timeout=min(args.timeout, time_left))
            except grpc.RpcError as error:
                last_error = error
            else:
                self.record(grpc.StatusCode.OK)
                return reply
            code = last_error.code()
            self.record(code)

            # The retry rules, in order: the first "no" ends the call.
            why_not = may_retry(code, operation.idempotent, key is not None)
            if why_not:
                if code in RETRYABLE:  # retryable, but not safe without a key
                    raise GaveUp(why_not, last_error)
                raise last_error  # the server's answer stands (INVALID_ARGUMENT, ...)
            server_delay = pushback(last_error)
            if server_delay == DO_NOT_RETRY:
                raise GaveUp("the server said not to retry (grpc-retry-pushback-ms)", last_error)
            if attempt == args.attempts:
                raise last_error  # no attempts left
            if server_delay is not None:
                delay = server_delay  # the server knows better than our guess ...
                backoff.reset()  # ... and our schedule starts over (gRFC A6)
            else:
                delay = backoff.next_delay()
            if self.clock() + delay >= deadline:
                # No attempt could follow the wait: stop now rather than wait for nothing.
                raise GaveUp("deadline: no time left for another attempt", last_error)
            self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    def record(self, code):
        if self.breaker:
            self.breaker.record(failed=code in SERVER_FAILURES)

    def show_transition(self, before, after, why):
        if not self.args.quiet:
            print(f"          breaker: {before} -> {after} ({why})", file=self.out)

    def summary(self):
        """Lines for the report: what the breaker did."""
        if not self.breaker:
            return ["  circuit breaker               off (--no-breaker)"]
        state = self.breaker.state
        return [f"  refused by the breaker   {self.rejected:>6}   (attempts never sent; the breaker is {state} now)"]


def policy_options(parser):
    """The solution's own options, beside the shared ones (rpclab/cli.py)."""
    g = parser.add_argument_group("the solution's policy")
    g.add_argument(
        "--backoff-ms",
        type=cli.positive(float),
        default=100.0,
        metavar="MS",
        help="first backoff ceiling (default: %(default)g)",
    )
    g.add_argument(
        "--max-backoff-ms",
        type=cli.positive(float),
        default=2000.0,
        metavar="MS",
        help="backoff cap (default: %(default)g)",
    )
    g.add_argument(
        "--no-keys", action="store_true", help="send no idempotency keys (then unsafe calls are not retried)"
    )
    g.add_argument("--no-breaker", action="store_true", help="no circuit breaker")
    g.add_argument(
        "--breaker-window",
        type=cli.positive(int),
        default=20,
        metavar="N",
        help="calls the breaker judges (default: %(default)s)",
    )
    g.add_argument(
        "--breaker-minimum-calls",
        type=cli.positive(int),
        default=10,
        metavar="N",
        help="calls before it judges (default: %(default)s)",
    )
    g.add_argument(
        "--breaker-threshold",
        type=cli.positive(float),
        default=50.0,
        metavar="PERCENT",
        help="failure %% that opens it (default: %(default)g)",
    )
    g.add_argument(
        "--breaker-wait",
        type=cli.positive(float),
        default=5.0,
        metavar="SECONDS",
        help="seconds open before a probe (default: %(default)g)",
    )


def breaker_config(args):
    return BreakerConfig(
        window=args.breaker_window,
        minimum_calls=args.breaker_minimum_calls,
        failure_rate_threshold=args.breaker_threshold,
        wait_in_open=args.breaker_wait,
    )


def main(argv=None, out=None, clock=time.monotonic, sleep=time.sleep):
    """Parse the command line, make the calls, print the report; return the report.

    `clock` and `sleep` are injectable, so a test can run the client on
    virtual time."""
    args = parse_args(argv)
    client = ResilientClient(args, clock=clock, sleep=sleep, out=out)
    return runner.run(args, client.call, out=out, clock=clock, summary=client.summary)


def parse_args(argv):
    """The shared command line plus the policy options, checked."""
    args = cli.parse(argv, prog="solution.py", description=DESCRIPTION, extra=policy_options)
    problems = breaker_config(args).problems()
    if args.max_backoff_ms < args.backoff_ms:
        problems.append("--max-backoff-ms is smaller than --backoff-ms")
    if problems:
        cli.parser("solution.py", DESCRIPTION, policy_options).error("; ".join(problems))
    return args


if __name__ == "__main__":
    runner.exit_after(lambda: main(sys.argv[1:]))
