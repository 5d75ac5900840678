"""The request and response headers of the lab's wire contract.

gRPC metadata is a list of (name, value) pairs sent with a call, like HTTP
headers. The lab server reads these (see the repository's README, "The wire
contract"):

- `x-lab-session`: which lab session the call belongs to. Every browser tab is
  its own session; send the tab's name and your calls land in the same world
  as the page's: the same accounts, keys and counters.
- `idempotency-key`: one key per logical call, the same on every retry. The
  server executes the first request with a key and answers later ones from
  its store, with the response header `idempotent-replayed: true`.
- `x-fault-fail`, `x-fault-drop`, `x-fault-delay-ms`: faults the server
  injects into this one request (a probability, or a delay in ms). A reply a
  fault shaped carries `x-fault-injected: fail | drop | delay`.
- `grpc-retry-pushback-ms` (response): the server says how long to wait
  before retrying (a negative value: do not retry).
"""

SESSION = "x-lab-session"
IDEMPOTENCY_KEY = "idempotency-key"
REPLAYED = "idempotent-replayed"
FAULT_FAIL = "x-fault-fail"
FAULT_DROP = "x-fault-drop"
FAULT_DELAY_MS = "x-fault-delay-ms"
FAULT_INJECTED = "x-fault-injected"
RETRY_PUSHBACK_MS = "grpc-retry-pushback-ms"

# Sent with the lab's own bookkeeping calls (reading the stats and the
# balance, topping up the account): explicit zeroes override any server-wide
# fault profile a teacher set, so the measurement itself never fails.
NO_FAULTS = [(FAULT_FAIL, "0"), (FAULT_DROP, "0"), (FAULT_DELAY_MS, "0")]


def session(name):
    return [(SESSION, name)]


def faults(fail=None, drop=None, delay_ms=None):
    """The fault headers for the knobs that were given (none: the server's defaults apply)."""
    metadata = []
    if fail is not None:
        metadata.append((FAULT_FAIL, f"{fail:g}"))
    if drop is not None:
        metadata.append((FAULT_DROP, f"{drop:g}"))
    if delay_ms is not None:
        metadata.append((FAULT_DELAY_MS, str(delay_ms)))
    return metadata


def of(error_or_call, name):
    """A header's value from a reply or an error (initial or trailing metadata), or None."""
    for part in (error_or_call.initial_metadata, error_or_call.trailing_metadata):
        for key, value in part() or ():  # None when there was none (a refused connection)
            if key == name:
                return value
    return None
