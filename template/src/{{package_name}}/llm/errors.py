"""Failures of a model call, as the rest of the service sees them."""

from __future__ import annotations


class ModelError(Exception):
    """A model call did not produce a usable answer."""


class ModelUnavailableError(ModelError):
    """The model could not be reached or refused to serve (network, quota, outage)."""


class InvalidModelOutputError(ModelError):
    """The model answered, but not in the shape the feature asked for."""


class ModelConfigurationError(ValueError):
    """A `provider:model` string names something this service cannot build."""
