"""The course's gRPC client. YOUR FILE: make it safe to retry.

    python client.py withdraw --count 20 --drop 0.3

It makes --count logical calls to the lab server, each one through
`NaiveClient.call` below, then prints what it saw beside the server's truth
(calculator.v1.Lab/GetStats). As handed out, its retry loop is deliberately
naive:

- it retries EVERY error, at once, without waiting;
- it sends no idempotency key, so the server cannot tell a retry from a new
  request;
- every attempt gets the full --timeout, however long the call has taken.

Run it with lost replies (--drop 0.3) and read the last line: the server ran
some withdrawals twice. Your job: the places marked TODO(assignment), in
order of the assignment's parts. solution.py does it right; compare when you
are done (or stuck): `diff client.py solution.py` is short on purpose.
Everything else (connecting, counting, the report) is in rpclab/: read it,
no need to change it.
"""

import sys

import grpc

from rpclab import cli, runner
from rpclab.outcome import GaveUp  # noqa: F401 (raise it when your client decides to stop: Part 4)

DESCRIPTION = __doc__.split("\n\n")[0] + "\n\nAs handed out: a naive retry loop (see client.py)."


class NaiveClient:
    """Makes logical calls; lives for the whole run (one per run, not per call)."""

    def __init__(self, args):
        self.args = args
        # TODO(assignment) Part 2, randomness for jitter: random.Random(args.seed),
        #   so that --seed replays the same waits (never the global `random`).
        # TODO(assignment) Part 4, the circuit breaker: create it HERE, one for
        #   the whole run. It must remember the calls before this one: a
        #   breaker made inside call() would forget everything each time.

    def call(self, send, operation):
        """One logical call: up to --attempts attempts. Returns the reply or raises.

        `send(metadata=[(name, value), ...], timeout=seconds)` sends ONE
        attempt and returns its reply, or raises grpc.RpcError (`error.code()`
        is a grpc.StatusCode, such as grpc.StatusCode.UNAVAILABLE).
        `operation.idempotent` says whether running it twice is harmless.
        """
        args = self.args
        metadata = []
        # TODO(assignment) Part 3, an idempotency key: for a non-idempotent
        #   operation (withdraw, deposit, increment), make ONE key per logical
        #   call, here, before the loop (str(uuid.uuid4())), and send it on
        #   EVERY attempt: metadata = [("idempotency-key", key)]. The server
        #   then runs the call once and answers retries from its store. A new
        #   key per attempt is no better than no key.

        # TODO(assignment) Part 2, a deadline for the whole call: note
        #   time.monotonic() + args.deadline here. Give each attempt only
        #   min(args.timeout, time left) — it travels as grpc-timeout, so the
        #   server too stops working for a caller who has gone — and stop
        #   retrying when the time is up.

        last_error = None
        for attempt in range(1, args.attempts + 1):
            # TODO(assignment) Part 4, ask the circuit breaker before sending.
            #   If it is open, send nothing: raise GaveUp("circuit breaker open")
            #   at once. After each attempt, tell the breaker whether the server
            #   failed (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN,
            #   RESOURCE_EXHAUSTED) or not: INVALID_ARGUMENT is the client's
            #   fault, and a server that says so is healthy.
            try:
                return send(metadata=metadata, timeout=args.timeout)
            except grpc.RpcError as error:
                last_error = error
                # TODO(assignment) Part 2, retry only codes that may succeed next
                #   time: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED. Anything else
                #   (INVALID_ARGUMENT, FAILED_PRECONDITION, ...) will fail the
                #   same way again: raise it now.
                # TODO(assignment) Part 3, retry a non-idempotent operation only
                #   with a key. UNAVAILABLE may mean "executed, reply lost": a
                #   retry without a key executes it twice.
                # TODO(assignment) Part 2, server pushback: if the error's
                #   trailing_metadata() holds grpc-retry-pushback-ms, wait exactly
                #   that many ms instead of your backoff; a negative value means
                #   "do not retry".
                # TODO(assignment) Part 2, exponential backoff with full jitter:
                #   before the next attempt, sleep a random time between 0 and
                #   min(cap, base * 2 ** (attempt - 1)) (say base 0.1 s, cap 2 s),
                #   and never past the deadline.
                continue  # NAIVE: try again at once, whatever went wrong
        raise last_error


def main(argv=None, out=None):
    """Parse the command line, make the calls, print the report; return the report."""
    args = cli.parse(argv, prog="client.py", description=DESCRIPTION)
    client = NaiveClient(args)
    return runner.run(args, client.call, out=out)


if __name__ == "__main__":
    runner.exit_after(lambda: main(sys.argv[1:]))
