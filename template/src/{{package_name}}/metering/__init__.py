"""Account for every model call: a span, metrics, a log line, a price, budgets, a ledger row.

The model layer reports each call, retry, fallback and skipped model to a `RequestMetering`
(its `CallObserver`), and the bookkeeping happens here, once, for every feature and provider.
Nothing here waits on a database: ledger rows are buffered and budget settlements run in the
background, so accounting adds microseconds, not a round trip, to a request.
"""

from .call import DEFAULT_MAX_OUTPUT_TOKENS
from .metering import CallContext, Metering, RequestMetering

__all__ = ["DEFAULT_MAX_OUTPUT_TOKENS", "CallContext", "Metering", "RequestMetering"]
