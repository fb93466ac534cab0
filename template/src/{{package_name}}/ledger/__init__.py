"""The cost ledger: one row per model call, written off the request path, queried for usage."""
