"""The generated gRPC code, imported from generated/.

`python generate_stubs.py` writes it (see that file). The modules import each
other as `calculator.v1.*` (store.proto imports calculator.proto), so the
folder that holds `calculator/` must be on Python's import path: this module
puts it there, then imports them.
"""

import os
import sys
from types import SimpleNamespace

STARTER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = os.path.join(STARTER, "generated")


class StubsMissing(RuntimeError):
    """The generated code is not there yet."""


def load(folder=GENERATED):
    """The message and stub modules, as `pb.account`, `rpc.account`, ..."""
    if not os.path.isdir(os.path.join(folder, "calculator", "v1")):
        raise StubsMissing(f"no generated gRPC code in {folder}: run `python generate_stubs.py` in {STARTER} first")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from calculator.v1 import (
        account_pb2,
        account_pb2_grpc,
        calculator_pb2,
        calculator_pb2_grpc,
        lab_pb2,
        lab_pb2_grpc,
        store_pb2,
        store_pb2_grpc,
    )

    pb = SimpleNamespace(account=account_pb2, calculator=calculator_pb2, lab=lab_pb2, store=store_pb2)
    rpc = SimpleNamespace(
        account=account_pb2_grpc, calculator=calculator_pb2_grpc, lab=lab_pb2_grpc, store=store_pb2_grpc
    )
    return pb, rpc
