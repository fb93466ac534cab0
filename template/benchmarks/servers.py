"""The processes the benchmark runs: the bare app, the full service, an OTLP sink and, with a
provider wired, the fake upstream both servers call.

Each server is a separate process started with this project's interpreter, on a loopback port
the kernel picks as it binds (read back from uvicorn's log), in a scratch directory (so no `.env`
there is read), with one uvicorn worker and the same uvicorn options, and is waited for with a
bounded `/healthz` poll. Servers are stopped with SIGTERM, as an orchestrator stops them, and
must exit cleanly: the full service writes its buffered ledger rows and exports its last spans
on the way out. Both serve triage's prompt and flags as shipped (`tests/shipped.py`), whatever
the team has rolled out since.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.reference_feature import serve_module
from tests.shipped import shipped_flags, shipped_prompts

from .load import HOST, fetch
from .service import ENV_PREFIX
from .workload import PROJECT_ROOT, UPSTREAM_URL, Baseline, get_request

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.01
"""Short: the time to the first 200 is reported as the server's start time."""
HEALTH_REQUEST = get_request("/healthz")
SINK_SCRIPT = Path(__file__).with_name("otlp_sink.py")
UNLIMITED = str(10**12)
"""Rate limits the limiter counts against but never reaches."""
BOUND_PORT = re.compile(r"Uvicorn running on http://[^:\s]+:(\d+)")
UVICORN_OPTIONS = (
    "--no-access-log",
    "--log-level",
    "info",  # the service logs at info too; with the access log off, only start and stop
    "--ws",
    "none",
    "--no-server-header",
)
"""The options `serve` gives uvicorn for the service, given to the bare app's uvicorn too."""


class ServerError(Exception):
    """A server did not start, answer or stop as it should."""


@dataclass(frozen=True)
class Running:
    """A server that answers on `port`, `start_seconds` after its process was started."""

    port: int
    pid: int
    start_seconds: float

    def rss_mb(self) -> float | None:
        """Its resident memory now, from /proc (Linux); None where there is none."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kilobytes) / 1024

    def cpu_seconds(self) -> float | None:
        """Its user and system CPU time so far, from /proc (Linux); None where there is none.

        CPU time per request says what a server costs even when other processes compete for
        the CPUs, which the rate alone does not.
        """
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii")
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()  # from field 3, state: utime is 14, stime 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: its name in the report, command line and environment."""

    name: str
    arguments: tuple[str, ...]
    env: Mapping[str, str]

    def command(self) -> list[str]:
        """Port 0: the kernel picks a free port as the server binds it, and uvicorn logs it."""
        return [sys.executable, *self.arguments, "--host", HOST, "--port", "0"]

    def health_request(self) -> bytes:
        """What is polled until it answers 200: the server is started then."""
        return HEALTH_REQUEST


def bare_server(env: Mapping[str, str], baseline: Baseline) -> ServerSpec:
    """uvicorn serving the baseline's bare app, with the options `serve` gives uvicorn for the
    service."""
    arguments = ("-m", "uvicorn", baseline.bare_app, "--app-dir", str(PROJECT_ROOT))
    prompts = {f"{ENV_PREFIX}PROMPTS_DIR": str(shipped_prompts())}
    return ServerSpec("bare", (*arguments, *UVICORN_OPTIONS), {**env, **prompts})


def full_server(
    env: Mapping[str, str], workdir: Path, sink_port: int, api_key: str, baseline: Baseline
) -> ServerSpec:
    """The service as production starts it (`python -m <package> serve`), with every layer on,
    serving the baseline's model.

    Limits are set far above the offered load: they are counted on every request but never
    refuse one. The response cache keeps its default: new tickets miss it, a repeated one hits.
    """
    settings = {
        "API_KEYS": f"bench:{api_key}",
        "MODEL": baseline.model,
        "FLAGS_FILE": str(shipped_flags()),
        "PROMPTS_DIR": str(shipped_prompts()),
        "DATABASE_URL": f"sqlite+aiosqlite:///{ledger_path(workdir)}",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": UNLIMITED,
        "RATE_LIMIT_TOKENS_PER_MINUTE": UNLIMITED,
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
    }
    telemetry = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{HOST}:{sink_port}",
        "OTEL_TRACES_SAMPLER": "always_on",
        # Metrics are exported at the SDK's default interval (60 s) and at shutdown, as in
        # production; spans in batches as they end.
    }
    full_env = {**env, **{ENV_PREFIX + name: value for name, value in settings.items()}}
    module, needs = serve_module()  # the package, or the tests' copy of triage installed first
    return ServerSpec("full", ("-m", module, "serve"), {**full_env, **needs, **telemetry})


