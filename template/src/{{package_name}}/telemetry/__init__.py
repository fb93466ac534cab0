"""OpenTelemetry traces and metrics for the service, with GenAI semantic-convention names."""
