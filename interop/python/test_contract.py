"""The wire contract (../shared/CONTRACT.md) as a stock grpcio client sees it."""

import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def test_calculator_and_its_errors(stubs, channel):
    pb, rpc = stubs["calculator"]
    calc = rpc.CalculatorStub(channel)
    assert calc.Add(pb.BinaryOperation(a=2, b=3)).value == 5
    assert calc.Subtract(pb.BinaryOperation(a=2, b=3)).value == -1
    assert calc.Multiply(pb.BinaryOperation(a=2, b=3)).value == 6
    assert calc.Divide(pb.BinaryOperation(a=3, b=2)).value == 1.5
    for method, request, code, words in [
        (calc.Divide, pb.BinaryOperation(a=1, b=0), grpc.StatusCode.INVALID_ARGUMENT, "division by zero"),
        (calc.Add, pb.BinaryOperation(a=float("nan"), b=1), grpc.StatusCode.INVALID_ARGUMENT, "operand a is NaN"),
        (calc.Add, pb.BinaryOperation(a=1e308, b=1e308), grpc.StatusCode.OUT_OF_RANGE, "overflows"),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            method(request)
        assert error.value.code() == code
        assert words in error.value.details()


def test_a_lost_withdrawal_retried_with_its_key_takes_effect_once(stubs, channel):
    pb, rpc = stubs["account"]
    account = rpc.AccountStub(channel)
    md = session("withdraw")
    account.Deposit(pb.AmountRequest(account="alice", amount_cents=10_000), metadata=md)
    key = [("idempotency-key", str(uuid.uuid4()))]
    with pytest.raises(grpc.RpcError) as lost:
        account.Withdraw(pb.AmountRequest(account="alice", amount_cents=1_000), metadata=md + key + [("x-fault-drop", "1")])
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    injected = dict(lost.value.trailing_metadata() or []) | dict(lost.value.initial_metadata() or [])
    assert injected.get("x-fault-injected") == "drop"

    reply, call = account.Withdraw.with_call(pb.AmountRequest(account="alice", amount_cents=1_000), metadata=md + key)
    assert reply.balance_cents == 9_000
    assert dict(call.initial_metadata()).get("idempotent-replayed") == "true"
    assert account.GetBalance(pb.GetBalanceRequest(account="alice"), metadata=md).balance_cents == 9_000

    lab_pb, lab_rpc = stubs["lab"]
    stats = lab_rpc.LabStub(channel).GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert stats.executions["/calculator.v1.Account/Withdraw"] == 1
    assert stats.replays == 1


def test_the_same_key_for_another_request_is_refused(stubs, channel):
    pb, rpc = stubs["account"]
    account = rpc.AccountStub(channel)
    md = session("reuse")
    key = [("idempotency-key", "reused")]
    account.Deposit(pb.AmountRequest(account="a", amount_cents=100), metadata=md + key)
    with pytest.raises(grpc.RpcError) as error:
        account.Deposit(pb.AmountRequest(account="a", amount_cents=200), metadata=md + key)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_deadline_during_an_injected_delay(stubs, channel):
    pb, rpc = stubs["account"]
    account = rpc.AccountStub(channel)
    md = session("deadline")
    account.Deposit(pb.AmountRequest(account="a", amount_cents=100), metadata=md)
    with pytest.raises(grpc.RpcError) as error:
        account.Withdraw(pb.AmountRequest(account="a", amount_cents=50), metadata=md + [("x-fault-delay-ms", "3000")], timeout=0.2)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert account.GetBalance(pb.GetBalanceRequest(account="a"), metadata=md).balance_cents == 100


def test_store_and_bad_input(stubs, channel):
    pb, rpc = stubs["store"]
    store = rpc.StoreStub(channel)
    md = session("store")
    assert store.Increment(pb.IncrementRequest(key="n", delta=1), metadata=md).value == 1
    assert store.Increment(pb.IncrementRequest(key="n", delta=1), metadata=md).value == 2
    assert list(store.Append(pb.AppendRequest(key="l", item=7), metadata=md).items) == [7]
    assert store.DeleteValue(pb.DeleteValueRequest(key="n"), metadata=md).existed
    with pytest.raises(grpc.RpcError) as missing:
        store.GetValue(pb.GetValueRequest(key="n"), metadata=md)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    for key in ["", "k" * 257]:
        with pytest.raises(grpc.RpcError) as error:
            store.SetValue(pb.SetValueRequest(key=key, value=1), metadata=md)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        store.SetValue(pb.SetValueRequest(key="x", value=1), metadata=md + [("x-fault-fail", "maybe")])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x-fault-fail" in error.value.details()


def test_health(channel):
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
