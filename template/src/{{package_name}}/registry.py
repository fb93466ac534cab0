"""The registered features: the names listed in `features/__init__.py`, loaded by name.

The platform finds features here and nowhere else. It imports the team's list at run time,
by module name, so no platform module depends on a feature's code (`lint-imports` checks it).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from .feature import Feature, FeatureError
from .llm.classical import Rules

FEATURES_PACKAGE = f"{__package__}.features"


@dataclass(frozen=True)
class Features:
    """Every registered feature, by name."""

    by_name: Mapping[str, Feature]

    @classmethod
    def of(cls, *features: Feature) -> Features:
        names = [feature.name for feature in features]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise FeatureError(f"features registered twice: {repeated}")
        return cls({feature.name: feature for feature in features})

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def get(self, name: str) -> Feature:
        """The feature called `name`; a `FeatureError` naming the registered ones otherwise."""
        try:
            return self.by_name[name]
        except KeyError:
            raise FeatureError(
                f"no feature {name!r}; the features are {sorted(self.by_name)}"
            ) from None

    @property
    def output_schemas(self) -> dict[str, str]:
        """The output schema each feature's prompt must target, by feature."""
        return {feature.name: feature.output_schema for feature in self}

    @property
    def rules(self) -> dict[str, Rules]:
        """Each feature's offline answer, by output schema: what the classical model serves."""
        return {feature.output_schema: feature.rules for feature in self}


@cache
def registered() -> Features:
    """The features `features/__init__.py` lists, each loaded from its own folder.

    Raises `FeatureError` when a listed folder does not declare the feature it is named for.
    """
    names: tuple[str, ...] = importlib.import_module(FEATURES_PACKAGE).FEATURES
    features = []
    for name in names:
        feature = getattr(importlib.import_module(f"{FEATURES_PACKAGE}.{name}"), "FEATURE", None)
        if not isinstance(feature, Feature) or feature.name != name:
            raise FeatureError(
                f"{FEATURES_PACKAGE}.{name} must define FEATURE = Feature(name={name!r}, ...)"
            )
        features.append(feature)
    return Features.of(*features)
