"""Build models from `provider:model` strings."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from .classical import PROVIDER as CLASSICAL
from .classical import ClassicalModel, Rules
from .errors import ModelConfigurationError
from .port import Model
from .providers import PROVIDERS

CLASSICAL_MODELS = frozenset({"keywords"})


def build_model(
    spec: str, classical_rules: Mapping[str, Rules], api_keys: Mapping[str, SecretStr] | None = None
) -> Model:
    """Return the model `spec` names, or raise `ModelConfigurationError` saying why not.

    `api_keys` replaces the provider's configured key, by provider (a tenant's own keys).
    """
    provider, separator, model_name = spec.partition(":")
    if not separator or not model_name:
        raise ModelConfigurationError(f"{spec!r} is not a provider:model string")
    if provider == CLASSICAL:
        if model_name not in CLASSICAL_MODELS:
            known = ", ".join(sorted(CLASSICAL_MODELS))
            raise ModelConfigurationError(f"unknown classical model {model_name!r}; known: {known}")
        return ClassicalModel(model_name, classical_rules)
    if provider not in PROVIDERS:
        known = ", ".join(sorted({CLASSICAL, *PROVIDERS}))
        raise ModelConfigurationError(f"unknown provider {provider!r} in {spec!r}; known: {known}")
    return PROVIDERS[provider](model_name, (api_keys or {}).get(provider))


def build_models(
    specs: list[str],
    classical_rules: Mapping[str, Rules],
    api_keys: Mapping[str, SecretStr] | None = None,
) -> list[Model]:
    """Build each distinct model once, in order."""
    return [build_model(spec, classical_rules, api_keys) for spec in dict.fromkeys(specs)]
