"""Create the generated project's gitignored `.env` with a fresh development API key.

Runs once, as a Copier task, inside the new project. It copies `.env.example` and fills in a
random key so the service starts with authentication on, and a random PostgreSQL password so
`docker compose up` works at once; no secret ever passes through the answers file. An existing
`.env` is never touched.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

PLACEHOLDER = re.compile(r"^(?P<name>[A-Z0-9_]+_API_KEYS)=.*$", re.MULTILINE)
POSTGRES_PASSWORD = re.compile(r"^# POSTGRES_PASSWORD=$", re.MULTILINE)


def main() -> None:
    env_file = Path(".env")
    if env_file.exists():
        return
    example = Path(".env.example").read_text(encoding="utf-8")
    key = secrets.token_urlsafe(32)
    content, count = PLACEHOLDER.subn(lambda m: f"{m['name']}=dev:{key}", example, count=1)
    if count != 1:
        raise SystemExit(".env.example has no *_API_KEYS line to fill in")
    password = secrets.token_urlsafe(24)
    content = POSTGRES_PASSWORD.sub(f"POSTGRES_PASSWORD={password}", content, count=1)
    env_file.write_text(content, encoding="utf-8")
    os.chmod(env_file, 0o600)


if __name__ == "__main__":
    main()
