"""How every registered feature is served: plan, cache, quota, models, guardrails, records.

Nothing here knows a feature's fields: it reads them from the feature's declaration
(`feature.py`), so a feature added to the registry gets the whole path without code of its own.
"""
