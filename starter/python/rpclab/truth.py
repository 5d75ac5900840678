"""The client's view against the server's truth.

A client knows only what its replies told it. A reply lost on the way back
(the `drop` fault) looks exactly like a request that never arrived, yet the
work was done. So the report puts two accounts side by side:

- what the client saw: calls intended, calls it saw succeed, attempts sent;
- what the server did, from `calculator.v1.Lab/GetStats` read before and
  after the run: how many times the method really executed, how many
  requests were answered from the idempotency store (replays), the faults it
  injected, and the state (balance or value) it now holds.

If the server executed a non-idempotent operation more often than the client
intended, some calls ran twice: that is the bug retries without idempotency
keys cause, and the report says so in one line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from . import operations


@dataclass
class Tally:
    """What the client saw, counted by the runner."""

    intended: int = 0
    succeeded: int = 0
    failed: Counter = field(default_factory=Counter)  # how each failed call ended
    attempts: int = 0
    replayed: int = 0  # successes whose reply said idempotent-replayed: true
    last_success: Optional[int] = None  # the index of the last call that succeeded


@dataclass
class Snapshot:
    """The server's counters for the session, and the operation's state, at one moment."""

    executions: dict
    replays: int
    key_reuse_rejected: int
    faults_fail: int
    faults_drop: int
    faults_delay: int
    state: object

    @staticmethod
    def of(stats, state):
        return Snapshot(
            executions=dict(stats.executions),
            replays=stats.replays,
            key_reuse_rejected=stats.key_reuse_rejected,
            faults_fail=stats.faults_fail,
            faults_drop=stats.faults_drop,
            faults_delay=stats.faults_delay,
            state=state,
        )


@dataclass
class Report:
    """One run: the client's tally and the server's counters, before and after."""

    op: operations.Operation
    amount: object
    tally: Tally
    before: Snapshot
    after: Snapshot

    @property
    def executions(self) -> int:
        """How many times the server ran the operation during the run."""
        name = self.op.full_method
        return self.after.executions.get(name, 0) - self.before.executions.get(name, 0)

    @property
    def replays(self) -> int:
        return self.after.replays - self.before.replays

    @property
    def key_reuse_rejected(self) -> int:
        return self.after.key_reuse_rejected - self.before.key_reuse_rejected

    @property
    def faults(self) -> dict:
        return {
            kind: getattr(self.after, f"faults_{kind}") - getattr(self.before, f"faults_{kind}")
            for kind in ("fail", "drop", "delay")
        }

    @property
    def duplicates(self) -> int:
        """Executions beyond one per intended call (0 if none)."""
        return max(0, self.executions - self.tally.intended)

    @property
    def intended_state(self):
        return operations.intended(self.op, self.before.state, self.tally.intended, self.amount)

    @property
    def believed_state(self):
        return operations.believed(
            self.op, self.before.state, self.tally.succeeded, self.tally.last_success, self.amount
        )

    def verdict(self) -> str:
        """One line: did the server execute more, or fewer, than intended? Is the client wrong?"""
        op, n, intended = self.op, self.executions, self.tally.intended
        if n > intended and op.idempotent:
            line = (
                f"duplicates: {n - intended} — harmless to the state: {op.method} is idempotent "
                f"(but {n - intended} more executions than needed)"
            )
        elif n > intended:
            line = f"duplicates: {n - intended} — some {op.noun} ran twice"
        elif n < intended:
            line = f"not executed: {intended - n} — the server ran {op.method} {n} times for {intended} intended calls"
        else:
            line = f"duplicates: 0 — the server ran {op.method} {n} times for {intended} intended calls"
        if op.state is not None and self.after.state != self.believed_state:
            line += f"; the client's books are off by {self.difference()}"
        return line

    def difference(self) -> str:
        actual = self.after.state or 0
        believed = self.believed_state or 0
        diff = actual - believed
        sign = "+" if diff >= 0 else "-"
        return sign + operations.show(self.op, abs(diff))

    def lines(self, session, session_given, client_notes=()):
        t, op = self.tally, self.op
        failed = t.intended - t.succeeded
        why = ", ".join(f"{n} x {reason}" for reason, n in t.failed.most_common())
        out = [
            "",
            "what the client saw",
            f"  calls intended           {t.intended:>6}",
            f"  calls that succeeded     {t.succeeded:>6}"
            + (f"   ({t.replayed} answered from the store: idempotent-replayed)" if t.replayed else ""),
            f"  calls that failed        {failed:>6}" + (f"   ({why})" if why else ""),
            f"  attempts sent            {t.attempts:>6}   ({t.attempts / max(t.intended, 1):.2f} per call)",
            *client_notes,
            "",
            f"the server's truth (calculator.v1.Lab/GetStats, session {session}, during this run)",
            f"  {op.method} executed {'':<{max(0, 15 - len(op.method))}}{self.executions:>6}",
            f"  replays                  {self.replays:>6}   (answered from the idempotency store, not executed)",
        ]
        if self.key_reuse_rejected:
            out.append(f"  key reuse refused        {self.key_reuse_rejected:>6}")
        f = self.faults
        out.append(
            f"  faults injected          fail {f['fail']} (not executed), drop {f['drop']} (executed, reply lost), "
            f"delay {f['delay']}"
        )
        if op.state is not None:
            target = "balance" if op.money else "value"
            out.append(
                f"  {target:<24} {operations.show(op, self.after.state):>6}   "
                f"intended {operations.show(op, self.intended_state)}, "
                f"the client believes {operations.show(op, self.believed_state)}"
            )
        if session_given:
            out.append("  (counts everything this session did during the run: a page's calls too, if a tab shares it)")
        out += ["", self.verdict()]
        return out
