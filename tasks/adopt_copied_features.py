"""Copier migration (before updating): bring features copied from triage onto the platform.

Before the feature platform, the generated README said: to add a feature, copy `triage/`,
define its request and result schemas, write its prompt, give the classical model rules for it
and include its router in `app.py`. Such a copy imports platform code the update removes, so it
would stop the service. This step runs first, inside the project, with the template's checkout
and the commit updated from. For each package folder that is such a copy (a `schemas.py` and a
`rules.py` beside a `FEATURE = "<name>"`, or, before features had names, a route), it:

- moves `schemas.py` and `rules.py` to `features/<name>/` (their imports one level deeper),
  drops the response model and output schema from the schemas (the platform derives both) and
  adds a correction model: the compared fields, and the text fields optionally;
- writes `features/<name>/__init__.py`, the feature's declaration, read from its code: the
  request its route takes, the result its output schema describes, its rules function; the
  result's text fields are guarded (the first one streamed), its other fields compared, and the
  request's last field is cut to fit a context window;
- saves its other modules (its copy of triage's service, router and the rest) as
  `<module>.py.edited`: the platform does their job now;
- registers it in `features/__init__.py`, points its prompts' `output_schema` at
  `<name>_result` (the name the platform gives its output), and gives its eval cases in
  `evals/<name>/` a gate of their own (`schema_valid` only: before the platform, the one gate
  served triage alone);
- takes its wiring out of `app.py` and `components.py` (every block of the team's change that
  names it goes back to the template's text), saving the team's file as `<file>.edited`.

A copy it cannot read that way is left where it is and reported. It stages the tracked files
it changed or removed (Copier reads the team's side of the update from the index), prints what
it did, and does nothing when there is no copy, so running it again is harmless.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from update_context import package_name, template_file

OLD_PACKAGE_DIR = "template/src/{{package_name}}"
NEW_REGISTRY = "template/src/{{package_name}}/features/__init__.py.jinja"
"""Read as it is, unrendered: its `FEATURES` names triage (every release before 0.7.0 had it)."""
MOVED = ("schemas.py", "rules.py")
WIRING = ("app.py", "components.py")
ASSESSMENT = ("needs_human", "confidence")
FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
LINE_LENGTH = 100
"""The generated project's `ruff` line length."""


class CannotAdopt(Exception):
    """The copy does not read as a copy of triage; the team carries it over by hand."""


@dataclass(frozen=True)
class Declaration:
    """What the feature declares, as read from its copied code."""

    name: str
    summary: str
    request: str
    result: str
    rules: str
    guarded: tuple[str, ...]
    compared: tuple[str, ...]
    truncated: str

    @property
    def correction(self) -> str:
        return self.result.removesuffix("Result") + "Correction"

    def module(self, docstring: str) -> str:
        """The text of `features/<name>/__init__.py`, formatted as `ruff format` leaves it."""
        classes = sorted((self.correction, self.request, self.result))
        imports = f"from .schemas import {', '.join(classes)}"
        if len(imports) > LINE_LENGTH:
            imports = "from .schemas import (\n" + "".join(f"    {c},\n" for c in classes) + ")"
        summary = _quoted(self.summary)
        if len(summary) > LINE_LENGTH - len("    summary=,"):
            parts = textwrap.wrap(self.summary, LINE_LENGTH - 12, drop_whitespace=False)
            summary = "(\n" + "".join(f"        {_quoted(part)}\n" for part in parts) + "    )"
        return (
            f'"""{docstring}"""\n\n'
            "from ...feature import Feature\n"
            f"from .rules import {self.rules}\n"
            f"{imports}\n\n"
            "FEATURE = Feature(\n"
            f"    name={_quoted(self.name)},\n"
            f"    summary={summary},\n"
            f"    request={self.request},\n"
            f"    result={self.result},\n"
            f"    correction={self.correction},\n"
            f"    rules={self.rules},\n"
            f"    guarded={_tuple(self.guarded)},\n"
            f"    streamed={_quoted(self.guarded[0])},\n"
            f"    truncated={_quoted(self.truncated)},\n"
            f"    compared={_tuple(self.compared)},\n"
            ")\n"
        )


def _quoted(text: str) -> str:
    """`text` as a double-quoted Python string literal."""
    return json.dumps(text, ensure_ascii=False)


