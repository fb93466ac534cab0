"""What a model call costs in USD: the settings' price table first, then genai-prices.

genai-prices carries its price table inside the package, so pricing never touches the network.
Private and local models (a self-hosted server, a fine-tune) are priced by the
`MODEL_PRICES` setting; the classical model is free. A model in neither table is *unpriced*:
its calls are counted and flagged, never given a guessed price.

Every call is priced twice (its hold, then its cost), and genai-prices' general calculation
takes over 100 µs. Most models have one flat price per token kind, so their price list is read
from genai-prices once and applied by `ModelPrice.cost`; tiered, time-dependent and per-request
prices still go through genai-prices on every call.
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
TOKEN_PRICES = {
    "input_mtok": "input_per_mtok",
    "output_mtok": "output_per_mtok",
    "cache_read_mtok": "cached_input_per_mtok",
    "cache_write_mtok": "cache_write_per_mtok",
}
"""genai-prices' price per token kind, and the `ModelPrice` field it becomes."""
UNCOUNTED_UNITS = frozenset({"web_searches_kcount", "storage_searches_kcount", "cache_write_1h_mtok"})
"""Units genai-prices prices that no call of this service uses (no tools, no one-hour cache
writes): they add nothing to its cost."""


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


FREE = ModelPrice(input_per_mtok=Decimal(0), output_per_mtok=Decimal(0))


class PriceBook:
    """Prices calls by `provider:model` string."""

    def __init__(self, overrides: Mapping[str, ModelPrice]) -> None:
        self._overrides = dict(overrides)
        self._price_lists: dict[str, ModelPrice | None] = {}

    def cost(self, model: str, usage: Usage) -> Decimal | None:
        """The call's cost in USD, or None when nobody knows the model's price."""
        price_list = self._price_list(model)
        if price_list is not None:
            return price_list.cost(usage)
        provider, _, name = model.partition(":")
        return _bundled_price(provider, name, usage)

    def _price_list(self, model: str) -> ModelPrice | None:
        """The settings' prices of `model`, free for an in-process one, or genai-prices' when
        they are flat (looked up once); None when genai-prices must calculate each call."""
        if model not in self._price_lists:
            provider, _, name = model.partition(":")
            listed = self._overrides.get(model)
            if listed is None:
                listed = FREE if provider in FREE_PROVIDERS else _flat_bundled_prices(provider, name)
            self._price_lists[model] = listed
        return self._price_lists[model]

    def is_priced(self, model: str) -> bool:
        """Whether calls of `model` will be priced (checked once per model at start-up)."""
        return self.cost(model, Usage(input_tokens=1, output_tokens=1)) is not None


def _flat_bundled_prices(provider: str, model: str) -> ModelPrice | None:
    """genai-prices' prices for `model` as one flat price per token kind, when they are: not
    tiered, not dependent on the date or hour, and charging no unit a call could use besides
    tokens. None otherwise, and for a model genai-prices does not know."""
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import ModelPrice as BundledPrice

    try:
        _, info = get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError:
        return None
    if not isinstance(info.prices, BundledPrice):  # conditional on the request's time
        return None
    prices = vars(info.prices).items()
    listed = {unit: price for unit, price in prices if price is not None and unit[0] != "_"}
    tokens = {unit: price for unit, price in listed.items() if unit in TOKEN_PRICES}
    others = listed.keys() - tokens.keys() - UNCOUNTED_UNITS
    if others or not all(isinstance(price, Decimal) for price in tokens.values()):
        return None
    if "input_mtok" not in tokens or "output_mtok" not in tokens:
        return None
    return ModelPrice.model_validate({TOKEN_PRICES[unit]: price for unit, price in tokens.items()})


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
