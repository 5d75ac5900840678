"""Optimistic writes (Store/GetVersionedValue, Store/CompareAndSet), as a stock grpcio client sees them.

The course's client must be able to do what Brooker's clients do: read a
version, write on it, and on a conflict learn the current version from the
ABORTED refusal's trailing metadata (x-lab-current-version) — a clean
status with its message, not a broken stream — so it can retry.
"""

import uuid

import grpc
import pytest


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def trailers(error):
    return dict(error.initial_metadata() or []) | dict(error.trailing_metadata() or [])


def test_a_stale_write_is_aborted_with_the_current_version(stubs, channel):
    store_pb, store_rpc = stubs["store"]
    store = store_rpc.StoreStub(channel)
    md = session("cas")

    absent = store.GetVersionedValue(store_pb.GetValueRequest(key="row"), metadata=md)
    assert (absent.value, absent.version) == (0, 0)

    first = store.CompareAndSet(store_pb.CompareAndSetRequest(key="row", expected_version=0, value=1), metadata=md)
    assert first.value == 1 and first.version > 0

    with pytest.raises(grpc.RpcError) as refused:
        store.CompareAndSet(store_pb.CompareAndSetRequest(key="row", expected_version=0, value=2), metadata=md)
    error = refused.value
    assert error.code() == grpc.StatusCode.ABORTED
    assert "another write came first" in error.details()
    current = int(trailers(error)["x-lab-current-version"])
    assert current == first.version

    unchanged = store.GetVersionedValue(store_pb.GetValueRequest(key="row"), metadata=md)
    assert (unchanged.value, unchanged.version) == (1, first.version), "a refused write changes nothing"

    # Retry on the version the refusal named: no fresh read needed.
    second = store.CompareAndSet(
        store_pb.CompareAndSetRequest(key="row", expected_version=current, value=2), metadata=md
    )
    assert second.value == 2 and second.version > current


def test_read_modify_write_with_retries_loses_no_update(stubs, channel):
    """Writers that interleave their reads and writes: every conflict is
    retried, and the final count is the number of increments."""
    store_pb, store_rpc = stubs["store"]
    store = store_rpc.StoreStub(channel)
    md = session("counter")
    readers = [store.GetVersionedValue(store_pb.GetValueRequest(key="n"), metadata=md) for _ in range(5)]
    conflicts = 0
    for seen in readers:  # all five read version 0 before anyone wrote
        while True:
            try:
                store.CompareAndSet(
                    store_pb.CompareAndSetRequest(key="n", expected_version=seen.version, value=seen.value + 1),
                    metadata=md,
                )
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.ABORTED
                conflicts += 1
                seen = store.GetVersionedValue(store_pb.GetValueRequest(key="n"), metadata=md)
    final = store.GetVersionedValue(store_pb.GetValueRequest(key="n"), metadata=md)
    assert final.value == 5
    assert conflicts == 4, "every writer but the first had read a stale version"
