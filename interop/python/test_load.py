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
