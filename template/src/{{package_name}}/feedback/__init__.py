"""Clients' ratings of answers, with an optional correction: the service's cheapest eval data."""
