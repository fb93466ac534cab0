"""Copier migration (after updating): make a new `prompts/labels.yaml` serve what the team served.

Before 0.4.0 the code chose each prompt's version: `<PREFIX>_TRIAGE_PROMPT_VERSION` in `.env`
for triage, a number in the code for a feature copied from it. Labels replaced both, and an
update from such a release creates `labels.yaml` with the template's defaults. When the file is
new (not in the project's git history), this step:

- points every label of triage at the version `.env` chose, when that is not what they serve
  (the retired-settings step then removes the variable);
- gives each other prompt with versions but no labels a `production` label on its highest
  version, and says so: check it is the version the code served.

A `labels.yaml` the team already has is theirs: it is never changed. Running it again is
harmless.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml  # Copier's own dependency: this runs on Copier's interpreter
from update_context import package_name

ENV = Path(".env")
PROMPTS = Path("prompts")
LABELS = PROMPTS / "labels.yaml"
VERSION_FILE = re.compile(r"^v(?P<version>[0-9]+)\.md$")


def is_new(path: Path) -> bool:
    """True when git does not track `path`: the update has just created it."""
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path)], capture_output=True, check=False
    )
    return tracked.returncode != 0


def chosen_triage_version(prefix: str) -> str | None:
    text = ENV.read_text(encoding="utf-8") if ENV.exists() else ""
    found = re.search(rf"^{prefix}TRIAGE_PROMPT_VERSION=\s*(?P<value>[0-9]+)\s*$", text, re.M)
    return found["value"] if found else None


def move_labels(text: str, prompt: str, version: str) -> str:
    """`text` with every label in `prompt`'s block set to `version`."""
    block = re.search(rf"^{re.escape(prompt)}:\n(?P<labels>(?:[ \t]+.*\n?)*)", text, re.M)
    if block is None:
        return text
    label = re.compile(r"^([ \t]+[\w-]+:[ \t]*)[0-9]+", re.M)
    labels = label.sub(rf"\g<1>{version}", block["labels"])
    return text[: block.start("labels")] + labels + text[block.end("labels") :]


def highest_version(folder: Path) -> int | None:
    versions = [
        int(found["version"])
        for path in folder.iterdir()
        if (found := VERSION_FILE.match(path.name))
    ]
    return max(versions, default=None)


def main() -> None:
    if not LABELS.exists() or not is_new(LABELS):
        return
    text = LABELS.read_text(encoding="utf-8")
    labelled = yaml.safe_load(text) or {}
    notes = []
    version = chosen_triage_version(f"{package_name().upper()}_")
    if version is not None and str(labelled.get("triage", {}).get("production")) != version:
        text = move_labels(text, "triage", version)
        notes.append(f"triage's labels serve version {version}, as TRIAGE_PROMPT_VERSION did")
    for folder in sorted(path for path in PROMPTS.iterdir() if path.is_dir()):
        highest = highest_version(folder)
        if folder.name in labelled or highest is None:
            continue
        text = text.rstrip("\n") + f"\n{folder.name}:\n  production: {highest}\n"
        notes.append(
            f"{folder.name} has a production label on version {highest}, its highest: check it "
            "is the version your code served"
        )
    if notes:
        LABELS.write_text(text, encoding="utf-8")
    for note in notes:
        print(f"prompt labels migration: {LABELS}: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
