"""The operations a client can run, and what each one does to the server's state.

Whether an operation is *idempotent* decides whether a retry is safe:

- `withdraw`, `deposit`, `increment` are NOT idempotent. Each execution
  changes the state again: a withdrawal that runs twice takes the money twice.
  A client may retry them only with an idempotency key, so that the server can
  tell a retry from a new request.
- `set` and `add` are idempotent. `SetValue(counter, 7)` twice leaves 7;
  `Add(2, 3)` changes nothing at all. Repeats cost the server work, not
  correctness.

For each operation this module knows the request of the i-th logical call,
the state it changes (an account's balance, a key's value, or nothing), and
that state three ways at the end of a run:

- intended: what the run should have done (every call exactly once);
- believed: what the client's own books say (only the calls it saw succeed);
- actual: what the server holds (read back with GetBalance or GetValue).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Optional

import grpc


@dataclass(frozen=True)
class Operation:
    name: str  # what you type on the command line
    noun: str  # the executions, in words: "withdrawals"
    service: str  # the gRPC service in proto/calculator/v1/
    method: str  # the RPC
    idempotent: bool
    state: Optional[str]  # "balance", "value", or None for a pure calculation
    additive: bool  # each execution adds `delta` (else: sets the value of call i)
    sign: int = 1  # withdraw subtracts

    @property
    def full_method(self) -> str:
        """The method's full name, as the server counts it in Lab/GetStats."""
        return f"/calculator.v1.{self.service}/{self.method}"

    @property
    def money(self) -> bool:
        return self.state == "balance"


OPERATIONS = {
    op.name: op
    for op in [
        Operation(
            "withdraw", "withdrawals", "Account", "Withdraw", idempotent=False, state="balance", additive=True, sign=-1
        ),
        Operation("deposit", "deposits", "Account", "Deposit", idempotent=False, state="balance", additive=True),
        Operation("increment", "increments", "Store", "Increment", idempotent=False, state="value", additive=True),
        Operation("set", "sets", "Store", "SetValue", idempotent=True, state="value", additive=False),
        Operation("add", "additions", "Calculator", "Add", idempotent=True, state=None, additive=False),
    ]
}


def parse_amount(op: Operation, text: str):
    """`--amount` as the wire wants it: integer cents for money, a number otherwise.

    Money is parsed as a decimal, never a float: "0.10" is exactly 10 cents.
    """
    if op.money:
        try:
            dollars = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"--amount {text!r} is not an amount of dollars (try 5 or 0.25)") from None
        cents = dollars * 100
        if cents != cents.to_integral_value() or cents <= 0:
            raise ValueError(f"--amount {text!r}: use a positive amount in whole cents (like 5 or 0.25)")
        return int(cents)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--amount {text!r} is not a number") from None


def request(op: Operation, pb, i: int, amount, target: str):
    """The request of the i-th logical call (i counts from 1)."""
    if op.money:
        return pb.account.AmountRequest(account=target, amount_cents=amount)
    if op.name == "increment":
        return pb.store.IncrementRequest(key=target, delta=amount)
    if op.name == "set":
        # Call i sets the value to i: repeats are harmless, and the last call wins.
        return pb.store.SetValueRequest(key=target, value=float(i))
    return pb.calculator.BinaryOperation(a=float(i), b=amount)


def method(op: Operation, rpc, channel):
    """The stub's callable for this operation on `channel` (e.g. AccountStub(channel).Withdraw)."""
    module = getattr(rpc, op.service.lower())
    stub = getattr(module, f"{op.service}Stub")(channel)
    return getattr(stub, op.method)


def read_state(op: Operation, pb, rpc, channel, target: str, metadata, timeout: float):
    """The state the operation changes, as the server holds it now (None if absent or none)."""
    if op.money:
        account = rpc.account.AccountStub(channel)
        reply = account.GetBalance(pb.account.GetBalanceRequest(account=target), metadata=metadata, timeout=timeout)
        return reply.balance_cents
    if op.state == "value":
        store = rpc.store.StoreStub(channel)
        try:
            return store.GetValue(pb.store.GetValueRequest(key=target), metadata=metadata, timeout=timeout).value
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
    return None


def delta(op: Operation, amount):
    """What one execution of an additive operation changes."""
    return op.sign * amount


def intended(op: Operation, start, count: int, amount):
    """The state after `count` calls, each executed exactly once."""
    if op.additive:
        return (start or 0) + count * delta(op, amount)
    return float(count) if count else start


def believed(op: Operation, start, successes: int, last_success: Optional[int], amount):
    """The state by the client's own books: only the calls it saw succeed happened."""
    if op.additive:
        return (start or 0) + successes * delta(op, amount)
    return float(last_success) if last_success is not None else start


def show(op: Operation, value) -> str:
    """A state for people: dollars for money, a number otherwise."""
    if value is None:
        return "absent"
    if op.money:
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value) // 100:,}.{abs(value) % 100:02d}"
    return f"{value:g}"
