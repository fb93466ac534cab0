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

COMPONENTS = {
    "from .triage.shadow import TriageShadow\n": (
        "from .triage.shadow import TriageShadow\n"
        "from .contracts import FEATURE as CONTRACTS\n"
        "from .contracts.plan import ContractPlanner\n"
        "from .contracts.rules import contract_rules\n"
        "from .contracts.schemas import CONTRACT_OUTPUT\n"
        "from .contracts.service import ContractService\n"
        "from .contracts.shadow import ContractShadow\n"
    ),
    "{TRIAGE_OUTPUT.name: triage_rules}": (
        "{\n    TRIAGE_OUTPUT.name: triage_rules,\n    CONTRACT_OUTPUT.name: contract_rules,\n}"
    ),
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
    "    app.state.triage = parts.triage\n": (
        "    app.state.triage = parts.triage\n    app.state.contracts = parts.contracts\n"
    ),
    "    app.include_router(triage_router.router)\n": (
        "    app.include_router(triage_router.router)\n"
        "    app.include_router(contracts_router.router)\n"
    ),
}


def add_contracts_the_old_way(project: Path, package: str) -> None:
    source = project / "src" / package
    shutil.copytree(source / "triage", source / "contracts")
    for module in (source / "contracts").glob("*.py"):
        _replace(module, RENAMES, every=True)
    _replace(
        source / "contracts" / "rules.py", {'"2fa, account,': f'"{CONTRACT_KEYWORD}, 2fa, account,'}
    )
    _replace(source / "components.py", {**COMPONENTS, **_service_block(source)})
    _replace(source / "app.py", APP)
    prompt = (project / "prompts" / "triage" / "v1.md").read_text(encoding="utf-8")
    (project / "prompts" / "contracts").mkdir()
    (project / "prompts" / "contracts" / "v1.md").write_text(
        prompt.replace("name: triage", "name: contracts").replace(
            "output_schema: triage_result", "output_schema: contract_result"
        ),
        encoding="utf-8",
    )
    labels = project / "prompts" / "labels.yaml"
    labels.write_text(labels.read_text(encoding="utf-8") + "contracts:\n  production: 1\n")
    shutil.copytree(project / "evals" / "triage", project / "evals" / "contracts")


def _service_block(source: Path) -> dict[str, str]:
    """The contracts service, built beside triage's from a copy of its block."""
    text = (source / "components.py").read_text(encoding="utf-8")
    start = text.index("    triage = TriageService(")
    end = text.index("\n    )\n", start) + len("\n    )\n")
    block = text[start:end]
    copy = block.replace("triage = TriageService(", "contracts = ContractService(")
    copy = copy.replace("TriagePlanner(", "ContractPlanner(").replace(
        "TriageShadow(", "ContractShadow("
    )
    return {block: block + copy}


def _replace(path: Path, changes: dict[str, str], *, every: bool = False) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in changes.items():
        if not every:
            assert old in text, f"{old!r} is not in {path}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
