"""The HTTP edge: authentication, request context, size limits, errors and health."""
