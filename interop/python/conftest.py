"""Shared set-up for the interop tests: stubs generated from proto/ with
grpcio-tools, and the real server started on a free port."""

import os
import re
import subprocess
import sys
import tempfile

import grpc
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTOS = ["calculator.proto", "store.proto", "account.proto", "lab.proto"]


def generate_stubs():
    """Python modules generated from the repository's .proto files, as a student would."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="rpc-lab-stubs-")
    args = ["protoc", f"-I{REPO}/proto", f"--python_out={out}", f"--grpc_python_out={out}"]
    args += [f"calculator/v1/{name}" for name in PROTOS]
    assert protoc.main(args) == 0, "protoc failed"
    sys.path.insert(0, out)
    from calculator.v1 import (  # noqa: E402
        account_pb2,
        account_pb2_grpc,
        calculator_pb2,
        calculator_pb2_grpc,
        lab_pb2,
        lab_pb2_grpc,
        store_pb2,
        store_pb2_grpc,
    )

    return {
        "calculator": (calculator_pb2, calculator_pb2_grpc),
        "store": (store_pb2, store_pb2_grpc),
        "account": (account_pb2, account_pb2_grpc),
        "lab": (lab_pb2, lab_pb2_grpc),
    }


@pytest.fixture(scope="session")
def stubs():
    return generate_stubs()


@pytest.fixture(scope="session")
def server():
    """The lab server on 127.0.0.1, port chosen by the OS."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    binary = os.environ.get("LAB_SERVER_BIN", os.path.join(target, "debug", "rpc-lab-server"))
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"listening on http://(\S+)", line)
    assert match, f"the server did not start: {line!r}"
    yield match.group(1)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(server) as channel:
        yield channel
