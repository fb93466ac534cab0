"""A second feature added the way the generated README said before the feature platform.

"To add a feature, copy `triage/`: define its request and result schemas, write its prompt
file, give the classical model rules for it, and include its router in `app.py`." Its router
reads its service from `app.state`, so `components.py` builds that service too. This is what a
team that followed it has: `contracts/`, served at `POST /v1/contracts/summary`, with its own
keyword, prompt, label and eval cases.
"""

from __future__ import annotations

import shutil
from pathlib import Path

RENAMES = {
    "TriageRequest": "ContractRequest",
    "TriageResult": "ContractResult",
    "TriageResponse": "ContractResponse",
    "TRIAGE_OUTPUT": "CONTRACT_OUTPUT",
    '"triage_result"': '"contract_result"',
    "triage_rules": "contract_rules",
    "TriageService": "ContractService",
    "TriagePlanner": "ContractPlanner",
    "TriageShadow": "ContractShadow",
    'FEATURE = "triage"': 'FEATURE = "contracts"',
    '"/triage"': '"/contracts/summary"',
    '"/triage/stream"': '"/contracts/summary/stream"',
    "app.state.triage": "app.state.contracts",
    'tags=["triage"]': 'tags=["contracts"]',
    '"""Ticket triage: the reference feature every other feature copies."""': (
        '"""Contract summaries: sort a contract question and summarise it."""'
    ),
}
CONTRACT_KEYWORD = "indemnity"
"""A keyword of the contracts feature's own: it makes a request about it `account`."""

IMPORTS = {
    "planner": (
        "from .contracts import FEATURE as CONTRACTS\n"
        "from .contracts.plan import ContractPlanner\n"
        "from .contracts.rules import contract_rules\n"
        "from .contracts.schemas import CONTRACT_OUTPUT\n"
        "from .contracts.service import ContractService\n"
        "from .contracts.shadow import ContractShadow\n"
    ),
    "components": (
        "from .contracts.rules import contract_rules\n"
        "from .contracts.schemas import CONTRACT_OUTPUT\n"
        "from .contracts.service import FEATURE as CONTRACTS\n"
        "from .contracts.service import ContractService\n"
        "from .contracts.shadow import ContractShadow\n"
    ),
}
"""What `components.py` imports of the copy, by the layout of the release (0.6.0 has a planner)."""

RULES = {
    "{TRIAGE_OUTPUT.name: triage_rules}": (
        "{\n    TRIAGE_OUTPUT.name: triage_rules,\n    CONTRACT_OUTPUT.name: contract_rules,\n}"
    ),
}
COMPONENTS = {
    "{TRIAGE: TRIAGE_OUTPUT.name}": (
        "{\n    TRIAGE: TRIAGE_OUTPUT.name,\n    CONTRACTS: CONTRACT_OUTPUT.name,\n}"
    ),
    "    triage: TriageService\n": "    triage: TriageService\n    contracts: ContractService\n",
    "        triage=triage,\n    )\n": (
        "        triage=triage,\n        contracts=contracts,\n    )\n"
    ),
}
APP = {
    "from .triage import router as triage_router\n": (
        "from .contracts import router as contracts_router\n"
        "from .triage import router as triage_router\n"
    ),
    "    app.include_router(triage_router.router)\n": (
        "    app.include_router(triage_router.router)\n"
        "    app.include_router(contracts_router.router)\n"
    ),
}
APP_STATE = {
    "    app.state.triage = parts.triage\n": (
        "    app.state.triage = parts.triage\n    app.state.contracts = parts.contracts\n"
    ),
}
APP_IMPORTS = {
    "from .triage.service import TriageService\n": (
        "from .contracts.rules import contract_rules\n"
        "from .contracts.schemas import CONTRACT_OUTPUT\n"
        "from .contracts.service import ContractService\n"
        "from .triage.service import TriageService\n"
    ),
}
"""Before 0.4.0 there was no `components.py`: `app.py` built each feature's service itself."""
APP_SERVICE = {
    "app.state.triage = TriageService(": "app.state.contracts = ContractService(",
    'prompts.get("triage", settings.triage_prompt_version)': 'prompts.get("contracts", 1)',
}
SERVICE = {
    "triage = TriageService(": "contracts = ContractService(",
    "TriagePlanner(": "ContractPlanner(",
    "TriageShadow(": "ContractShadow(",
}
"""What the copy of triage's service block changes, in `app.py` and in `components.py`."""


def layout(source: Path) -> str:
    """Where the release wired a feature: `app` (0.1.0-0.3.0), `components` (0.4.0, 0.5.0) or
    `planner` (0.6.0)."""
    if not (source / "components.py").exists():
        return "app"
    return "planner" if (source / "triage" / "plan.py").exists() else "components"


def add_contracts_the_old_way(project: Path, package: str) -> None:
    source = project / "src" / package
    wiring = layout(source)
    shutil.copytree(source / "triage", source / "contracts")
    for module in (source / "contracts").glob("*.py"):
        _replace(module, RENAMES, every=True)
    _replace(
        source / "contracts" / "rules.py", {'"2fa, account,': f'"{CONTRACT_KEYWORD}, 2fa, account,'}
    )
    if wiring == "app":
        built = _beside(source / "app.py", "    app.state.triage = TriageService(", APP_SERVICE)
        _replace(source / "app.py", {**APP_IMPORTS, **RULES, **APP, **built})
    else:
        imports = {
            "from .triage.shadow import TriageShadow\n": (
                "from .triage.shadow import TriageShadow\n" + IMPORTS[wiring]
            )
        }
        built = _beside(source / "components.py", "    triage = TriageService(", SERVICE)
        _replace(source / "components.py", {**imports, **RULES, **COMPONENTS, **built})
        _replace(source / "app.py", {**APP, **APP_STATE})
    prompt = (project / "prompts" / "triage" / "v1.md").read_text(encoding="utf-8")
    (project / "prompts" / "contracts").mkdir()
    (project / "prompts" / "contracts" / "v1.md").write_text(
        prompt.replace("name: triage", "name: contracts").replace(
            "output_schema: triage_result", "output_schema: contract_result"
        ),
        encoding="utf-8",
    )
    labels = project / "prompts" / "labels.yaml"
    if labels.exists():  # since 0.4.0; before, the code named the version it served
        labels.write_text(labels.read_text(encoding="utf-8") + "contracts:\n  production: 1\n")
    if (project / "evals" / "triage").exists():  # eval cases since 0.4.0
        shutil.copytree(project / "evals" / "triage", project / "evals" / "contracts")


def _beside(path: Path, start: str, renames: dict[str, str]) -> dict[str, str]:
    """The block of `path` that builds triage's service (from `start` to its closing `)`), and
    after it a copy that builds the contracts service, `renames` applied."""
    text = path.read_text(encoding="utf-8")
    begin = text.index(start)
    end = text.index("\n    )\n", begin) + len("\n    )\n")
    block = copy = text[begin:end]
    for old, new in renames.items():
        copy = copy.replace(old, new)
    return {block: block + copy}


def _replace(path: Path, changes: dict[str, str], *, every: bool = False) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in changes.items():
        if not every:
            assert old in text, f"{old!r} is not in {path}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
