"""Record where the template came from so that `copier update` can find it again.

Copier records the template source as typed (`_src_path` in `.copier-answers.yml`). Typed as
a relative path (`copier copy . my-service`), it means nothing from inside the project, and a
later `copier update` fails with "Unknown revision". Run once after a copy, inside the project,
this step rewrites a relative source as the absolute path it named, taken from the directory the
copy was started in (`PWD`, which the shell sets). When that directory is unknown, it says how to
fix the answers file by hand. Sources that are URLs, absolute paths or `gh:`/`gl:` shortcuts are
left alone.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml  # Copier's own dependency: this runs on Copier's interpreter

ANSWERS = Path(".copier-answers.yml")
SOURCE = re.compile(r"^_src_path: (?P<source>.+)$", re.MULTILINE)
REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|[a-z]+@|gh:|gl:|~)", re.IGNORECASE)


def relative_local(source: str) -> bool:
    return not REMOTE.match(source) and not Path(source).is_absolute()


def main() -> None:
    text = ANSWERS.read_text(encoding="utf-8")
    found = SOURCE.search(text)
    if found is None or not relative_local(found["source"].strip("'\"")):
        return
    typed = found["source"].strip("'\"")
    started_in = os.environ.get("PWD")
    template = (Path(started_in) / typed).resolve() if started_in else None
    if template is None or not (template / "copier.yml").is_file():
        print(
            f"copier copy: the template was given as the relative path {typed!r}; set _src_path "
            f"in {ANSWERS} to its absolute path or URL, or `copier update` will not find it.",
            file=sys.stderr,
        )
        return
    recorded = yaml.safe_dump({"_src_path": str(template)}, width=1_000).strip()
    ANSWERS.write_text(text[: found.start()] + recorded + text[found.end() :], encoding="utf-8")
    print(
        f"copier copy: recorded the template as {template} (given as {typed!r}), so that "
        "`copier update` finds it.",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
