"""The migration that carries a copy of triage onto the feature platform, in its parts.

The whole path (an old project, an update, both features served) is in `test_update.py`; these
cover what that one copy does not: what the step refuses, and what it keeps of a team's edits.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import TEMPLATE_ROOT


def load_step(name: str) -> ModuleType:
    """An update step as Copier runs it: a script whose folder is on the path (for
    `update_context`)."""
    tasks = TEMPLATE_ROOT / "tasks"
    spec = importlib.util.spec_from_file_location(name, tasks / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    sys.path.insert(0, str(tasks))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(tasks))
    return module


adopt = load_step("adopt_copied_features")

SCHEMAS = '''"""Quote schemas."""

from pydantic import BaseModel

from ..llm.port import OutputSchema

Tier = str


class QuoteRequest(BaseModel):
    customer: str
    details: str


class QuoteResult(BaseModel):
    tier: Tier
    note: str
    needs_human: bool
    confidence: float


QUOTE_OUTPUT = OutputSchema(name="quote_result", json_schema=QuoteResult.model_json_schema())


class QuoteResponse(QuoteResult):
    model: str
'''
RULES = """from .schemas import QuoteResult


def quote_rules(inputs: dict[str, str]) -> dict[str, object]:
    return {"tier": "gold", "note": inputs["details"], "needs_human": False, "confidence": 1.0}
"""


def _copy(tmp_path: Path, schemas: str = SCHEMAS) -> Path:
    folder = tmp_path / "quotes"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""Quotes."""\n\nFEATURE = "quotes"\n')
    (folder / "schemas.py").write_text(schemas)
    (folder / "rules.py").write_text(RULES)
    return folder


ROUTER = '''"""Quote routes."""

from fastapi import APIRouter

from .schemas import QuoteRequest

router = APIRouter()


@router.post("/quotes")
async def quote(body: QuoteRequest) -> None:
    """Price a quote."""
'''


@pytest.mark.parametrize(
    ("declared_in", "found"),
    [
        ("__init__.py", "quotes"),  # 0.6.0
        ("service.py", "quotes"),  # 0.4.0 and 0.5.0
        (None, "quotes"),  # 0.1.0 to 0.3.0: no name yet, the folder's, for a copy with a route
    ],
)
def test_a_copy_is_known_by_the_name_its_release_gave_it(
    tmp_path: Path, declared_in: str | None, found: str
) -> None:
    folder = _copy(tmp_path)
    (folder / "__init__.py").write_text('"""Quotes."""\n')
    (folder / "router.py").write_text(ROUTER)
    if declared_in is not None:
        (folder / declared_in).write_text('"""Quotes."""\n\nFEATURE = "quotes"\n')

    assert adopt.feature_name(folder) == found


def test_a_folder_with_no_name_and_no_route_is_no_copy(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "__init__.py").write_text('"""Quotes."""\n')

    assert adopt.feature_name(folder) is None


def test_a_copy_is_read_into_a_declaration_and_schemas_one_folder_deeper(tmp_path: Path) -> None:
    read = adopt.read_copy(_copy(tmp_path), "quotes")

    declaration = read.declaration
    assert (declaration.request, declaration.result, declaration.rules) == (
        "QuoteRequest",
        "QuoteResult",
        "quote_rules",
    )
    # `Tier` is an alias the step cannot see through: it is compared, not guarded.
    assert (declaration.guarded, declaration.compared, declaration.truncated) == (
        ("note",),
        ("tier",),
        "details",
    )
    assert "OutputSchema" not in read.schemas
    assert "class QuoteResponse" not in read.schemas
    assert "class QuoteCorrection(BaseModel):" in read.schemas
    assert "    tier: Tier\n    note: str | None = None\n" in read.schemas
    compile(read.schemas, "schemas.py", "exec")
    module = declaration.module("Quotes.")
    compile(module, "__init__.py", "exec")
    assert 'guarded=("note",),' in module
    assert "from .schemas import QuoteCorrection, QuoteRequest, QuoteResult" in module


def test_a_long_summary_is_wrapped_within_the_line_length(tmp_path: Path) -> None:
    declaration = adopt.read_copy(_copy(tmp_path), "quotes").declaration
    long = adopt.Declaration(**{**declaration.__dict__, "summary": "Price a quote. " * 12})

    module = long.module("Quotes.")

    compile(module, "__init__.py", "exec")
    assert max(len(line) for line in module.splitlines()) <= adopt.LINE_LENGTH


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("    note: str\n", "    note: int\n", "needs a text field"),
        ("    confidence: float\n", "", "lacks `needs_human` or `confidence`"),
        ("json_schema=QuoteResult.model_json_schema()", "json_schema={}", "no `OutputSchema("),
    ],
)
def test_a_copy_that_does_not_read_as_triage_is_refused_with_the_reason(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    with pytest.raises(adopt.CannotAdopt, match=re.escape(reason)):
        adopt.read_copy(_copy(tmp_path, SCHEMAS.replace(old, new)), "quotes")


def test_unwiring_puts_back_the_blocks_that_name_the_copy_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    pristine = "import a\nfrom .triage import router\n\nx = 1\n\napp.include(router)\ny = 2\n"
    edited = (
        "import a\nfrom .triage import router\nfrom .quotes import router as quotes_router\n\n"
        "x = 10  # the team's own change\n\napp.include(router)\napp.include(quotes_router)\n"
        "y = 2\n"
    )
    path = tmp_path / "app.py"
    path.write_text(edited)

    note = adopt.unwire(path, pristine, re.compile(r"(?<![A-Za-z0-9])(quotes)(?![A-Za-z0-9])"))

    assert path.read_text() == pristine.replace("x = 1\n", "x = 10  # the team's own change\n")
    assert (tmp_path / "app.py.edited").read_text() == edited
    assert note is not None
    assert "app.py.edited" in note
    assert adopt.unwire(path, pristine, re.compile("quotes")) is None, "nothing left to take out"
