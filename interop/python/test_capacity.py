"""A session with a finite capacity (Lab/SetCapacity), as a stock grpcio client sees it.

An overloaded server answers at once with RESOURCE_EXHAUSTED. That refusal
must reach a student's grpcio client as the clean status it is — its
message, the limit it hit (x-lab-overload) and the server's pushback
(grpc-retry-pushback-ms) readable in the trailing metadata — or a client
could not tell "overloaded, back off" from a broken connection.
"""

import time
import uuid

import grpc
import pytest


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def trailers(error):
    return dict(error.initial_metadata() or []) | dict(error.trailing_metadata() or [])


def until(lab, lab_pb, md, reached, what):
    """Asks GetStats until `reached(stats)`: waits for the server to get somewhere."""
    give_up = time.monotonic() + 10
    while True:
        stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
        if reached(stats):
            return stats
        assert time.monotonic() < give_up, f"waited 10 s for {what}: {stats}"
        time.sleep(0.005)


def test_a_refusal_for_overload_is_a_clean_resource_exhausted(stubs, channel):
    calc_pb, calc_rpc = stubs["calculator"]
    lab_pb, lab_rpc = stubs["lab"]
    calc, lab = calc_rpc.CalculatorStub(channel), lab_rpc.LabStub(channel)
    md = session("overload")
    stored = lab.SetCapacity(
        lab_pb.SetCapacityRequest(capacity=lab_pb.Capacity(workers=1, queue=1, service_ms=1000, pushback_ms=300)),
        metadata=md,
    )
    assert (stored.workers, stored.queue, stored.pushback_ms) == (1, 1, 300)

    busy = calc.Add.future(calc_pb.BinaryOperation(a=1, b=2), metadata=md)
    until(lab, lab_pb, md, lambda s: s.executions_in_flight == 1, "one executing")
    queued = calc.Add.future(calc_pb.BinaryOperation(a=1, b=2), metadata=md)
    until(lab, lab_pb, md, lambda s: s.queue_depth == 1, "one queued")

    with pytest.raises(grpc.RpcError) as error:
        calc.Add(calc_pb.BinaryOperation(a=1, b=2), metadata=md)
    refused = error.value
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused
    assert refused.details().startswith("overloaded: 1 executing on 1 worker and 1 request queued"), refused.details()
    meta = trailers(refused)
    assert meta.get("x-lab-overload") == "queue-full"
    assert meta.get("grpc-retry-pushback-ms") == "300"

    assert busy.result().value == 3
    assert queued.result().value == 3
    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert (stats.executions_finished, stats.refused_overloaded) == (2, 1)
    assert stats.executions["/calculator.v1.Calculator/Add"] == 2


def test_a_grpcio_client_that_cancels_is_seen_to_hang_up(stubs, channel):
    calc_pb, calc_rpc = stubs["calculator"]
    lab_pb, lab_rpc = stubs["lab"]
    calc, lab = calc_rpc.CalculatorStub(channel), lab_rpc.LabStub(channel)
    md = session("hangup")
    lab.SetCapacity(
        lab_pb.SetCapacityRequest(
            capacity=lab_pb.Capacity(
                workers=1,
                queue=5,
                service_ms=1000,
                abandoned_work=lab_pb.ABANDONED_WORK_CANCEL_ON_HANGUP,
            )
        ),
        metadata=md,
    )
    busy = calc.Add.future(calc_pb.BinaryOperation(a=1, b=2), metadata=md)
    until(lab, lab_pb, md, lambda s: s.executions_in_flight == 1, "one executing")
    waiting = calc.Add.future(calc_pb.BinaryOperation(a=1, b=2), metadata=md)
    until(lab, lab_pb, md, lambda s: s.queue_depth == 1, "one queued")

    assert waiting.cancel()
    stats = until(lab, lab_pb, md, lambda s: s.executions_cancelled == 1, "the cancelled call to leave the queue")
    assert stats.queue_depth == 0
    assert busy.result().value == 3
    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert stats.executions["/calculator.v1.Calculator/Add"] == 1, "the cancelled one never ran"


def test_a_bad_capacity_names_the_field(stubs, channel):
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)
    with pytest.raises(grpc.RpcError) as error:
        lab.SetCapacity(
            lab_pb.SetCapacityRequest(capacity=lab_pb.Capacity(workers=1, slowdown=-1)),
            metadata=session("invalid"),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details().startswith("capacity.slowdown"), error.value.details()