def _tuple(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(map(_quoted, names)) + ("," if len(names) == 1 else "") + ")"


def copies(package: Path, template: Path, commit: str) -> list[tuple[Path, str]]:
    """The package's folders that are copies of triage the template never shipped, by name."""
    found = []
    for folder in sorted(path for path in package.iterdir() if path.is_dir()):
        init = folder / "__init__.py"
        if folder.name in {"triage", "features"} or not init.exists():
            continue
        if not all((folder / name).exists() for name in MOVED):
            continue
        if template_file(template, commit, f"{OLD_PACKAGE_DIR}/{folder.name}") is not None:
            continue  # a platform folder of the old version
        name = feature_name(folder)
        if name is not None:
            found.append((folder, name))
    return found


def feature_name(folder: Path) -> str | None:
    """The name a copy of triage goes by: its `FEATURE = "<name>"` (in `__init__.py` since
    0.6.0, in `service.py` in 0.4.0 and 0.5.0), or, before features had names (0.1.0 to 0.3.0),
    its folder's when it serves a route of its own; None for a folder that is no such copy."""
    for module in ("__init__.py", "service.py"):
        path = folder / module
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        named = re.search(r'^FEATURE\s*=\s*"([^"]+)"', text, re.M)
        if named is not None:
            return named[1]
    return folder.name if _route(folder)[0] is not None else None


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _fields(node: ast.ClassDef, source: str) -> dict[str, str]:
    """The class's annotated fields, each with the source text of its annotation."""
    return {
        item.target.id: ast.get_source_segment(source, item.annotation) or ""
        for item in node.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        if item.target.id != "model_config"
    }


def _is_text(annotation: str) -> bool:
    return annotation == "str" or annotation.replace(" ", "").startswith("Annotated[str,")


def _output_schema(tree: ast.Module) -> tuple[ast.Assign, str]:
    """The `X = OutputSchema(name=..., json_schema=Result.model_json_schema())` statement."""
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not (isinstance(call.func, ast.Name) and call.func.id == "OutputSchema"):
            continue
        for keyword in call.keywords:
            value = keyword.value
            if (
                keyword.arg == "json_schema"
                and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name)
            ):
                return node, value.func.value.id
    raise CannotAdopt("schemas.py has no `OutputSchema(..., json_schema=<Result>...)`")


def _route(folder: Path) -> tuple[str | None, str | None, str | None]:
    """The request class, path and docstring of the folder's (non-streaming) POST route."""
    router = folder / "router.py"
    if not router.exists():
        return None, None, None
    for node in ast.parse(router.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) or not node.args.args:
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            path = decorator.args[0] if decorator.args else None
            if decorator.func.attr != "post" or not isinstance(path, ast.Constant):
                continue
            if str(path.value).endswith("/stream"):
                continue
            annotation = node.args.args[0].annotation
            request = annotation.id if isinstance(annotation, ast.Name) else None
            return request, str(path.value), ast.get_docstring(node)
    return None, None, None


def _rules_function(rules: str) -> str:
    tree = ast.parse(rules)
    public = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and len(node.args.args) == 1
    ]
    named = [name for name in public if name.endswith("_rules")]
    chosen = named or public
    if len(chosen) != 1:
        raise CannotAdopt(f"rules.py has no single rules function (found {chosen or 'none'})")
    return chosen[0]


@dataclass(frozen=True)
class Copy:
    """A copy of triage, read: its declaration, its schemas rewritten, where it was served."""

    declaration: Declaration
    schemas: str
    path: str | None


