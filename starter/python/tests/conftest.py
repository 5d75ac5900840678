"""Shared set-up for the starter kit's tests: the kit on the import path, its
stubs generated from proto/ exactly as a student generates them, the real lab
server on a free port (as interop/python/conftest.py starts it), and a
virtual clock for timing without sleeping."""

import io
import os
import re
import subprocess
import sys
import uuid

import pytest

STARTER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(STARTER))
sys.path.insert(0, STARTER)

import generate_stubs  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def stubs():
    """`python generate_stubs.py`, as step 3 of the README."""
    return generate_stubs.generate()


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


class VirtualClock:
    """A clock that moves only when something sleeps on it: runs replay exactly."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return VirtualClock()


def session(name):
    return f"starter-{name}-{uuid.uuid4().hex[:8]}"


def run(main, server, name, *argv, **kwargs):
    """Run a client's main() against the test server in a fresh session; (report, printed text)."""
    out = io.StringIO()
    report = main([*argv, "--server", server, "--session", session(name)], out=out, **kwargs)
    return report, out.getvalue()
