"""Ticket triage: the reference feature every other feature copies."""

FEATURE = "triage"
"""The feature's name in flags, prompts, budgets, the ledger and the answer records."""
