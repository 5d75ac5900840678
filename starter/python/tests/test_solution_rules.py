"""solution.py's retry rules, one at a time, with a scripted server (no network, no sleeping)."""

import uuid

import grpc
import pytest

import solution
from rpclab.operations import OPERATIONS
from rpclab.outcome import GaveUp

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


class Error(grpc.RpcError):
    """A failed attempt as grpcio reports it."""

    def __init__(self, code, trailers=()):
        self._code, self._trailers = code, list(trailers)

    def code(self):
        return self._code

    def details(self):
        return "scripted"

    def initial_metadata(self):
        return []

    def trailing_metadata(self):
        return self._trailers


class Server:
    """Answers each attempt from a script: an Error to raise, or a reply to return."""

    def __init__(self, *script, clock=None):
        self.script, self.clock, self.sent = list(script), clock, []

    def send(self, metadata=(), timeout=None):
        self.sent.append({"metadata": dict(metadata), "timeout": timeout, "at": self.clock() if self.clock else None})
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def client(clock, *argv):
    args = solution.parse_args(["withdraw", "--seed", "1", *argv])
    return solution.ResilientClient(args, clock=clock, sleep=clock.sleep)


def test_one_key_per_logical_call_the_same_on_every_attempt(clock):
    c = client(clock)
    server = Server(Error(UNAVAILABLE), Error(UNAVAILABLE), "ok")
    assert c.call(server.send, OPERATIONS["withdraw"]) == "ok"
    keys = [attempt["metadata"]["idempotency-key"] for attempt in server.sent]
    assert len(set(keys)) == 1 and uuid.UUID(keys[0]).version == 4
    again = Server("ok")
    c.call(again.send, OPERATIONS["withdraw"])
    assert again.sent[0]["metadata"]["idempotency-key"] != keys[0], "a new logical call, a new key"


def test_an_idempotent_operation_carries_no_key(clock):
    server = Server(Error(UNAVAILABLE), "ok")
    client(clock).call(server.send, OPERATIONS["set"])
    assert [attempt["metadata"] for attempt in server.sent] == [{}, {}]


def test_only_retryable_codes_are_retried(clock):
    for code in [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND]:
        server = Server(Error(code))
        with pytest.raises(grpc.RpcError) as error:
            client(clock).call(server.send, OPERATIONS["withdraw"])
        assert error.value.code() == code and len(server.sent) == 1
    for code in [UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED]:
        server = Server(Error(code), "ok")
        assert client(clock).call(server.send, OPERATIONS["withdraw"]) == "ok"


def test_without_a_key_an_unsafe_call_is_not_retried(clock):
    server = Server(Error(UNAVAILABLE), "ok")
    with pytest.raises(GaveUp, match="not idempotent and no key"):
        client(clock, "--no-keys").call(server.send, OPERATIONS["withdraw"])
    assert len(server.sent) == 1


def test_the_waits_are_full_jitter_below_a_doubling_ceiling_and_replay_by_seed(clock):
    def waits():
        clock.slept.clear()
        server = Server(Error(UNAVAILABLE), Error(UNAVAILABLE), Error(UNAVAILABLE), "ok")
        client(clock, "--backoff-ms", "100").call(server.send, OPERATIONS["withdraw"])
        return list(clock.slept)

    first = waits()
    assert len(first) == 3
    assert all(0 <= wait < ceiling for wait, ceiling in zip(first, [0.1, 0.2, 0.4]))
    assert waits() == first


def test_server_pushback_replaces_the_backoff(clock):
    pushed = Error(UNAVAILABLE, [("grpc-retry-pushback-ms", "250")])
    server = Server(pushed, "ok")
    client(clock).call(server.send, OPERATIONS["withdraw"])
    assert clock.slept == [0.25]


def test_negative_pushback_means_do_not_retry(clock):
    server = Server(Error(UNAVAILABLE, [("grpc-retry-pushback-ms", "-1")]), "ok")
    with pytest.raises(GaveUp, match="not to retry"):
        client(clock).call(server.send, OPERATIONS["withdraw"])
    assert len(server.sent) == 1


def test_each_attempt_gets_only_the_time_left_and_no_wait_outlives_the_deadline(clock):
    # 0.3 s per attempt, 0.5 s for the whole call, waits of exactly 0.3 s (pushback).
    slow = lambda: Error(UNAVAILABLE, [("grpc-retry-pushback-ms", "300")])  # noqa: E731
    server = Server(slow(), slow(), slow(), clock=clock)
    c = client(clock, "--timeout", "0.3", "--deadline", "0.5")
    with pytest.raises(GaveUp, match="deadline"):
        c.call(server.send, OPERATIONS["withdraw"])
    assert [round(a["timeout"], 3) for a in server.sent] == [0.3, 0.2]
    assert clock.slept == [0.3], "the second wait would have ended at the deadline: not taken"


def test_an_open_breaker_sends_nothing(clock):
    c = client(clock, "--breaker-window", "2", "--breaker-minimum-calls", "2", "--quiet")
    failing = Server(Error(UNAVAILABLE), Error(UNAVAILABLE), "never sent")
    with pytest.raises(GaveUp, match="circuit breaker open") as first:
        c.call(failing.send, OPERATIONS["set"])
    assert len(failing.sent) == 2, "two failures opened it: the third attempt was not sent"
    assert first.value.last_error.code() == UNAVAILABLE
    server = Server("ok")
    with pytest.raises(GaveUp, match="circuit breaker open"):
        c.call(server.send, OPERATIONS["set"])
    assert server.sent == []
    assert c.rejected == 2
