"""Copier migration (after updating): rewrite retired variables in `.env` where that is safe.

The service refuses to start while a retired variable is set, and names it with what replaced
it. Where the replacement means the same thing, this step makes the change in `.env` (the
team's file, which the update itself never touches) and says so:

- `<PREFIX>_LEDGER_URL=x` becomes `<PREFIX>_DATABASE_URL=x`, its new name, unless
  `DATABASE_URL` is set already;
- `<PREFIX>_TRIAGE_PROMPT_VERSION=n` is removed when `prompts/labels.yaml` already serves
  version n of triage as `production`; otherwise it stays, and is reported: move the label.

`TRIAGE_REVIEW_THRESHOLD` is rewritten by the feature platform's migration. It does nothing
when `.env` holds none of these, so running it again is harmless.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml  # Copier's own dependency: this runs on Copier's interpreter
from update_context import package_name

ENV = Path(".env")
LABELS = Path("prompts", "labels.yaml")


def _line(prefix: str, name: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}{name}=(?P<value>.*)$\n?", re.MULTILINE)


def rename_ledger_url(text: str, prefix: str) -> tuple[str, list[str]]:
    found = _line(prefix, "LEDGER_URL").search(text)
    if found is None:
        return text, []
    if _line(prefix, "DATABASE_URL").search(text):
        return text, [f"{prefix}LEDGER_URL and {prefix}DATABASE_URL are both set: remove the first"]
    renamed = f"{prefix}DATABASE_URL={found['value']}\n"
    return (
        text[: found.start()] + renamed + text[found.end() :],
        [f"{prefix}LEDGER_URL is now {prefix}DATABASE_URL (renamed, same value)"],
    )


def drop_prompt_version(text: str, prefix: str) -> tuple[str, list[str]]:
    found = _line(prefix, "TRIAGE_PROMPT_VERSION").search(text)
    if found is None:
        return text, []
    version = found["value"].strip()
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8")) if LABELS.exists() else {}
    served = str((labels or {}).get("triage", {}).get("production", ""))
    if version != served:
        return text, [
            f"{prefix}TRIAGE_PROMPT_VERSION={version} is retired: set `production: {version}` "
            f"under triage in {LABELS}, then delete the line"
        ]
    return (
        text[: found.start()] + text[found.end() :],
        [f"removed {prefix}TRIAGE_PROMPT_VERSION={version}: {LABELS} serves it as production"],
    )


def main() -> None:
    if not ENV.exists():
        return
    prefix = f"{package_name().upper()}_"
    text = ENV.read_text(encoding="utf-8")
    text, renamed = rename_ledger_url(text, prefix)
    text, dropped = drop_prompt_version(text, prefix)
    if renamed or dropped:
        ENV.write_text(text, encoding="utf-8")
    for note in renamed + dropped:
        print(f"retired settings migration: .env: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
