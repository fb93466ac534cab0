"""Copier migration (after updating): name every file the update left for the team to merge.

`copier update` merges the template's changes into files the team edited too; where both
changed the same lines it writes conflict markers (or a `.rej` file, with `--conflict rej`)
and says nothing. This step runs last, inside the project, and lists each such file on
stderr, so nobody has to find them with `git status`. It changes nothing and always exits 0.
"""

from __future__ import annotations

import subprocess
import sys


def git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout


def conflicted() -> list[str]:
    """Files merged with conflict markers (Copier records them as unmerged in the index)."""
    listing = git("ls-files", "--unmerged", "-z")
    return sorted({entry.split("\t", 1)[1] for entry in listing.split("\0") if "\t" in entry})


def rejected() -> list[str]:
    """Changes Copier could not apply at all, kept beside the file as `<file>.rej`."""
    listing = git("status", "--porcelain", "--ignored", "--untracked-files=all", "-z")
    names = (entry[3:] for entry in listing.split("\0") if entry[:3] in {"?? ", "!! "})
    return sorted(name for name in names if name.endswith(".rej"))


def main() -> None:
    merges, rejects = conflicted(), rejected()
    if not merges and not rejects:
        print("copier update: no conflicts; review the diff, then run `make all`.", file=sys.stderr)
        return
    lines = [f"  {name}  (conflict markers)" for name in merges]
    lines += [f"  {name}  (changes that did not apply)" for name in rejects]
    print(
        f"copier update: {len(lines)} file(s) need you to merge the template's changes by hand:",
        *lines,
        "Keep what your team changed and what the template changed, remove the markers (or the "
        ".rej files), then run `make all`.",
        sep="\n",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
