"""Benchmarks of the service, run from the project root: `make bench`.

`benchmarks.throughput` measures what the full request path (authentication, validation,
telemetry, logging, cost accounting, rate limits) costs next to a bare FastAPI endpoint doing the
same model work, side by side in one run, and prints a Markdown report. The work is triage as
the template ships it: the project's own, or the tests' copy (`tests/reference_feature.py`).
"""
