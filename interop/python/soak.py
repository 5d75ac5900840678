"""A soak of the lab server with the course's own client, stock grpcio.

Several clients share one lab session, one account, one counter; each sends
keyed deposits, withdrawals, increments and appends while the server fails
and drops a share of them (the contract's `x-fault-fail`, `x-fault-drop`).
Each logical call keeps its idempotency key and is retried until it gets a
definitive answer, as a careful client would. At the end the server's state
must be exactly what the acknowledged calls imply: nothing lost, nothing
doubled.

Used two ways:
- `test_soak.py` runs it for a few seconds inside `./lab test`;
- run by hand for minutes, it samples the server's resident memory:

      interop/python/.venv/bin/python interop/python/soak.py --seconds 300 \\
          --server-bin target/release/rpc-lab-server

  It starts that server on a free port, prints the memory over time and the
  ledger check, and exits non-zero if the ledger is off.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import grpc

# Outcomes that end a logical call: success, and the deterministic errors the
# idempotency store keeps and replays (the contract's list).
FINAL = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.NOT_FOUND,
}
# Outcomes worth another try with the same key: an injected fault
# (UNAVAILABLE), a duplicate whose first request did not finish (ABORTED).
RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED}
APPENDS_PER_LIST = 500  # then a fresh list, so no list reaches the store's cap
MAX_TRIES = 200


@dataclass
class Tally:
    """What one client's acknowledged calls imply."""

    deposited: int = 0
    withdrawn: int = 0
    increments: int = 0
    appends: dict = field(default_factory=dict)  # list key -> acknowledged appends
    logical: dict = field(default_factory=dict)  # method -> logical calls that executed
    attempts: int = 0
    codes: dict = field(default_factory=dict)  # status name -> count
    unexpected: list = field(default_factory=list)  # (method, code, details)
    gave_up: int = 0


def stubs_for(stubs, channel):
    acct_pb, acct_rpc = stubs["account"]
    store_pb, store_rpc = stubs["store"]
    return acct_pb, acct_rpc.AccountStub(channel), store_pb, store_rpc.StoreStub(channel)


