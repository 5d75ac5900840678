"""The load engine (Lab/RunLoad) as a stock grpcio client sees it: a
server-streaming call whose messages read well, whose last one sums the run
and agrees with GetStats, and whose refusals are clean statuses."""

import uuid

import grpc
import pytest


def session(name):
    return [("x-lab-session", f"py-{name}-{uuid.uuid4().hex[:8]}")]


def test_a_short_run_streams_windows_then_its_summary(stubs, channel):
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)
    md = session("load")
    scenario = lab_pb.LoadScenario(
        open=lab_pb.OpenLoop(rate_per_second=100),
        duration_ms=500,
        operation=lab_pb.LOAD_OPERATION_ADD,
        seed=1,
    )
    messages = list(lab.RunLoad(scenario, metadata=md))
    *windows, summary = messages
    # `final` is a Python keyword: read it by name.
    assert getattr(summary, "final") and not summary.stopped
    assert not any(getattr(w, "final") for w in windows)
    assert 4 <= len(windows) <= 7, len(windows)
    for message in messages:
        assert message.attempts_ended == sum(message.attempts_by_code.values())
    assert summary.calls_started == 50
    assert summary.attempts_by_code["OK"] == 50
    stats = lab.GetStats(lab_pb.GetStatsRequest(), metadata=md)
    assert stats.executions["/calculator.v1.Calculator/Add"] == 50


def test_a_cap_is_a_clean_resource_exhausted_naming_the_flag(stubs, channel):
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)
    scenario = lab_pb.LoadScenario(
        closed=lab_pb.ClosedLoop(clients=1_000_000), duration_ms=100
    )
    with pytest.raises(grpc.RpcError) as error:
        list(lab.RunLoad(scenario, metadata=session("cap")))
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-load-clients" in error.value.details()


def test_a_schedule_of_capacity_and_faults_over_time(stubs, channel):
    """Two brownouts given out of order are said back in time order (the
    first as `brownout`), and a fault window fails exactly the calls sent
    inside it: at 50 calls/s, the ten sent at 200, 220 ... 380 ms."""
    lab_pb, lab_rpc = stubs["lab"]
    lab = lab_rpc.LabStub(channel)
    md = session("schedule")
    stored = lab.SetCapacity(
        lab_pb.SetCapacityRequest(
            capacity=lab_pb.Capacity(
                workers=4,
                queue=10,
                brownout=lab_pb.Brownout(start_ms=5000, end_ms=6000, workers=0),
                brownouts=[lab_pb.Brownout(start_ms=1000, end_ms=2000, service_time_factor=3)],
            )
        ),
        metadata=md,
    )
    assert (stored.brownout.start_ms, stored.brownout.service_time_factor) == (1000, 3)
    assert [(b.start_ms, b.workers) for b in stored.brownouts] == [(5000, 0)]

    scenario = lab_pb.LoadScenario(
        open=lab_pb.OpenLoop(rate_per_second=50),
        duration_ms=600,
        operation=lab_pb.LOAD_OPERATION_ADD,
        seed=1,
        fault_windows=[lab_pb.LoadFaultWindow(start_ms=200, end_ms=400, faults=lab_pb.LoadFaults(fail=1))],
    )
    summary = list(lab.RunLoad(scenario, metadata=session("fault-window")))[-1]
    assert (summary.calls_started, summary.calls_failed) == (30, 10), summary
    assert summary.attempts_by_code["UNAVAILABLE"] == 10

    with pytest.raises(grpc.RpcError) as error:
        overlapping = lab_pb.LoadScenario(
            open=lab_pb.OpenLoop(rate_per_second=50),
            duration_ms=600,
            fault_windows=[
                lab_pb.LoadFaultWindow(start_ms=0, end_ms=300),
                lab_pb.LoadFaultWindow(start_ms=100, end_ms=200),
            ],
        )
        list(lab.RunLoad(overlapping, metadata=session("overlap")))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details() == "fault_windows overlap: one runs from 0 to 300 ms, another starts at 100 ms"
