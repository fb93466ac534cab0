"""One fixed set of edits a team makes to its service, as each release laid the service out.

The update tests apply them to a project generated at any release, update it, and check every
edit survived: a rule change, a runbook note, a setting in `.env`, a prompt v2 served in place
of v1, a shadow run in triage's flags, the eval gate's tolerance and a baseline of the team's
own model (since 0.4.0), and a second feature added the way that release's README said (a copy
of triage, `old_way.py`; since 0.7.0, `feature new`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .helpers import run
from .old_way import CONTRACT_KEYWORD, add_contracts_the_old_way

BILLING_KEYWORDS = '"zahlung, rückerstattung,'
TEAM_KEYWORDS = '"reimbursement, zahlung, rückerstattung,'
"""Triage's billing keywords, and the team's with one more word: every release has the line."""
TEAM_NOTE = "\n## Team notes\n\nOn-call rota lives in the team wiki.\n"
BODY_LIMIT = "MAX_BODY_BYTES=65536"
TEAM_BODY_LIMIT = "MAX_BODY_BYTES=131072"
PROMPT_V2_RULE = "Write the summary in the customer's own language."
GATE_TOLERANCE = ("tolerance: 0.02", "tolerance: 0.03")
TEAM_SHADOW = {
    "state": "ENABLED",
    "variants": {"off": {}, "canary": {"prompt_label": "canary", "sample_rate": 0.1}},
    "defaultVariant": "canary",
}
"""Triage's shadow flag as the team sets it: the canary label shadows a tenth of the traffic."""
TEAM_BASELINE = "openai--team-model.json"
"""A baseline the team recorded for its own model (a copy of the classical one will do)."""


@dataclass(frozen=True)
class Asked:
    """A request to one feature, and what its answer must show after the update."""

    route: str
    body: dict[str, str]
    answered: str
    """`<prompt_version> <category>` of the answer."""


def edit_like_a_team(project: Path, package: str, slug: str, env: Mapping[str, str]) -> list[Asked]:
    """Apply the team's edits to `project`, generated at any release, before it is updated;
    the requests that show them served afterwards."""
    source = project / "src" / package
    platform = (source / "features").exists()  # since 0.7.0: features are folders of their own
    triage = source / "features" / "triage" if platform else source / "triage"
    _replace(triage / "rules.py", BILLING_KEYWORDS, TEAM_KEYWORDS)
    runbook = project / "docs" / "runbook.md"
    runbook.write_text(runbook.read_text(encoding="utf-8") + TEAM_NOTE, encoding="utf-8")
    prefix = package.upper()
    _replace(project / ".env", f"{prefix}_{BODY_LIMIT}", f"{prefix}_{TEAM_BODY_LIMIT}")
    _write_prompt_v2(project, package)
    for evals in (project / "evals", project / "evals" / "triage"):  # per feature since 0.7.0
        if (evals / "gate.yaml").exists():  # since 0.4.0
            _replace(evals / "gate.yaml", *GATE_TOLERANCE)
            classical = (evals / "baselines" / "classical--keywords.json").read_text()
            (evals / "baselines" / TEAM_BASELINE).write_text(classical, encoding="utf-8")
    flags = project / "flags" / "flags.json"
    if flags.exists():  # since 0.4.0
        document = json.loads(flags.read_text(encoding="utf-8"))
        document["flags"]["triage.shadow"] = TEAM_SHADOW
        flags.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    ticket = {"subject": "Question", "body": "About my reimbursement"}
    asked = [Asked("triage", ticket, "triage@2 billing")]  # the team's keyword and prompt v2
    if platform:
        run(
            ["uv", "run", "--locked", slug, "feature", "new", "contracts"],
            cwd=project,
            env=env,
        )
        _replace(
            source / "features" / "contracts" / "rules.py",
            '"broken",',
            f'"{CONTRACT_KEYWORD}", "broken",',
        )
        return [
            *asked,
            Asked("contracts", {"text": f"The {CONTRACT_KEYWORD} clause"}, "contracts@1 complaint"),
        ]
    add_contracts_the_old_way(project, package)
    contract = {"subject": "Question", "body": f"About the {CONTRACT_KEYWORD} clause"}
    return [*asked, Asked("contracts", contract, "contracts@1 account")]  # the copy's keyword


def _write_prompt_v2(project: Path, package: str) -> None:
    """Triage's prompt v2, served the way the release said: its `production` label moved (since
    0.4.0), or `TRIAGE_PROMPT_VERSION=2` in `.env` (before)."""
    prompts = project / "prompts" / "triage"
    v1 = (prompts / "v1.md").read_text(encoding="utf-8")
    v2 = v1.replace("version: 1\n", "version: 2\n", 1).replace(
        "\nsystem:\n", f"\nsystem:\n{PROMPT_V2_RULE}\n", 1
    )
    assert PROMPT_V2_RULE in v2
    assert "version: 2\n" in v2
    (prompts / "v2.md").write_text(v2, encoding="utf-8")
    labels = project / "prompts" / "labels.yaml"
    if labels.exists():
        _replace(labels, "triage:\n  production: 1\n", "triage:\n  production: 2\n")
    else:
        _replace(
            project / ".env",
            f"{package.upper()}_TRIAGE_PROMPT_VERSION=1\n",
            f"{package.upper()}_TRIAGE_PROMPT_VERSION=2\n",
        )


def ask_script(package: str, asked: list[Asked]) -> str:
    """A script that sends each request in process and prints `<route> <answered>`."""
    requests = json.dumps({entry.route: entry.body for entry in asked})
    return f"""
import json
from fastapi.testclient import TestClient
from {package}.app import create_app
from {package}.settings import Settings

settings = Settings(api_keys="acme:team-key-0123456789abcdef", cache_ttl_seconds=0)
with TestClient(create_app(settings)) as client:
    for route, body in json.loads({requests!r}).items():
        answer = client.post(
            "/v1/" + route,
            json=body,
            headers={{"Authorization": "Bearer team-key-0123456789abcdef"}},
        ).json()
        print(route, answer["prompt_version"], answer["category"])
"""


def served_labels(project: Path) -> str:
    """The `triage:` block of the project's labels file."""
    text = (project / "prompts" / "labels.yaml").read_text(encoding="utf-8")
    found = re.search(r"^triage:\n(?:[ \t]+.*\n?)*", text, re.M)
    assert found is not None, text
    return found[0]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
