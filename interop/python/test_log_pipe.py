"""A server whose log nobody reads any more keeps serving: `./lab run | head`
closes the pipe the server logs to, and a failed log write must cost a log
line, never a request (it used to panic the handler that logged)."""

import os
import re
import subprocess

import grpc

from conftest import REPO


def test_a_closed_log_pipe_costs_no_request(stubs):
    lab_pb, lab_rpc = stubs["lab"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    binary = os.environ.get("LAB_SERVER_BIN", os.path.join(target, "debug", "rpc-lab-server"))
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        address = None
        while address is None:
            line = process.stdout.readline()
            assert line, "the server ended before it said where it listens"
            match = re.search(r"listening on http://(\S+)", line)
            address = match and match.group(1)
        process.stdout.close()  # the reader goes away, as `| head` does
        with grpc.insecure_channel(address) as channel:
            lab = lab_rpc.LabStub(channel)
            # ResetSession logs a line: each would have failed.
            for i in range(3):
                lab.ResetSession(
                    lab_pb.ResetSessionRequest(),
                    metadata=[("x-lab-session", f"pipe-{i}")],
                    timeout=10,
                )
        assert process.poll() is None, "the server is still running"
    finally:
        process.kill()
        process.wait()
