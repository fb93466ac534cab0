"""Feature flags: OpenFeature over a flagd-format JSON file, decided per tenant and request."""
