"""The load test of a deployed service: `make load URL=...` (Locust, `locustfile.py`).

`workload` says what is sent and imports no Locust, so the project's tests can check it without
Locust's gevent patching the test process.
"""
