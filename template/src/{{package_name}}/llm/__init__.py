"""The model port: one small protocol the service owns, and the adapters behind it."""
