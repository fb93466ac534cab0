"""The full service and the LiteLLM proxy, each next to the bare SDK endpoint, in one run.

Copied into a generated project's `benchmarks/` package by `litellm_peer.py` and run there as
`python -m benchmarks.peer_measure --litellm <its executable>`, with the project's own harness:
its fake upstream, load generator, server start-up and OTLP sink, so the three servers are
measured as `make bench` measures two, in rounds whose order rotates.

The proxy is asked for exactly the chat completion the bare endpoint sends upstream for the same
ticket (the same rendered prompt and response format, a new ticket each time), with its master
key, and forwards it to the same upstream. It runs without a database, as a team trying it
would. The full service and the bare endpoint are asked for triage, as in `make bench`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import statistics
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
from ai_service.chaos.environment import FAKE_API_KEY
from tests.shipped import shipped_prompts

from .baseline import BASELINE
from .report import Options, Sample
from .servers import (
    ServerSpec,
    bare_server,
    clean_env,
    full_server,
    otlp_sink,
    serving,
    upstream,
)
from .service import ENV_PREFIX
from .throughput import measure
from .workload import BODY, SUBJECT, UPSTREAM_URL, Requests, Tickets, get_request

os.environ[f"{ENV_PREFIX}PROMPTS_DIR"] = str(shipped_prompts())  # what the bare app renders
from .bare_endpoint import PROMPT  # after the variable it reads is set

CONFIG = """model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {api_base}
      api_key: {api_key}
"""
CHAT_PATH = "/v1/chat/completions"
MASTER_KEY = f"sk-{secrets.token_hex(16)}"
"""The proxy's key: it refuses to start without one, and checks it on every request."""


class ChatCompletions:
    """The chat completion the bare endpoint sends upstream for ticket `n`, sent to the proxy."""

    def __init__(self, master_key: str, model: str) -> None:
        from tests.reference_feature import TRIAGE

        self._head = (
            f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {master_key}\r\nContent-Type: application/json\r\n"
        ).encode()
        self._model = model
        self._schema = {"name": TRIAGE.output.name, "schema": dict(TRIAGE.output.json_schema)}
        self._numbers = itertools.count(1)

    def next(self) -> bytes:
        return self._request(next(self._numbers))

    def repeated(self) -> bytes:
        return self._request(0)

    def _request(self, number: int) -> bytes:
        variables = {"subject": SUBJECT.format(ref=number), "body": BODY}
        messages = [{"role": m.role, "content": m.content} for m in PROMPT.render(variables)]
        body = json.dumps(
            {
                "model": self._model,
                "messages": messages,
                "response_format": {"type": "json_schema", "json_schema": self._schema},
            }
        ).encode()
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._head, len(body), body)


@dataclass(frozen=True)
class ProxySpec(ServerSpec):
    """The LiteLLM proxy: its own executable, in its own environment."""

    executable: str = ""

    def command(self) -> list[str]:
        return [self.executable, *self.arguments, "--host", "127.0.0.1", "--port", "0"]

    def health_request(self) -> bytes:
        return get_request("/health/liveliness")


@dataclass
class Measured:
    samples: list[Sample] = field(default_factory=list)

    def median(self, name: str) -> float:
        values = [getattr(sample, name) for sample in self.samples]
        known = [value for value in values if value is not None]
        return statistics.median(known) if known else float("nan")


def proxy_server(executable: str, workdir: Path, to_upstream: Mapping[str, str]) -> ProxySpec:
    config = workdir / "litellm.yaml"
    model = BASELINE.model.partition(":")[2]
    config.write_text(
        CONFIG.format(
            model=model,
            api_base=f"{to_upstream[UPSTREAM_URL]}/v1",
            api_key=FAKE_API_KEY,
        ),
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # its bundled prices: no network at start
        "LITELLM_MASTER_KEY": MASTER_KEY,
    }
    return ProxySpec("litellm", ("--config", str(config)), env, executable=executable)


async def measure_all(executable: str, options: Options) -> dict[str, Measured]:
    if not BASELINE.model.startswith("openai:"):
        raise SystemExit("the peer benchmark needs a project that wires the openai provider")
    env = clean_env()
    api_key = secrets.token_urlsafe(24)
    tickets = Tickets(api_key)
    chats = ChatCompletions(MASTER_KEY, BASELINE.model.partition(":")[2])
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        workdir = Path(tmp)
        async with otlp_sink(env) as sink_port, upstream(env, BASELINE) as to_upstream:
            served: list[tuple[ServerSpec, Requests]] = [
                (bare_server({**env, **to_upstream}, BASELINE), tickets),
                (
                    full_server({**env, **to_upstream}, workdir, sink_port, api_key, BASELINE),
                    tickets,
                ),
                (proxy_server(executable, workdir, to_upstream), chats),
            ]
            results = {spec.name: Measured() for spec, _ in served}
            for round_number in range(1, options.rounds + 1):
                shift = round_number % len(served)
                for spec, requests in served[shift:] + served[:shift]:
                    async with serving(spec, workdir, f"{spec.name}-{round_number}") as running:
                        sample = await measure(spec.name, running, round_number, requests, options)
                    if sample.errors:
                        raise SystemExit(f"{spec.name}: {sample.first_error}")
                    results[spec.name].samples.append(sample)
    return results


def render(results: dict[str, Measured], options: Options) -> str:
    bare = results["bare"]
    rows = [
        "| server | requests/s | x bare | added p50 ms | p99 ms | CPU µs per request | "
        "start s | idle MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in results.items():
        rate = measured.median("rate")
        added = measured.median("p50_ms") - bare.median("p50_ms")
        rows.append(
            f"| {name} | {rate:.0f} | {rate / bare.median('rate'):.3f} | {added:.2f} | "
            f"{measured.median('p99_ms'):.2f} | {measured.median('server_cpu_us'):.0f} | "
            f"{measured.median('start_seconds'):.2f} | {measured.median('idle_rss_mb'):.0f} |"
        )
    full, proxy = results["full"], results["litellm"]
    added_full = full.median("p50_ms") - bare.median("p50_ms")
    added_proxy = proxy.median("p50_ms") - bare.median("p50_ms")
    return "\n".join(
        [
            f"Medians of {options.rounds} rounds, {options.connections} connections for "
            f"{options.seconds:g} s, model `{BASELINE.model}` at the shipped fake upstream.",
            "",
            *rows,
            "",
            f"Full service / LiteLLM throughput: {full.median('rate') / proxy.median('rate'):.2f}x "
            "(target ≥ 3); added p50, full service / LiteLLM: "
            f"{added_full / added_proxy:.2f} (target ≤ 0.25).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", required=True, help="the LiteLLM proxy's executable")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    options = Options(seconds=args.seconds, rounds=args.rounds, connections=args.connections)
    print(render(uvloop.run(measure_all(args.litellm, options)), options))


if __name__ == "__main__":
    main()
