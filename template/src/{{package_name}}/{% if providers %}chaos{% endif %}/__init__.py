"""Fault injection: a fake model provider that fails on purpose, over the real wire protocols.

Tests and the chaos mode point the real provider SDKs at it, so retries, timeouts, circuit
breakers, fallbacks and output validation are exercised against the failures providers really
produce, without a network or a key.
"""
