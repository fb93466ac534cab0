"""Which fallback chain serves a tenant: its own when it brings provider keys, else the shared one.

A tenant with its own keys gets a chain of the same models built with those keys (providers it
has no key for keep the service's), so its calls go out under its account and its failures (a
revoked key, its own rate limit) open only its breakers, never the other tenants'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .fallback import FallbackChain


@dataclass(frozen=True)
class TenantChains:
    """The shared chain, and the chains of tenants that call with their own keys."""

    shared: FallbackChain
    own: Mapping[str, FallbackChain] = field(default_factory=dict)

    def for_tenant(self, tenant: str) -> FallbackChain:
        """The chain that serves `tenant`."""
        return self.own.get(tenant, self.shared)

    async def aclose(self) -> None:
        """Close every chain's connections."""
        for chain in (self.shared, *self.own.values()):
            await chain.aclose()
