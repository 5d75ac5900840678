"""The server's record of a session (Lab/WatchRequests), as a stock grpcio
client sees it: a student's own calls appear in the stream, marked gRPC,
with the idempotency key they sent and what the server did with each.

This is how a student watches their assignment's client from the outside:
the server, not the client, says which attempt executed and which was a
replay.
"""

import uuid

import grpc
import pytest


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def test_a_grpcio_client_s_calls_appear_with_their_transport_and_key(stubs, channel):
    account_pb, account_rpc = stubs["account"]
    lab_pb, lab_rpc = stubs["lab"]
    account, lab = account_rpc.AccountStub(channel), lab_rpc.LabStub(channel)
    md = session("log")
    key = f"deposit-{uuid.uuid4()}"
    deposit = account_pb.AmountRequest(account="alice", amount_cents=100)

    # A keyed deposit whose reply is lost, and its retry with the same key:
    # the naive client cannot tell what happened; the server's record can.
    with pytest.raises(grpc.RpcError) as lost:
        account.Deposit(deposit, metadata=md + [("idempotency-key", key), ("x-fault-drop", "1")])
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    account.Deposit(deposit, metadata=md + [("idempotency-key", key)])

    records = lab.WatchRequests(lab_pb.WatchRequestsRequest(), metadata=md)
    first, retry = next(records), next(records)
    for record in (first, retry):
        assert record.transport == lab_pb.REQUEST_TRANSPORT_GRPC
        assert record.operation == "/calculator.v1.Account/Deposit"
        assert record.idempotency_key == key
        assert "grpc-python" in record.user_agent, record.user_agent
        assert record.connection_id >= 1 and record.peer
        assert not record.live
    assert (first.sequence, retry.sequence) == (1, 2)
    assert first.outcome == lab_pb.REQUEST_OUTCOME_EXECUTED_REPLY_LOST
    assert first.fault == lab_pb.INJECTED_FAULT_DROP
    assert first.code == "UNAVAILABLE"
    assert retry.outcome == lab_pb.REQUEST_OUTCOME_REPLAYED
    assert retry.code == "OK"

    # A call made while watching arrives as it happens; then the student
    # cancels the stream (Ctrl-C) and it ends.
    account.GetBalance(account_pb.GetBalanceRequest(account="alice"), metadata=md)
    live = next(records)
    assert (live.sequence, live.live) == (3, True)
    assert live.operation == "/calculator.v1.Account/GetBalance"
    assert not live.HasField("idempotency_key")
    records.cancel()
    with pytest.raises(grpc.RpcError) as ended:
        next(records)
    assert ended.value.code() == grpc.StatusCode.CANCELLED

    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert stats.executions["/calculator.v1.Account/Deposit"] == 1, "one execution, as the record says"
