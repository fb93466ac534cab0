"""Copier migration (before updating): carry a team's triage code into the feature platform.

Until the feature platform, triage lived in `src/<package>/triage/`; now the team's feature
code lives in `src/<package>/features/triage/` and the rest is platform code in `serving/`.
The update deletes the old files, edited or not, so this step runs first, inside the project,
with the template's checkout and the commit updated from:

- copies `triage/rules.py` to `features/triage/rules.py` when the team edited it (the same
  module in both places, so the team's keywords carry over verbatim; the update keeps it, as
  `features/` is the team's);
- saves any other edited old file as `triage/<name>.edited` (`schemas.py` changed shape, the
  rest became platform code) and reports it: the team carries those edits over by hand;
- moves triage's eval gate and baselines into its eval folder (`evals/gate.yaml` to
  `evals/triage/gate.yaml`, its `summary_max_chars: n` now `max_chars: {summary: n}`;
  `evals/baselines/` to `evals/triage/baselines/`), edits and the team's own baselines included;
- rewrites `<PREFIX>_TRIAGE_REVIEW_THRESHOLD=x` in `.env` as `<PREFIX>_REVIEW_THRESHOLDS=
  {"triage": x}`, the setting that replaced it.

It does nothing when there is no old folder or `.env` line, so running it again is harmless.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from update_context import package_name, save_edited, template_file

MOVED = "rules.py"
OLD_TEMPLATE_DIR = "template/src/{{package_name}}/triage"


def move_triage(package: str, template: Path, commit: str) -> list[str]:
    old = Path("src", package, "triage")
    new = Path("src", package, "features", "triage")
    notes: list[str] = []
    for path in sorted(old.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text == template_file(template, commit, f"{OLD_TEMPLATE_DIR}/{path.name}"):
            continue  # the update deletes it; the platform does its job now
        if path.name == MOVED:
            new.mkdir(parents=True, exist_ok=True)
            (new / MOVED).write_text(text, encoding="utf-8")
            notes.append(f"moved your edited {path} to {new / MOVED}")
        else:
            saved = save_edited(path, text)
            notes.append(
                f"saved your edited {path} as {saved}: carry its changes into {new} "
                "(or, for platform code, raise them with the template), then delete it"
            )
    return notes


def move_evals() -> list[str]:
    evals = Path("evals")
    home = evals / "triage"
    notes: list[str] = []
    gate = evals / "gate.yaml"
    if gate.exists() and not (home / "gate.yaml").exists():
        text = re.sub(
            r"^summary_max_chars:\s*(\d+)[^\n]*$",
            r"max_chars: # the longest each guarded text field may be\n  summary: \1",
            gate.read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
        home.mkdir(parents=True, exist_ok=True)
        (home / "gate.yaml").write_text(text, encoding="utf-8")
        gate.unlink()
        notes.append(f"moved {gate} to {home / 'gate.yaml'}")
    baselines = evals / "baselines"
    if baselines.is_dir():
        (home / "baselines").mkdir(parents=True, exist_ok=True)
        for report in sorted(baselines.glob("*.json")):
            target = home / "baselines" / report.name
            if not target.exists():
                report.rename(target)
                notes.append(f"moved {report} to {target}")
        if not any(baselines.iterdir()):
            baselines.rmdir()
    return notes


def rewrite_threshold(package: str) -> list[str]:
    env = Path(".env")
    if not env.exists():
        return []
    prefix = f"{package.upper()}_"
    line = re.compile(rf"^{prefix}TRIAGE_REVIEW_THRESHOLD=\s*(?P<value>\S*)\s*$", re.MULTILINE)
    text = env.read_text(encoding="utf-8")
    found = line.search(text)
    if found is None:
        return []
    try:
        value = float(found["value"])
    except ValueError:
        return [f".env: {prefix}TRIAGE_REVIEW_THRESHOLD is retired; set {prefix}REVIEW_THRESHOLDS"]
    replacement = f'{prefix}REVIEW_THRESHOLDS={{"triage": {value}}}'
    env.write_text(text[: found.start()] + replacement + text[found.end() :], encoding="utf-8")
    return [f".env: {prefix}TRIAGE_REVIEW_THRESHOLD={found['value']} is now {replacement}"]


def main() -> None:
    template, commit = Path(sys.argv[1]), sys.argv[2]
    package = package_name()
    notes = move_triage(package, template, commit) + move_evals() + rewrite_threshold(package)
    for note in notes:
        print(f"feature platform migration: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