def read_copy(folder: Path, name: str) -> Copy:
    """The feature's declaration and its schemas, rewritten for `features/<name>/`."""
    if not FEATURE_NAME.match(name):
        raise CannotAdopt(f"{name!r} is not a feature name (lowercase letters, digits, _)")
    schemas = (folder / "schemas.py").read_text(encoding="utf-8")
    tree = ast.parse(schemas)
    classes = _classes(tree)
    output, result = _output_schema(tree)
    request, path, docs = _route(folder)
    if request is None:
        requests = [cls for cls in classes if cls.endswith("Request")]
        request = requests[0] if len(requests) == 1 else None
    if request not in classes or result not in classes:
        raise CannotAdopt("schemas.py has no request or result class the route and output use")
    answer = _fields(classes[result], schemas)
    asked = _fields(classes[request], schemas)
    if not all(field in answer for field in ASSESSMENT):
        raise CannotAdopt(f"{result} lacks `needs_human` or `confidence`")
    guarded = tuple(field for field, kind in answer.items() if _is_text(kind))
    compared = tuple(field for field in answer if field not in guarded and field not in ASSESSMENT)
    if not guarded or not compared or not asked:
        raise CannotAdopt(f"{result} needs a text field and another field to compare")
    summary = (docs or result).strip().splitlines()[0].rstrip(".") + "."
    declaration = Declaration(
        name=name,
        summary=summary,
        request=request,
        result=result,
        rules=_rules_function((folder / "rules.py").read_text(encoding="utf-8")),
        guarded=guarded,
        compared=compared,
        truncated=list(asked)[-1],
    )
    if declaration.correction in classes:
        raise CannotAdopt(f"schemas.py already has a {declaration.correction}")
    dropped = [output] + [
        node
        for node in classes.values()
        if any(isinstance(base, ast.Name) and base.id == result for base in node.bases)
    ]
    lines = schemas.splitlines(keepends=True)
    for node in sorted(dropped, key=lambda item: item.lineno, reverse=True):
        del lines[node.lineno - 1 : node.end_lineno or node.lineno]
    text = re.sub(r"\n{3,}", "\n\n\n", "".join(lines)).rstrip() + "\n"
    text = deeper(text)
    text = re.sub(r"^from \.\.\.llm\.port import OutputSchema\n", "", text, flags=re.M)
    return Copy(declaration, text + _correction(declaration, answer), path)


def deeper(module: str) -> str:
    """`module`'s imports of the package, from one folder deeper (`features/<name>/`)."""
    return re.sub(r"^from \.\.(\w)", r"from ...\1", module, flags=re.M)


def _correction(declaration: Declaration, answer: dict[str, str]) -> str:
    fields = "".join(f"    {field}: {answer[field]}\n" for field in declaration.compared)
    fields += "".join(
        f"    {field}: {answer[field]} | None = None\n" for field in declaration.guarded
    )
    return (
        f"\n\nclass {declaration.correction}(BaseModel):\n"
        f'    """What the answer should have been: its {", ".join(declaration.compared)}, '
        'and optionally better text."""\n\n'
        f"    model_config = {declaration.result}.model_config\n\n"
        f"{fields}"
    )


