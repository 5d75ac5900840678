"""Generate the Python gRPC code from the lab's .proto files.

    python generate_stubs.py

The .proto files in the repository's proto/ folder are the contract between
client and server: every message and every method. grpcio-tools' protoc reads
them and writes, for each file, two Python modules into generated/:

    calculator/v1/account_pb2.py       the messages (AmountRequest, Balance, ...)
    calculator/v1/account_pb2_grpc.py  the client stub (AccountStub) and server base

Never edit generated/ by hand: change a .proto and generate again. The folder
is not committed (see .gitignore): it is rebuilt from the contract.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
OUT = os.path.join(HERE, "generated")
PROTOS = ["calculator.proto", "store.proto", "account.proto", "lab.proto"]


def generate(out=OUT, proto_root=PROTO_ROOT):
    """Run protoc on the lab's .proto files; return the output folder."""
    from grpc_tools import protoc  # installed by requirements.txt

    os.makedirs(out, exist_ok=True)
    args = [
        "protoc",
        f"-I{proto_root}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
    ] + [f"calculator/v1/{name}" for name in PROTOS]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_root} (see its message above)")
    return out


if __name__ == "__main__":
    folder = generate()
    print(f"generated the gRPC code for {', '.join(PROTOS)} into {os.path.relpath(folder)}/")
    sys.exit(0)
