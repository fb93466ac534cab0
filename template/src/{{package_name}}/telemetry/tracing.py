"""Spans at a fraction of the SDK tracer's cost, exported through the SDK's own processors.

The SDK's `Tracer.start_span` costs about 15 µs per span here: attribute cleaning behind locks,
span-limit bookkeeping, context plumbing. This service records two spans per request and must
stay within a few percent of a bare endpoint, so `SpanRecorder` keeps a span's data in plain
fields while it is open and builds the finished `ReadableSpan` once, at `end()`, for the same
span processors the tracer provider has (batching and OTLP export, or the tests' in-memory
exporter). The provider's sampler still decides, ids come from its id generator, and spans are
real `opentelemetry.trace.Span`s: they can be made current, and any other instrumentation the
team adds nests under them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import Attributes, AttributeValue

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


class SpanRecorder:
    """Starts spans for the service's own operations: requests and model calls."""

    def __init__(
        self,
        provider: TracerProvider,
        processors: Sequence[SpanProcessor],
        scope: InstrumentationScope,
    ) -> None:
        self._provider = provider
        self._processors = tuple(processors)
        self._scope = scope

    def start(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        parent: otel_context.Context | None = None,
    ) -> trace.Span:
        """A started span, child of `parent` (or of the current span when None)."""
        parent_context: SpanContext | None = trace.get_current_span(parent).get_span_context()
        if parent_context is not None and parent_context.is_valid:
            trace_id = parent_context.trace_id
        else:
            parent_context = None
            trace_id = self._provider.id_generator.generate_trace_id()
        sampling = self._provider.sampler.should_sample(parent, trace_id, name, kind, attributes)
        sampled = sampling.decision is Decision.RECORD_AND_SAMPLE
        span_context = SpanContext(
            trace_id,
            self._provider.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=_SAMPLED if sampled else _NOT_SAMPLED,
            trace_state=sampling.trace_state,
        )
        if sampling.decision is Decision.DROP or not self._processors:
            return trace.NonRecordingSpan(span_context)
        if sampling.attributes:
            attributes.update(sampling.attributes)
        return RecordedSpan(self, name, kind, span_context, parent_context, attributes)

    def _export(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)


class RecordedSpan(trace.Span):
    """An open span: plain fields until `end()` hands the finished span to the processors."""

    def __init__(
        self,
        recorder: SpanRecorder,
        name: str,
        kind: SpanKind,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, AttributeValue],
    ) -> None:
        self._recorder = recorder
        self._name = name
        self._kind = kind
        self._context = context
        self._parent = parent
        self._attributes = attributes
        self._events: list[Event] = []
        self._status = Status(StatusCode.UNSET)
        self._start = time.time_ns()
        self._ended = False

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._ended

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if not self._ended:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if not self._ended:
            self._attributes.update(attributes)

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        if not self._ended:
            self._events.append(Event(name, attributes, timestamp or time.time_ns()))

    def update_name(self, name: str) -> None:
        if not self._ended:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if not self._ended:
            self._status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Only the exception's type: its message may hold user input, and spans are kept."""
        event_attributes = {"exception.type": type(exception).__name__, **(attributes or {})}
        self.add_event("exception", event_attributes, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        recorder = self._recorder
        recorder._export(
            ReadableSpan(
                name=self._name,
                context=self._context,
                parent=self._parent,
                resource=recorder._provider.resource,
                attributes=self._attributes,
                events=self._events,
                kind=self._kind,
                status=self._status,
                start_time=self._start,
                end_time=end_time or time.time_ns(),
                instrumentation_scope=recorder._scope,
            )
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val)
            self.set_status(Status(StatusCode.ERROR))
        self.end()