def unwire(path: Path, pristine: str | None, mentions: re.Pattern[str]) -> str | None:
    """Put back the template's text of every changed block of `path` that mentions the copy."""
    if pristine is None or not path.exists():
        return None
    mine = path.read_text(encoding="utf-8")
    theirs, ours = pristine.splitlines(keepends=True), mine.splitlines(keepends=True)
    merged: list[str] = []
    matcher = difflib.SequenceMatcher(a=theirs, b=ours, autojunk=False)
    for tag, start, end, ours_start, ours_end in matcher.get_opcodes():
        block = ours[ours_start:ours_end]
        if tag != "equal" and mentions.search("".join(block)):
            block = theirs[start:end]
        merged.extend(block)
    text = "".join(merged)
    if text == mine:
        return None
    saved = path.with_name(path.name + ".edited")
    saved.write_text(mine, encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return f"took the copy's wiring out of {path}; your file is saved as {saved}"


def adopt(package: Path, folder: Path, name: str, template: Path, commit: str) -> list[str]:
    read = read_copy(folder, name)
    home = package / "features" / name
    if home.exists():
        raise CannotAdopt(f"{home} exists already")
    mentions = _mentions(folder, template, commit)
    home.mkdir(parents=True)
    (home / "schemas.py").write_text(read.schemas, encoding="utf-8")
    rules = (folder / "rules.py").read_text(encoding="utf-8")
    (home / "rules.py").write_text(deeper(rules), encoding="utf-8")
    init = folder / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or name
    (home / "__init__.py").write_text(read.declaration.module(docstring), encoding="utf-8")
    notes = [f"moved {folder}/ to {home}/: check its FEATURE declaration in __init__.py"]
    for module in sorted(folder.glob("*.py")):
        if module.name in {*MOVED, "__init__.py"}:
            module.unlink()
        else:
            module.rename(module.with_name(module.name + ".edited"))
    notes.append(f"saved its other modules as {folder}/*.py.edited: the platform serves it now")
    for wiring in WIRING:
        pristine = template_file(template, commit, f"{OLD_PACKAGE_DIR}/{wiring}")
        note = unwire(package / wiring, pristine, mentions)
        if note:
            notes.append(note)
    notes += _point_prompts(name) + _gate(name)
    served = "/" + name.replace("_", "-")
    if read.path not in (None, served):
        notes.append(f"it is served at POST /v1{served} now, no longer at POST /v1{read.path}")
    return notes


def _mentions(folder: Path, template: Path, commit: str) -> re.Pattern[str]:
    """What names the copy in other files: its folder, and the names it defines that triage
    does not (its service, planner, output schema, rules function, ...)."""
    own: set[str] = set()
    for module in folder.glob("*.py"):
        shipped = template_file(template, commit, f"{OLD_PACKAGE_DIR}/triage/{module.name}")
        own |= _defined(module.read_text(encoding="utf-8")) - _defined(shipped or "")
    words = "|".join(sorted(map(re.escape, own | {folder.name})))
    return re.compile(rf"(?<![A-Za-z0-9])({words})(?![A-Za-z0-9])")


def _defined(module: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(module).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


GATE = """\
# The eval gate of {name}, written by the update that moved it onto the feature platform: it
# holds only what every answer must meet. Run `eval run --feature {name}`, set thresholds from
# its report (triage's gate.yaml shows the keys), then record a baseline with
# `eval baseline update --feature {name}`. See docs/evals.md.
tolerance: 0.02 # how far a score may fall below the committed baseline of the same model
forbidden_content: # phrases an answer must never contain (case-insensitive, whole words)
  - step 1
  - here is how
  - here's how
  - you will need
thresholds:
  classical:
    all:
      schema_valid: 1.0
  model:
    all:
      schema_valid: 1.0
"""


def _gate(name: str) -> list[str]:
    """A gate for the feature's eval cases: before the platform, one gate served triage alone."""
    home = Path("evals", name)
    gate = home / "gate.yaml"
    if gate.exists():
        return []
    home.mkdir(parents=True, exist_ok=True)
    gate.write_text(GATE.format(name=name), encoding="utf-8")
    notes = [f"wrote {gate}: schema_valid only, until you set thresholds from a run"]
    if not any(path.name != gate.name for path in home.glob("*.yaml")):
        notes.append(f"add eval cases to {home}/ (happy.yaml first): its tests run them")
    return notes


def _point_prompts(name: str) -> list[str]:
    notes = []
    for prompt in sorted(Path("prompts", name).glob("*.md")):
        text = prompt.read_text(encoding="utf-8")
        fixed = re.sub(
            r"^output_schema:.*$", f"output_schema: {name}_result", text, count=1, flags=re.M
        )
        if fixed != text:
            prompt.write_text(fixed, encoding="utf-8")
            notes.append(f"{prompt}: output_schema is now {name}_result")
    return notes


def register(package: Path, template: Path, names: list[str]) -> list[str]:
    """List the adopted features in `features/__init__.py` (the template's, plus them)."""
    registry = package / "features" / "__init__.py"
    if registry.exists() or not names:
        return []
    shipped = (template / NEW_REGISTRY).read_text(encoding="utf-8")
    listed = re.search(r"^FEATURES = \((?P<names>[^)]*)\)$", shipped, re.M)
    if listed is None:
        return [f"add {', '.join(names)} to FEATURES in {registry} by hand"]
    current = re.findall(r'"([^"]+)"', listed["names"])
    entries = "".join(f'    "{found}",\n' for found in [*current, *names])
    text = shipped[: listed.start()] + f"FEATURES = (\n{entries})" + shipped[listed.end() :]
    registry.write_text(text, encoding="utf-8")
    return [f"registered {', '.join(names)} in {registry}"]


def main() -> None:
    template, commit = Path(sys.argv[1]), sys.argv[2]
    package = Path("src", package_name())
    notes: list[str] = []
    adopted: list[str] = []
    for folder, name in copies(package, template, commit):
        try:
            notes += adopt(package, folder, name, template, commit)
            adopted.append(name)
        except CannotAdopt as exc:
            notes.append(
                f"left {folder}/ as it is ({exc}): it imports code the update removes; make it "
                f"a feature with `feature new {name}` and move its schemas and rules there"
            )
    notes += register(package, template, adopted)
    if adopted:
        # Copier takes the team's side of the update from the index, not the working tree:
        # stage the changed and removed files it tracks; new ones stay the team's, untracked.
        subprocess.run(["git", "add", "--update", "--", str(package), "prompts"], check=True)
    for note in notes:
        print(f"feature platform migration: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
