"""What a model call costs in USD: the settings' price table first, then genai-prices.

genai-prices carries its price table inside the package, so pricing never touches the network.
Private and local models (a self-hosted server, a fine-tune) are priced by the
`MODEL_PRICES` setting; the classical model is free. A model in neither table is *unpriced*:
its calls are counted and flagged, never given a guessed price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..llm.port import Usage

NANO_USD_PER_USD = 10**9
TOKENS_PER_MILLION = 1_000_000

FREE_PROVIDERS = frozenset({"classical"})
"""Providers whose calls cost nothing: the classical model runs in-process."""


class ModelPrice(BaseModel):
    """A price list in USD per million tokens; cached input and cache writes default to the
    input price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: Annotated[Decimal, Field(ge=0)]
    output_per_mtok: Annotated[Decimal, Field(ge=0)]
    cached_input_per_mtok: Annotated[Decimal, Field(ge=0)] | None = None
    cache_write_per_mtok: Annotated[Decimal, Field(ge=0)] | None = None

    def cost(self, usage: Usage) -> Decimal:
        cached_price = _or_input(self.cached_input_per_mtok, self.input_per_mtok)
        write_price = _or_input(self.cache_write_per_mtok, self.input_per_mtok)
        uncached = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
        return (
            uncached * self.input_per_mtok
            + usage.cached_input_tokens * cached_price
            + usage.cache_write_tokens * write_price
            + usage.output_tokens * self.output_per_mtok
        ) / TOKENS_PER_MILLION


def _or_input(price: Decimal | None, input_price: Decimal) -> Decimal:
    return input_price if price is None else price


class PriceBook:
    """Prices calls by `provider:model` string."""

    def __init__(self, overrides: Mapping[str, ModelPrice]) -> None:
        self._overrides = dict(overrides)

    def cost(self, model: str, usage: Usage) -> Decimal | None:
        """The call's cost in USD, or None when nobody knows the model's price."""
        override = self._overrides.get(model)
        if override is not None:
            return override.cost(usage)
        provider, _, name = model.partition(":")
        if provider in FREE_PROVIDERS:
            return Decimal(0)
        return _bundled_price(provider, name, usage)

    def is_priced(self, model: str) -> bool:
        """Whether calls of `model` will be priced (checked once per model at start-up)."""
        return self.cost(model, Usage(input_tokens=1, output_tokens=1)) is not None


def _bundled_price(provider: str, model: str, usage: Usage) -> Decimal | None:
    """The price from genai-prices' table, where this service's provider names are its ids;
    a provider it does not list (e.g. a self-hosted server) is unpriced."""
    # Imported on first use: loading the bundled table takes a few hundred milliseconds, which a
    # service that only runs the classical model should not pay at start-up.
    import genai_prices

    try:
        calculation = genai_prices.calc_price(
            genai_prices.Usage(
                input_tokens=usage.input_tokens,
                cache_read_tokens=usage.cached_input_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                output_tokens=usage.output_tokens,
            ),
            model,
            provider_id=provider,
        )
    except LookupError:
        return None
    return calculation.total_price


def to_nano_usd(usd: Decimal) -> int:
    """Whole nano-dollars, rounded up so budgets never under-count."""
    return int((usd * NANO_USD_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def from_nano_usd(nano: int) -> Decimal:
    return Decimal(nano) / NANO_USD_PER_USD
