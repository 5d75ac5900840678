"""Keyed requests whose outcome is an error, as a stock grpcio client sees them.

A key changes how the server builds its reply: the first outcome is stored
and replayed. Each reply must still be a well-formed gRPC response, or grpcio
reports `UNKNOWN: Stream removed` and a student's client cannot tell a final
error (insufficient funds) from a transport failure worth retrying.
"""

import uuid

import grpc
import pytest


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def key():
    return [("idempotency-key", str(uuid.uuid4()))]


def call_twice(method, request, metadata):
    """The first call and its replay with the same key: both errors, both the same."""
    errors = []
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as error:
            method.with_call(request, metadata=metadata)
        errors.append(error.value)
    return errors


def replayed(error):
    meta = dict(error.initial_metadata() or []) | dict(error.trailing_metadata() or [])
    return meta.get("idempotent-replayed") == "true"


def cases(stubs):
    calc_pb, _ = stubs["calculator"]
    acct_pb, _ = stubs["account"]
    store_pb, _ = stubs["store"]
    return [
        # (service, method, request, code, words in the message)
        ("calculator", "Divide", calc_pb.BinaryOperation(a=1, b=0), grpc.StatusCode.INVALID_ARGUMENT, "division by zero"),
        ("calculator", "Add", calc_pb.BinaryOperation(a=1e308, b=1e308), grpc.StatusCode.OUT_OF_RANGE, "overflows"),
        ("account", "Withdraw", acct_pb.AmountRequest(account="poor", amount_cents=500), grpc.StatusCode.FAILED_PRECONDITION, "insufficient funds"),
        ("account", "Deposit", acct_pb.AmountRequest(account="a", amount_cents=-1), grpc.StatusCode.INVALID_ARGUMENT, ""),
        ("store", "GetValue", store_pb.GetValueRequest(key="absent"), grpc.StatusCode.NOT_FOUND, "absent"),
        ("store", "SetValue", store_pb.SetValueRequest(key="", value=1), grpc.StatusCode.INVALID_ARGUMENT, "key"),
    ]


STUBS = {"calculator": "CalculatorStub", "account": "AccountStub", "store": "StoreStub"}


@pytest.mark.parametrize("index", range(6))
def test_a_keyed_error_and_its_replay_carry_the_contract_status(stubs, channel, index):
    service, method, request, code, words = cases(stubs)[index]
    stub = getattr(stubs[service][1], STUBS[service])(channel)
    md = session(f"keyed-{method.lower()}") + key()
    first, again = call_twice(getattr(stub, method), request, md)
    for error in (first, again):
        assert error.code() == code, f"{service}/{method}: {error.code()} {error.details()!r}"
        assert words.lower() in error.details().lower()
    assert not replayed(first)
    assert replayed(again), "the second call with the key is answered from the store"


def test_a_keyed_error_over_a_lost_reply_is_replayed_readably(stubs, channel):
    """Insufficient funds, reply dropped: the retry gets the stored FAILED_PRECONDITION."""
    pb, rpc = stubs["account"]
    account = rpc.AccountStub(channel)
    md = session("keyed-drop") + key()
    request = pb.AmountRequest(account="empty", amount_cents=100)
    with pytest.raises(grpc.RpcError) as lost:
        account.Withdraw(request, metadata=md + [("x-fault-drop", "1")])
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as retried:
        account.Withdraw(request, metadata=md)
    assert retried.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert replayed(retried.value)


def test_invalid_utf8_in_a_string_field_is_invalid_argument(stubs, channel):
    """The contract: a request that does not decode is the caller's error, not the server's."""
    # SetValueRequest { key (1): bytes ff fe, value (2): 1.0 }: a string field that is not UTF-8.
    raw = bytes([0x0A, 0x02, 0xFF, 0xFE, 0x11, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
    call = channel.unary_unary(
        "/calculator.v1.Store/SetValue",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    for md in (session("utf8"), session("utf8-keyed") + key()):
        with pytest.raises(grpc.RpcError) as error:
            call(raw, metadata=md)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
