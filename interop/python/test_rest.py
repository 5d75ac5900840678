"""The REST/JSON twin as a plain HTTP client (Python's standard library) sees it."""

import json
import urllib.error
import urllib.request
import uuid


def call(server, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{server}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_calculator(server):
    status, _, body = call(server, "POST", "/api/v1/calculator/add", {"a": 2, "b": 3})
    assert (status, body) == (200, {"value": 5.0})
    status, _, body = call(server, "POST", "/api/v1/calculator/divide", {"a": 1, "b": 0})
    assert status == 400
    assert body["code"] == "INVALID_ARGUMENT"
    assert "division by zero" in body["message"]


def test_withdraw_with_a_key_over_rest(server):
    session = {"x-lab-session": f"py-rest-{uuid.uuid4().hex[:8]}"}
    call(server, "POST", "/api/v1/accounts/alice/deposit", {"amount_cents": 1000}, session)
    key = {**session, "idempotency-key": str(uuid.uuid4())}
    status, headers, body = call(server, "POST", "/api/v1/accounts/alice/withdraw", {"amount_cents": 100}, {**key, "x-fault-drop": "1"})
    assert (status, body["code"], headers.get("x-fault-injected")) == (503, "UNAVAILABLE", "drop")
    status, headers, body = call(server, "POST", "/api/v1/accounts/alice/withdraw", {"amount_cents": 100}, key)
    assert (status, headers.get("idempotent-replayed"), body["balance_cents"]) == (200, "true", 900)
    assert call(server, "GET", "/api/v1/accounts/alice", headers=session)[2]["balance_cents"] == 900


def test_insufficient_funds_is_412(server):
    session = {"x-lab-session": f"py-rest-{uuid.uuid4().hex[:8]}"}
    status, _, body = call(server, "POST", "/api/v1/accounts/bob/withdraw", {"amount_cents": 1}, session)
    assert (status, body["code"]) == (412, "FAILED_PRECONDITION")
