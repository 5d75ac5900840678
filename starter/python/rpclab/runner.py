"""Runs N logical calls through a client's retry logic, and reports what happened.

Both clients (client.py, solution.py) hand the runner one function:

    call(send, operation) -> reply

It makes ONE logical call: as many attempts as it decides, each one a call to
`send(metadata=[...], timeout=seconds)`, which sends one real gRPC request and
returns its reply or raises `grpc.RpcError`. The runner does everything else:

1. connects to the server; with --reset, starts the session from a clean slate;
2. for withdraw, makes sure the account holds enough that no attempt can fail
   for lack of money (so duplicates show in the balance, not as refusals);
3. reads the server's truth before the run (Lab/GetStats, and the balance or value);
4. makes the logical calls one after another; `send` adds the session and
   fault headers to every attempt, counts it, and notes how it ended;
5. reads the server's truth again, and prints the client's view beside it.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from typing import Optional

import grpc

from . import headers, operations, stubs
from .outcome import GaveUp
from .truth import Report, Snapshot, Tally

# The bookkeeping calls (stats, balance, top-up) are the lab's measurement, not
# the experiment: they get a generous timeout and no faults.
BOOKKEEPING_TIMEOUT = 5.0


class LabError(RuntimeError):
    """The run could not be set up or measured (server unreachable, ...)."""


@dataclass
class AttemptRecord:
    started: float
    ended: float
    outcome: str  # "OK", "OK(replayed)", "UNAVAILABLE(drop)", ...


def run(args, call, out=None, clock=time.monotonic, summary=None, folder=stubs.GENERATED) -> Report:
    """Run `args.count` logical calls through `call`; print and return the report.

    `summary`, if given, returns extra lines for "what the client saw" (the
    solution reports its breaker there)."""
    out = out or sys.stdout
    pb, rpc = stubs.load(folder)
    op = args.op
    target = args.account if op.money else args.key
    session = headers.session(args.session)
    bookkeeping = session + headers.NO_FAULTS
    faults = headers.faults(args.fail, args.drop, args.delay_ms)

    with grpc.insecure_channel(args.server) as channel:
        lab = rpc.lab.LabStub(channel)

        def snapshot():
            stats = lab.GetStats(pb.lab.GetStatsRequest(), metadata=bookkeeping, timeout=BOOKKEEPING_TIMEOUT)
            state = operations.read_state(op, pb, rpc, channel, target, bookkeeping, BOOKKEEPING_TIMEOUT)
            return Snapshot.of(stats, state)

        try:
            if args.reset:
                seed = (
                    pb.lab.ResetSessionRequest(seed=args.seed)
                    if args.seed is not None
                    else pb.lab.ResetSessionRequest()
                )
                lab.ResetSession(seed, metadata=bookkeeping, timeout=BOOKKEEPING_TIMEOUT)
            print(header(args, op, faults), file=out)
            if op.name == "withdraw":
                top_up(args, pb, rpc, channel, target, bookkeeping, out)
            before = snapshot()
        except grpc.RpcError as error:
            raise LabError(unreachable(args.server, error)) from None

        tally = Tally()
        method = operations.method(op, rpc, channel)
        for i in range(1, args.count + 1):
            request = operations.request(op, pb, i, args.amount_value, target)
            log: list[AttemptRecord] = []
            send = sender(method, request, session + faults, log, tally, clock)
            tally.intended += 1
            ending = None
            try:
                call(send, op)
                tally.succeeded += 1
                tally.last_success = i
                if log and log[-1].outcome == "OK(replayed)":
                    tally.replayed += 1
            except grpc.RpcError as error:
                ending = error.code().name
                tally.failed[ending] += 1
            except GaveUp as gave_up:
                ending = f"gave up: {gave_up.reason}"
                tally.failed[gave_up.reason] += 1
            if not args.quiet:
                print(f"call {i:>3}  {trail(log, ending)}", file=out)

        try:
            after = snapshot()
        except grpc.RpcError as error:
            raise LabError(unreachable(args.server, error)) from None

    report = Report(op=op, amount=args.amount_value, tally=tally, before=before, after=after)
    notes = summary() if summary else []
    for line in report.lines(args.session, args.session_given, notes):
        print(line, file=out)
    return report


def sender(method, request, base_metadata, log, tally, clock):
    """`send(metadata, timeout)`: one attempt of this request, counted and noted in `log`.

    `metadata` is added to the session and fault headers; `timeout` (seconds)
    becomes the request's `grpc-timeout`, the deadline the server sees.
    """

    def send(metadata=(), timeout: Optional[float] = None):
        tally.attempts += 1
        started = clock()
        try:
            reply, call = method.with_call(request, metadata=list(base_metadata) + list(metadata), timeout=timeout)
        except grpc.RpcError as error:
            injected = headers.of(error, headers.FAULT_INJECTED)
            name = error.code().name + (f"({injected})" if injected else "")
            log.append(AttemptRecord(started, clock(), name))
            raise
        replayed = headers.of(call, headers.REPLAYED) == "true"
        log.append(AttemptRecord(started, clock(), "OK(replayed)" if replayed else "OK"))
        return reply

    return send


def trail(log, ending):
    """One call's attempts in a line: `UNAVAILABLE(drop) -> wait 84 ms -> OK(replayed)`."""
    parts = []
    for n, attempt in enumerate(log):
        if n:
            waited = (attempt.started - log[n - 1].ended) * 1000
            if waited >= 1:
                parts.append(f"wait {waited:.0f} ms")
        parts.append(attempt.outcome)
    if ending and ending.startswith("gave up"):
        parts.append(ending + ("" if log else " (nothing sent)"))
    return " -> ".join(parts) if parts else "(nothing sent)"


