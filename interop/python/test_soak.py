"""A short soak inside `./lab test`: four grpcio clients, keyed calls, 30 %
fails and 30 % drops, one account and one counter. The ledger must be exact.
(`soak.py` runs the same for minutes and watches the server's memory.)"""

from soak import run_soak

SECONDS = 12


def test_keyed_clients_under_faults_lose_nothing_and_double_nothing(stubs, server):
    tallies, problems, check = run_soak(stubs, server, SECONDS, clients=4, fail=0.3, drop=0.3, opening=2_000)
    assert check["logical calls"] > 200, f"the soak barely ran: {check}"
    assert check["replays"] > 0, "drops were retried with their keys and replayed"
    seen = set()
    for tally in tallies:
        seen |= set(tally.codes)
    # Faults happened, and so did keyed errors (insufficient funds), the path
    # whose replies grpcio once could not read.
    assert {"OK", "UNAVAILABLE", "FAILED_PRECONDITION"} <= seen, seen
    assert not problems, "\n".join(problems)
