"""Fixtures for fuzzing the REST API in-process, and the case counter the suite reports."""

from __future__ import annotations

from collections import Counter

FUZZ_CASES = {"generated": 0, "server_errors": 0}
FUZZ_STATUSES: Counter[int] = Counter()


def pytest_sessionfinish(session):
    """An xdist worker hands its counts to the controller, whose summary (tests/conftest.py)
    prints the sum: this conftest is not loaded there."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["fuzz_cases"] = dict(FUZZ_CASES)
        session.config.workeroutput["fuzz_statuses"] = dict(FUZZ_STATUSES)


def pytest_terminal_summary(terminalreporter):
    if FUZZ_CASES["generated"]:
        terminalreporter.write_sep("=", "API fuzzing")
        terminalreporter.write_line(
            f"schemathesis: {FUZZ_CASES['generated']} generated cases, "
            f"{FUZZ_CASES['server_errors']} answered 5xx"
        )
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(FUZZ_STATUSES.items()))
        terminalreporter.write_line(f"responses by status: {statuses}")