def run_client(stubs, target, session, deadline, seed, fail, drop, tally, stop_event):
    """One client: its own connection, its own random stream."""
    rng = random.Random(seed)
    with grpc.insecure_channel(target) as channel:
        acct_pb, account, store_pb, store = stubs_for(stubs, channel)
        faults = [("x-lab-session", session), ("x-fault-fail", str(fail)), ("x-fault-drop", str(drop))]
        list_no, in_list = 0, 0
        while time.monotonic() < deadline and not stop_event.is_set():
            kind = rng.choice(["deposit", "withdraw", "increment", "append"])
            if kind == "deposit":
                amount = rng.randint(1, 500)
                method, call, request = "Deposit", account.Deposit, acct_pb.AmountRequest(account="soak", amount_cents=amount)
            elif kind == "withdraw":
                amount = rng.randint(1, 500)
                method, call, request = "Withdraw", account.Withdraw, acct_pb.AmountRequest(account="soak", amount_cents=amount)
            elif kind == "increment":
                method, call, request = "Increment", store.Increment, store_pb.IncrementRequest(key="counter", delta=1)
            else:
                if in_list >= APPENDS_PER_LIST:
                    list_no, in_list = list_no + 1, 0
                list_key = f"list-{seed}-{list_no}"
                method, call, request = "Append", store.Append, store_pb.AppendRequest(key=list_key, item=1)
            metadata = faults + [("idempotency-key", str(uuid.uuid4()))]
            code = None
            for _ in range(MAX_TRIES):
                tally.attempts += 1
                try:
                    call(request, metadata=metadata, timeout=10)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as error:
                    code = error.code()
                    if code not in FINAL and code not in RETRY:
                        tally.unexpected.append((method, code.name, error.details()))
                tally.codes[code.name] = tally.codes.get(code.name, 0) + 1
                if code in FINAL:
                    break
            else:
                tally.gave_up += 1
                continue
            # A final outcome means the handler ran exactly once for this key.
            tally.logical[method] = tally.logical.get(method, 0) + 1
            if code != grpc.StatusCode.OK:
                continue  # e.g. insufficient funds: ran, changed nothing
            if kind == "deposit":
                tally.deposited += amount
            elif kind == "withdraw":
                tally.withdrawn += amount
            elif kind == "increment":
                tally.increments += 1
            else:
                tally.appends[list_key] = tally.appends.get(list_key, 0) + 1
                in_list += 1


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_soak(stubs, target, seconds, clients=4, fail=0.3, drop=0.3, opening=2_000, sample=None):
    """Runs the soak and checks the ledger. Returns (tallies, problems, check)."""
    acct_pb, store_pb = stubs["account"][0], stubs["store"][0]
    session = f"soak-{uuid.uuid4().hex[:8]}"
    with grpc.insecure_channel(target) as channel:
        _, account, _, store = stubs_for(stubs, channel)
        md = [("x-lab-session", session)]
        account.Deposit(acct_pb.AmountRequest(account="soak", amount_cents=opening), metadata=md)

    tallies = [Tally() for _ in range(clients)]
    stop_event = threading.Event()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=run_client, args=(stubs, target, session, deadline, i + 1, fail, drop, tallies[i], stop_event))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            if sample:
                sample()
            for t in threads:
                t.join(timeout=1)
    except KeyboardInterrupt:
        stop_event.set()
        for t in threads:
            t.join()

    with grpc.insecure_channel(target) as channel:
        _, account, _, store = stubs_for(stubs, channel)
        md = [("x-lab-session", session)]
        lab_pb, lab_rpc = stubs["lab"]
        stats = lab_rpc.LabStub(channel).GetStats(lab_pb.GetStatsRequest(), metadata=md)
        balance = account.GetBalance(acct_pb.GetBalanceRequest(account="soak"), metadata=md).balance_cents
        counter = store.GetValue(store_pb.GetValueRequest(key="counter"), metadata=md).value
        # Lists have no read operation: one more (keyless, fault-free) append
        # returns the whole list, which must hold the acknowledged appends + 1.
        lengths = {}
        for tally in tallies:
            for key in tally.appends:
                reply = store.Append(store_pb.AppendRequest(key=key, item=1), metadata=md)
                lengths[key] = len(reply.items) - 1

    problems = []
    deposited = sum(t.deposited for t in tallies)
    withdrawn = sum(t.withdrawn for t in tallies)
    expected_balance = opening + deposited - withdrawn
    if balance != expected_balance:
        problems.append(f"balance {balance}, expected {expected_balance} (opening + acknowledged deposits - withdrawals)")
    increments = sum(t.increments for t in tallies)
    if counter != increments:
        problems.append(f"counter {counter}, expected {increments} acknowledged increments")
    for tally in tallies:
        for key, acknowledged in tally.appends.items():
            if lengths[key] != acknowledged:
                problems.append(f"list {key}: {lengths[key]} items, {acknowledged} acknowledged appends")
    for method in ["Deposit", "Withdraw", "Increment", "Append"]:
        logical = sum(t.logical.get(method, 0) for t in tallies) + (1 if method == "Deposit" else 0)
        executed = stats.executions.get(f"/calculator.v1.{'Account' if method in ('Deposit', 'Withdraw') else 'Store'}/{method}", 0)
        if executed != logical:
            problems.append(f"{method}: the server executed {executed} times for {logical} logical calls")
    for tally in tallies:
        for method, code, details in tally.unexpected[:5]:
            problems.append(f"{method}: a status outside the contract: {code} {details!r}")
        if tally.gave_up:
            problems.append(f"{tally.gave_up} logical calls had no final answer after {MAX_TRIES} tries")
    check = {
        "session": session,
        "logical calls": sum(sum(t.logical.values()) for t in tallies),
        "attempts": sum(t.attempts for t in tallies),
        "balance": balance,
        "counter": counter,
        "replays": stats.replays,
        "keys stored (session)": stats.idempotency_keys,
    }
    return tallies, problems, check


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--fail", type=float, default=0.3)
    parser.add_argument("--drop", type=float, default=0.3)
    parser.add_argument("--every", type=float, default=10, help="seconds between memory samples")
    parser.add_argument("--server-bin", default=os.path.join("target", "release", "rpc-lab-server"))
    parser.add_argument("--server-args", default="", help="extra flags for the server, e.g. '--idempotency-max-mib 16'")
    args = parser.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from conftest import generate_stubs

    stubs = generate_stubs()
    server = subprocess.Popen(
        [args.server_bin, "--listen", "127.0.0.1:0", *args.server_args.split()],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"listening on http://(\S+)", line)
        if not match:
            sys.exit(f"the server did not start: {line!r}")
        target = match.group(1)
        started = time.monotonic()
        last = [-args.every]
        print(f"server {args.server_bin} {args.server_args} pid {server.pid}; resident memory at start {resident_mib(server.pid):.1f} MiB")
        print("   t (s)   RSS (MiB)")

        def sample():
            now = time.monotonic() - started
            if now - last[0] >= args.every:
                last[0] = now
                print(f"{now:8.0f}   {resident_mib(server.pid):9.1f}", flush=True)

        tallies, problems, check = run_soak(stubs, target, args.seconds, args.clients, args.fail, args.drop, sample=sample)
        print(f"{time.monotonic() - started:8.0f}   {resident_mib(server.pid):9.1f}   (end)")
        elapsed = time.monotonic() - started
        print(f"{check['logical calls']} logical calls ({check['logical calls'] / elapsed:.0f}/s), {check['attempts']} attempts, {check['replays']} replays")
        codes = {}
        for tally in tallies:
            for code, count in tally.codes.items():
                codes[code] = codes.get(code, 0) + count
        print("statuses seen:", ", ".join(f"{code} {count}" for code, count in sorted(codes.items())))
        if problems:
            print("LEDGER WRONG:\n  " + "\n  ".join(problems))
            sys.exit(1)
        print("ledger exact: 0 lost, 0 doubled")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
