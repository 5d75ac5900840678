"""The command line both clients share: what to call, how often, with which faults.

    python client.py withdraw --count 20 --drop 0.3
    python client.py withdraw --count 20 --drop 0.3 --session tab-1a2b3c4d5e6f

Each client may add options of its own (the solution adds its policy) with
`extra`, a function that receives the parser.
"""

from __future__ import annotations

import argparse
import re
import uuid

from .operations import OPERATIONS, parse_amount

SESSION_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def probability(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be more than 0")
        return value

    return parse


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def parser(prog, description, extra=None):
    p = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "operation",
        choices=list(OPERATIONS),
        help="withdraw, deposit and increment are NOT idempotent; set and add are",
    )
    p.add_argument("--server", default="127.0.0.1:50051", help="the lab server (default: %(default)s)")
    p.add_argument(
        "--session",
        help="the lab session (header x-lab-session). The page shows its tab's session name "
        "(tab-...): pass it to put your calls in that tab's world. Default: a new session cli-...",
    )
    p.add_argument("--count", type=positive(int), default=20, help="logical calls to make (default: %(default)s)")
    p.add_argument(
        "--amount",
        default="1",
        help="dollars per withdraw/deposit, delta per increment, b of add(i, b) (default: %(default)s)",
    )
    p.add_argument("--account", default="alice", help="account for withdraw/deposit (default: %(default)s)")
    p.add_argument("--key", default="counter", help="key for increment/set (default: %(default)s)")

    faults = p.add_argument_group("faults the server injects into every attempt (headers x-fault-*)")
    faults.add_argument("--fail", type=probability, metavar="P", help="UNAVAILABLE before executing")
    faults.add_argument("--drop", type=probability, metavar="P", help="execute, then lose the reply (UNAVAILABLE)")
    faults.add_argument("--delay-ms", type=non_negative_int, metavar="MS", help="wait this long before executing")

    client = p.add_argument_group("the client")
    client.add_argument(
        "--attempts", type=positive(int), default=4, help="most attempts per logical call (default: %(default)s)"
    )
    client.add_argument(
        "--timeout",
        type=positive(float),
        default=1.0,
        metavar="SECONDS",
        help="how long one attempt may take (default: %(default)s)",
    )
    client.add_argument(
        "--deadline",
        type=positive(float),
        default=5.0,
        metavar="SECONDS",
        help="how long one logical call may take, all attempts and waits included "
        "(default: %(default)s; client.py as handed out ignores it: Part 2)",
    )
    client.add_argument(
        "--seed",
        type=non_negative_int,
        help="seed the client's randomness; with --reset also the server's fault decisions, so a run replays exactly",
    )
    client.add_argument(
        "--reset",
        action="store_true",
        help="first forget the session's balances, values, keys and counters (Lab/ResetSession, reseeded with --seed)",
    )
    client.add_argument("--quiet", action="store_true", help="no line per call, only the report")
    if extra:
        extra(p)
    return p


def parse(argv, prog, description, extra=None):
    """Parsed arguments, checked, with `args.op` (the Operation) and `args.amount_value` added."""
    p = parser(prog, description, extra)
    args = p.parse_args(argv)
    args.op = OPERATIONS[args.operation]
    try:
        args.amount_value = parse_amount(args.op, args.amount)
    except ValueError as error:
        p.error(str(error))
    if args.session is None:
        args.session = f"cli-{uuid.uuid4().hex[:8]}"
        args.session_given = False
    else:
        args.session_given = True
        if not SESSION_NAME.match(args.session):
            p.error(f"--session {args.session!r}: use 1 to 64 of A-Z a-z 0-9 . _ -")
    return args
