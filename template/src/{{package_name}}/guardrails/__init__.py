"""Guardrails: checks on what enters the service and on what its models answer."""
