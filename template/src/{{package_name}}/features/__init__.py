"""The features this service serves, one line each: the team owns this list and every folder.

A feature is a folder beside this file that declares `FEATURE = Feature(...)` (see
`feature.py`). The platform reads this list at start-up and gives every feature on it the
whole production path.
"""

FEATURES = ("triage",)
