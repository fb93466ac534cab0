"""Allow `python -m <package>` as an alias of the command-line entry point."""

from .cli import app

app()
