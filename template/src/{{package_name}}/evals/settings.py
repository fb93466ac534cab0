"""The settings an eval reads: the model, the prompts, prices and context windows.

Read exactly as the service reads them (same variables, same `.env`, same defaults), but only
these: an eval in CI needs no API keys, database or flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings

from ..costs.pricing import ModelPrice
from ..settings import PARTIAL_SETTINGS_CONFIG, Settings


class EvalSettings(BaseSettings):
    """`MODEL`, `PROMPTS_DIR`, `MODEL_PRICES` and `CONTEXT_WINDOWS`, as `Settings` has them."""

    model_config = PARTIAL_SETTINGS_CONFIG

    model: str = Settings.model_fields["model"].default
    prompts_dir: Path = Settings.model_fields["prompts_dir"].default
    model_prices: dict[str, ModelPrice] = {}
    context_windows: dict[str, Annotated[int, Field(gt=0)]] = {}
