"""The load test: every feature route of a deployed service, with requests no cache can answer.

`make load URL=https://staging.example.com` runs it headless (`USERS`, `DURATION`). The API key
is read from `LOCUST_API_KEY`, since on the command line `ps` would show it; its tenant's rate
limit must allow the load: each user sends about one request a second. The run fails (exit 1),
saying why, when the error rate or the 95th percentile response time is over its threshold, or
a route got no request, so a pipeline can stop a rollout on it.
"""

from __future__ import annotations

import json
import logging
import os
from argparse import Namespace
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, constant_pacing, events, task
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import RequestStats

from loadtest.workload import Call, Workload

API_KEY_VARIABLE = "LOCUST_API_KEY"
METHOD = "POST"
WORKLOAD = Workload.of_project()
log = logging.getLogger(__name__)


def add_thresholds(parser: LocustArgumentParser, **_: Any) -> None:
    """The pass/fail thresholds, as options (or `LOCUST_MAX_ERROR_RATE`, `LOCUST_MAX_P95_MS`)."""
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=0.01,
        env_var="LOCUST_MAX_ERROR_RATE",
        help="fail when more than this share of the requests failed (default: 0.01)",
    )
    parser.add_argument(
        "--max-p95-ms",
        type=float,
        default=5000.0,
        env_var="LOCUST_MAX_P95_MS",
        help="fail when the 95th percentile response time is over this, in milliseconds "
        "(default: 5000, room for a hosted model; the classical model takes tens at most)",
    )


def prepare(environment: Environment, **_: Any) -> None:
    """Stop before the first request without a key (every answer would be a 401), and wind
    gevent's clock, which stood still while the cases loaded: `--run-time` is timed by it."""
    if not os.environ.get(API_KEY_VARIABLE):
        raise SystemExit(f"Set {API_KEY_VARIABLE} to an API key of the service under test.")
    gevent.get_hub().loop.update_now()


class Caller(HttpUser):
    """A client of the service: about one request a second, each to the next route in turn."""

    wait_time = constant_pacing(1.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ[API_KEY_VARIABLE]}"

    @task
    def call(self) -> None:
        call = WORKLOAD.next()
        with self.client.post(call.route.path, json=call.body, catch_response=True) as response:
            if response.error is not None:
                return  # no answer (e.g. refused): Locust reports the error itself
            fault = _fault(call, response.status_code, response.text)
            if fault is not None:
                response.failure(fault)


def _fault(call: Call, status: int, text: str) -> str | None:
    """Why an answer is a failure, grouped in Locust's error report; None for a good one."""
    if status != 200:
        return f"{status} {_json_object(text).get('title', '')}".strip()
    if call.route.streamed:
        if "event: error" in text:
            return "the stream ended with an error event"
        return None if "event: result" in text else "the stream ended without a result"
    answer = _json_object(text)
    if "cached" not in answer:
        return "the answer is not the service's JSON"
    return "answered from the cache: the request was not unique" if answer["cached"] else None


def _json_object(text: str) -> dict[str, Any]:
    """`text` as a JSON object (an answer or a problem), or nothing."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def enforce_thresholds(environment: Environment, **_: Any) -> None:
    """Exit 1 over a threshold, logging why; exit 0 under them, a few failures included."""
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return  # the master judges the run: a worker sees only its own share
    reasons = verdict(environment.stats, environment.parsed_options)
    total = environment.stats.total
    summary = (
        f"{total.num_requests} requests, {total.fail_ratio:.2%} failed, "
        f"p95 {total.get_response_time_percentile(0.95)} ms"
    )
    if reasons:
        log.error("Load test failed (%s): %s", summary, "; ".join(reasons))
        environment.process_exit_code = 1
    else:
        log.info("Load test passed: %s", summary)
        environment.process_exit_code = 0


def verdict(stats: RequestStats, options: Namespace) -> list[str]:
    """What is over its threshold, each said with the option that sets it."""
    total = stats.total
    if total.num_requests == 0:
        return ["no request was sent"]
    reasons = []
    if total.fail_ratio > options.max_error_rate:
        reason = (
            f"error rate {total.fail_ratio:.2%} is over --max-error-rate {options.max_error_rate:g}"
        )
        if any(str(error.error).startswith("429") for error in stats.errors.values()):
            reason += " (429s: raise the key's tenant's limits, TENANT_OVERRIDES, or lower USERS)"
        reasons.append(reason)
    p95 = total.get_response_time_percentile(0.95)
    if p95 > options.max_p95_ms:
        reasons.append(f"p95 {p95} ms is over --max-p95-ms {options.max_p95_ms:g}")
    missing = [r.path for r in WORKLOAD.routes if (r.path, METHOD) not in stats.entries]
    if missing:
        reasons.append(f"no request reached {', '.join(missing)}: run longer, or more USERS")
    return reasons


for hook, listener in (
    (events.init_command_line_parser, add_thresholds),
    (events.init, prepare),
    (events.quitting, enforce_thresholds),
):
    hook.add_listener(listener)  # type: ignore[no-untyped-call]  # Locust leaves it unannotated
