"""Which features a command runs on: the one `--feature` names, or every registered one."""

from __future__ import annotations

from pathlib import Path

import typer

from .feature import Feature, FeatureError
from .registry import Features


def chosen_features(features: Features, name: str | None, **paths: Path | None) -> list[Feature]:
    """The feature `name` names, or every feature; a path option (a dataset, a gate, an output
    file) belongs to one feature, so it needs `--feature` when several are registered.

    A name that is not registered, or a path option without `--feature`, is a usage error
    (exit 2) naming the option.
    """
    if name is not None:
        try:
            return [features.get(name)]
        except FeatureError as exc:
            raise typer.BadParameter(str(exc), param_hint="--feature") from exc
    given = [option for option, path in paths.items() if path is not None]
    if given and len(features) > 1:
        option = "--" + given[0].replace("_", "-")
        raise typer.BadParameter(
            f"{option} is one feature's: give --feature too", param_hint=option
        )
    return list(features)