def ledger_path(workdir: Path) -> Path:
    return workdir / "ledger.db"


def clean_env() -> dict[str, str]:
    """This process's environment without the service's or OpenTelemetry's settings, so the
    caller's shell cannot change what is measured."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith((ENV_PREFIX, "OTEL_"))
    }


@asynccontextmanager
async def serving(spec: ServerSpec, workdir: Path, log_name: str) -> AsyncIterator[Running]:
    """Run `spec` until the block ends; yield it once `/healthz` answers 200.

    Its stdout (the service's JSON logs) goes to `<log_name>.log` in `workdir` and its stderr
    to `<log_name>.err`; their last lines are quoted when it fails to start or stop cleanly.
    """
    output = (workdir / f"{log_name}.log", workdir / f"{log_name}.err")
    started = asyncio.get_running_loop().time()
    with output[0].open("wb") as stdout, output[1].open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *spec.command(), env=dict(spec.env), cwd=workdir, stdout=stdout, stderr=stderr
        )
    try:
        port = await _wait_healthy(spec, process, output)
        start_seconds = asyncio.get_running_loop().time() - started
        yield Running(port, process.pid, start_seconds)
    finally:
        code = await _stop(process)
    # uvicorn exits by re-raising the signal it stopped on, once shutdown is complete.
    if code not in (0, -signal.SIGTERM):
        raise ServerError(f"{spec.name} exited with status {code}{_tail(output)}")


@asynccontextmanager
async def otlp_sink(env: Mapping[str, str]) -> AsyncIterator[int]:
    """Run the OTLP sink until the block ends; yield its port."""
    async with _printing_its_port("the OTLP sink", (str(SINK_SCRIPT),), env) as port:
        yield port


@asynccontextmanager
async def upstream(env: Mapping[str, str], baseline: Baseline) -> AsyncIterator[dict[str, str]]:
    """Run the fake upstream the baseline calls, if it calls one, until the block ends; yield
    the variables that send both servers to it (none without an upstream)."""
    if baseline.upstream_environment is None:
        yield {}
        return
    arguments = ("-m", "benchmarks.upstream")
    async with _printing_its_port("the fake upstream", arguments, env) as port:
        root_url = f"http://{HOST}:{port}"
        yield {UPSTREAM_URL: root_url, **baseline.upstream_environment(root_url)}


@asynccontextmanager
async def _printing_its_port(
    name: str, arguments: Sequence[str], env: Mapping[str, str]
) -> AsyncIterator[int]:
    """Run a helper process that prints the port it listens on, until the block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *arguments,
        env=dict(env),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None  # noqa: S101 -- stdout=PIPE above
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            line = await process.stdout.readline()
        if not line:
            raise ServerError(f"{name} exited before listening")
        yield int(line)
    finally:
        process.terminate()
        await process.wait()


async def _wait_healthy(
    spec: ServerSpec, process: asyncio.subprocess.Process, output: Sequence[Path]
) -> int:
    """The port the server logged it bound, once its health request is answered 200 there."""
    name = spec.name
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_SECONDS
    port: int | None = None
    while loop.time() < deadline:
        if process.returncode is not None:
            status = process.returncode
            raise ServerError(f"{name} exited with status {status} while starting{_tail(output)}")
        port = port or _bound_port(output)
        try:
            async with asyncio.timeout(1.0):
                if port and (await fetch(port, spec.health_request())).status == 200:
                    return port
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
    timeout = STARTUP_TIMEOUT_SECONDS
    raise ServerError(f"{name} was not healthy within {timeout:g} s{_tail(output)}")


def _bound_port(output: Sequence[Path]) -> int | None:
    """The port in uvicorn's "Uvicorn running on http://host:port" line, once it is logged."""
    for path in output:
        found = BOUND_PORT.search(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return int(found[1])
    return None


def _tail(output: Sequence[Path], lines: int = 20) -> str:
    """The end of a server's output, for an error message: the scratch directory is deleted."""
    tails = []
    for path in output:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        if text:
            tails.append(f"\n--- {path.name} ends:\n" + "\n".join(text))
    return "".join(tails)


async def _stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then wait for a clean exit; a server that hangs is killed and reported."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
            return await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        return -signal.SIGKILL
