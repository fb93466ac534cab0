"""`chaos`: serve the service against a fake provider that fails on purpose.

Watch the service degrade before production does it for you: retries, fallbacks, circuit
transitions and degraded answers all show in the logs while you send traffic.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from ..settings import ENV_PREFIX
from .environment import provider_environment
from .fake_provider import FakeProviderServer
from .faults import FaultPlan, parse_fault_rates

DEFAULT_FAULTS = "server_error=0.2,rate_limit=0.1,hang=0.05,malformed=0.05"


def chaos(
    faults: Annotated[
        str, typer.Option(help="Fault rates as kind=probability, comma-separated")
    ] = DEFAULT_FAULTS,
    provider: Annotated[
        str | None, typer.Option(help="Provider to fake (default: the first one wired in)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fault draw, for repeatable runs")] = 1,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: settings)")] = None,
) -> None:
    """Serve the API with its models pointed at a local fault-injecting fake provider."""
    try:
        plan = FaultPlan(parse_fault_rates(faults), seed=seed, hang_seconds=120.0)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    with FakeProviderServer(plan) as fake:
        environments = provider_environment(fake.base_url)
        chosen = provider or next(iter(environments))
        if chosen not in environments:
            known = ", ".join(environments)
            raise typer.BadParameter(f"choose one of {known}", param_hint="--provider")
        os.environ.update(environments[chosen])
        os.environ[f"{ENV_PREFIX}MODEL"] = f"{chosen}:fake-large"
        os.environ[f"{ENV_PREFIX}FALLBACK_MODELS"] = f"{chosen}:fake-small"
        # Invented prices, so the ledger, the cost metric and budgets have something to count.
        os.environ[f"{ENV_PREFIX}MODEL_PRICES"] = json.dumps(
            {
                f"{chosen}:fake-large": {"input_per_mtok": "2.50", "output_per_mtok": "10.00"},
                f"{chosen}:fake-small": {"input_per_mtok": "0.15", "output_per_mtok": "0.60"},
            }
        )
        typer.echo(
            f"Fake {chosen} provider at {fake.base_url} injecting {faults}. "
            f"Chain: {chosen}:fake-large -> {chosen}:fake-small -> classical:keywords.",
            err=True,
        )
        from ..cli import serve  # here, not at the top: the CLI module registers this command

        serve(host=host, port=port)
