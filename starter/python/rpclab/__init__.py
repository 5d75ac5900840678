"""The plumbing both clients share. Read it; you should not need to change it.

| module | what it holds |
| --- | --- |
| `stubs.py` | imports the code `generate_stubs.py` generated from proto/ |
| `headers.py` | the contract's headers: session, idempotency key, faults, pushback |
| `operations.py` | withdraw, deposit, increment, set, add: requests, idempotence, state |
| `cli.py` | the command line both clients share |
| `outcome.py` | `GaveUp`: the client decided to stop |
| `runner.py` | makes the N logical calls through a client, counts every attempt |
| `truth.py` | the client's view beside the server's truth (Lab/GetStats) |
"""
