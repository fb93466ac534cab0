"""Shadow mode: a candidate prompt or model answers sampled requests after the response."""