def header(args, op, faults):
    what = f"{args.count} x {op.name}"
    if op.money:
        what += f" {operations.show(op, args.amount_value)} {'from' if op.sign < 0 else 'into'} {args.account}"
    elif op.state == "value":
        what += f" on key {args.key!r}"
    kind = "not idempotent" if not op.idempotent else "idempotent"
    knobs = (
        ", ".join(f"{name} {value}" for name, value in faults) or "none asked for (the server's own profile applies)"
    )
    return (
        f"{what} ({op.service}/{op.method}, {kind}), session {args.session} on {args.server}\n"
        f"faults on every attempt: {knobs}"
    )


def top_up(args, pb, rpc, channel, account, metadata, out):
    """Deposit enough that every attempt of every withdrawal could execute."""
    need = args.count * args.attempts * args.amount_value
    stub = rpc.account.AccountStub(channel)
    balance = stub.GetBalance(
        pb.account.GetBalanceRequest(account=account), metadata=metadata, timeout=BOOKKEEPING_TIMEOUT
    ).balance_cents
    if balance >= need:
        return
    # A key, so that even this set-up deposit can never count twice.
    key = [(headers.IDEMPOTENCY_KEY, str(uuid.uuid4()))]
    reply = stub.Deposit(
        pb.account.AmountRequest(account=account, amount_cents=need - balance),
        metadata=metadata + key,
        timeout=BOOKKEEPING_TIMEOUT,
    )
    op = operations.OPERATIONS["deposit"]
    print(
        f"setup: deposited {operations.show(op, need - balance)} into {account} "
        f"(balance {operations.show(op, reply.balance_cents)}): no withdrawal can fail for lack of money",
        file=out,
    )


def unreachable(server, error):
    return (
        f"the lab server at {server} did not answer ({error.code().name}: {error.details()}).\n"
        f"Start it with `./lab run` in the repository (or `cargo run -p rpc-lab-server`), or pass --server HOST:PORT."
    )


def exit_after(main):
    """Run a client's main() as a command: a clear message and status 2 on a set-up problem."""
    try:
        main()
    except (LabError, stubs.StubsMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # the output went to `head`, which has seen enough
        sys.stderr.close()
        sys.exit(0)
