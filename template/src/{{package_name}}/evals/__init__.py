"""Evals: each feature's cases, the scorers, a runner, reports, and the gate CI runs on each change.

`<slug> eval run|compare|gate|baseline update` (see `command.py`); docs/evals.md says what the
suite covers and how the gate decides.
"""
