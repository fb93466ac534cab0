"""Tracer and meter providers, configured from the standard `OTEL_*` environment variables.

Spans and metrics are always recorded, so in-process readers (and the tests) see them. They
leave the process only when an OTLP endpoint is configured: `OTEL_EXPORTER_OTLP_ENDPOINT`, or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` per signal.
`OTEL_TRACES_EXPORTER=none` or `OTEL_METRICS_EXPORTER=none` keep a signal in. Sampling
(`OTEL_TRACES_SAMPLER`), the resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`),
batching and export intervals follow the SDK's own variables. Only OTLP over HTTP/protobuf is
installed: asking for gRPC stops start-up instead of silently exporting nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import (
    SERVICE_INSTANCE_ID,
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from .tracing import SpanRecorder

Signal = Literal["traces", "metrics"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics")
SUPPORTED_PROTOCOL = "http/protobuf"


class TelemetryConfigurationError(ValueError):
    """An `OTEL_*` variable asks for something this service cannot do."""


@dataclass(frozen=True)
class Telemetry:
    """The service's span recorder and meter, and the providers that export what they record.

    `tracer_provider` is there for any OpenTelemetry instrumentation library the team adds: its
    spans go through the same processors as the service's own.
    """

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    spans: SpanRecorder
    meter: Meter
    exports: frozenset[Signal]
    """The signals sent to an OTLP endpoint; empty when nothing leaves the process."""

    def shutdown(self) -> None:
        """Export what is still buffered, then stop; called once at graceful shutdown."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def configure_telemetry(
    service_name: str,
    service_version: str,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    export: bool = True,
) -> Telemetry:
    """Providers for this service; `span_processors` and `metric_readers` add in-process sinks.

    `export=False` keeps every signal in the process whatever the `OTEL_*` variables ask (they
    are still checked): for an app built only to check the configuration."""
    detected = OTELResourceDetector().detect().attributes
    # Each process is an instance of its own (a worker, a replica): a backend must not add up
    # their cumulative counters as one series. OTEL_RESOURCE_ATTRIBUTES may name it instead.
    instance = {SERVICE_INSTANCE_ID: str(uuid.uuid4())}
    resource = Resource.create(
        {SERVICE_NAME: service_name, SERVICE_VERSION: service_version, **instance, **detected}
    )
    requested = frozenset(signal for signal in SIGNALS if _exports(signal))
    exports = requested if export else frozenset[Signal]()
    processors = list(span_processors)
    if "traces" in exports:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    tracer_provider = TracerProvider(resource=resource)
    for processor in processors:
        tracer_provider.add_span_processor(processor)

    readers = list(metric_readers)
    if "metrics" in exports:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    return Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        spans=SpanRecorder(
            tracer_provider, processors, InstrumentationScope(service_name, service_version)
        ),
        meter=meter_provider.get_meter(service_name, service_version),
        exports=exports,
    )


def _exports(signal: Signal) -> bool:
    """Whether `signal` goes to an OTLP endpoint, per the OTEL_* variables."""
    upper = signal.upper()
    exporter = os.environ.get(f"OTEL_{upper}_EXPORTER", "otlp").strip().lower()
    if exporter == "none":
        return False
    if exporter != "otlp":
        raise TelemetryConfigurationError(
            f"OTEL_{upper}_EXPORTER={exporter!r}: this service exports with 'otlp' or 'none'"
        )
    endpoint = os.environ.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        return False
    protocol = os.environ.get(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", SUPPORTED_PROTOCOL
    )
    if protocol != SUPPORTED_PROTOCOL:
        raise TelemetryConfigurationError(
            f"OTLP protocol {protocol!r} is not installed; use {SUPPORTED_PROTOCOL!r}"
        )
    return True
