"""The whole test run's logs and spans, searched for every secret the run configured.

Whenever a test builds settings, their secrets (API keys, passwords in URLs, provider keys) join
the watched values; whenever a test's logs, spans or captured output are complete, they are
kept. When the run ends, everything kept is searched for every secret watched (a key one test
configures may appear in another's logs), so a secret that reaches a log line or a span in any
test, by any path, fails the run (conftest.py). Under pytest-xdist each worker hands what it
watched and kept to the controller as it finishes, and the controller searches the whole run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Written:
    """One test's log, spans or captured output."""

    test: str
    where: str
    text: str


@dataclass(frozen=True, slots=True)
class Leak:
    """Where a watched secret was found: the test, the kind of text, and the secret's start."""

    test: str
    where: str
    secret_prefix: str


@dataclass
class SecretWatch:
    """The secrets configured so far and everything written so far (a few MB for the run)."""

    secrets: set[str] = field(default_factory=set)
    written: list[Written] = field(default_factory=list)
    keeps_reports: bool = True
    """Whether this process keeps the tests' captured output (conftest.py): not a pytest-xdist
    worker, whose reports, output included, reach the controller."""

    def watch(self, secrets: Iterable[str]) -> None:
        """Add configured secret values to those searched for."""
        self.secrets.update(secret for secret in secrets if secret)

    def keep(self, where: str, text: str, test: str | None = None) -> None:
        """Keep a log, spans or captured output, to be searched at the end of the run."""
        test = test or os.environ.get("PYTEST_CURRENT_TEST", "outside a test")
        self.written.append(Written(test, where, text))

    def kept(self) -> Counter[str]:
        """How many texts of each kind were kept."""
        return Counter(written.where for written in self.written)

    def leaks(self) -> list[Leak]:
        """Every watched secret found in anything kept."""
        return [
            Leak(written.test, written.where, secret[:6])
            for written in self.written
            for secret in sorted(self.secrets)
            if secret in written.text
        ]

    def summary(self) -> list[str]:
        """The search's report for the end of the run: what it covered, then each leak."""
        kept = self.kept()
        covered = ", ".join(f"{count} {where}" for where, count in sorted(kept.items()))
        leaks = self.leaks()
        lines = [
            f"secret watch: searched {covered or 'nothing'} for {len(self.secrets)} secrets: "
            + (f"{len(leaks)} LEAKED, the run fails" if leaks else "no leak")
        ]
        lines += [f"  {leak.secret_prefix}... in {leak.where} of {leak.test}" for leak in leaks]
        return lines

    def handover(self) -> dict[str, Any]:
        """Everything watched and kept, as plain data: what a pytest-xdist worker sends the
        controller at its end."""
        return {"secrets": sorted(self.secrets), "written": [astuple(w) for w in self.written]}

    def take(self, handed: dict[str, Any]) -> None:
        """Add what a worker handed over, to be searched with the rest of the run."""
        self.secrets.update(handed["secrets"])
        self.written.extend(Written(*entry) for entry in handed["written"])


WATCH = SecretWatch()
"""The run's watch: one per test process."""
