"""Ticket triage: the reference feature every other feature copies."""
