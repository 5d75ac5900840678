"""How a logical call that did not succeed ended, when it is not simply the server's error.

A client's retry loop ends a failed call in one of two ways:

- it re-raises the last `grpc.RpcError` the server sent (the code says why);
- or it raises `GaveUp`: the client itself decided to stop, perhaps without
  sending anything (a circuit breaker that is open, a deadline already
  passed). `reason` says why in words; `last_error` is the server's last
  error, if an attempt was sent at all.
"""


class GaveUp(Exception):
    def __init__(self, reason, last_error=None):
        super().__init__(reason)
        self.reason = reason
        self.last_error = last_error
