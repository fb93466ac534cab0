"""What a feature is called where: its module name, its route, its class names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..feature import FEATURE_NAME

_WORDS = re.compile(r"[-_ ]+")


@dataclass(frozen=True, slots=True)
class Names:
    """One feature's names, from what a person typed (`contract-summary`, `Contract summary`)."""

    module: str
    """`contract_summary`: the folder, the prompt, the flags, the ledger rows."""
    title: str
    """`ContractSummary`: the prefix of its schema classes."""
    route: str
    """`/v1/contract-summary`."""

    @classmethod
    def of(cls, typed: str) -> Names:
        """Raises ValueError when `typed` cannot name a Python module."""
        words = [word for word in _WORDS.split(typed.strip().lower()) if word]
        module = "_".join(words)
        if not FEATURE_NAME.match(module):
            raise ValueError(
                f"{typed!r} cannot name a feature: use letters, digits and hyphens, starting "
                "with a letter, e.g. contract-summary"
            )
        return cls(
            module=module,
            title="".join(word.capitalize() for word in words),
            route="/v1/" + "-".join(words),
        )
