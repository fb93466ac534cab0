"""Every validated question rejects bad answers with a message that says what to fix."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import TEMPLATE_ROOT, render

BAD_ANSWERS: dict[str, list[tuple[Any, str]]] = {
    "project_name": [
        ("", "must start with a letter"),
        ("   ", "must start with a letter"),
        ("123 Service", "must start with a letter"),
        ("My/Service", "only letters, digits, spaces"),
        ("Service\nName", "only letters, digits, spaces"),
        ("Trailing ", "must not end with spaces"),
        ("A" * 61, "at most 60 characters"),
    ],
    "project_slug": [
        ("", "lowercase words"),
        ("My-Service", "lowercase words"),
        ("my_service", "lowercase words"),
        ("my--service", "lowercase words"),
        ("-service", "lowercase words"),
        ("service-", "lowercase words"),
        ("9service", "lowercase words"),
        ("a" * 51, "at most 50 characters"),
    ],
    "package_name": [
        ("", "lowercase Python identifier"),
        ("My_Package", "lowercase Python identifier"),
        ("my-package", "lowercase Python identifier"),
        ("1package", "lowercase Python identifier"),
        ("_private", "lowercase Python identifier"),
        ("class", "would shadow"),
        ("json", "would shadow"),
        ("logging", "would shadow"),
        ("fastapi", "would shadow"),
        ("pydantic", "would shadow"),
        ("test", "would shadow"),
        ("benchmarks", "would shadow"),
        ("uvloop", "would shadow"),
        ("postgres", "would read POSTGRES_DB as a setting of its own"),
        ("otel_exporter", "would read OTEL_EXPORTER_OTLP_ENDPOINT as a setting of its own"),
        ("eval", "would read EVAL_JUDGE_MODEL as a setting of its own"),
        ("a" * 41, "at most 40 characters"),
    ],
    "description": [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 201, "at most 200 characters"),
        ("two\nlines", "single line"),
        ('has "quotes"', "single line"),
        ("back\\slash", "single line"),
        ("tab\there", "single line"),
    ],
    "author_name": [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("x" * 101, "at most 100 characters"),
        ("two\nlines", "single line"),
        ('The "Team"', "single line"),
        ("Team <team@example.com>", "single line"),
    ],
    "author_email": [
        ("", "name@example.com"),
        ("no-at-sign", "name@example.com"),
        ("two@@example.com", "name@example.com"),
        ("user@localhost", "name@example.com"),
        ("user@example.c", "name@example.com"),
        ("spaces in@example.com", "name@example.com"),
        ("user@exa mple.com", "name@example.com"),
    ],
    "python_version": [
        ("3.10", "Invalid choice"),
        ("3.14", "Invalid choice"),
        ("3", "Invalid choice"),
        ("", "Invalid choice"),
        ("python3.12", "Invalid choice"),
    ],
    "providers": [
        (["cohere"], "Invalid choice"),
        (["OpenAI"], "Invalid choice"),
        (["openai", "litellm"], "Invalid choice"),
        (["classical"], "Invalid choice"),
        ([""], "Invalid choice"),
    ],
    "license": [
        ("GPL-3.0", "Invalid choice"),
        ("mit", "Invalid choice"),
        ("", "Invalid choice"),
        ("Apache 2", "Invalid choice"),
        ("Unlicensed", "Invalid choice"),
    ],
    "first_feature": [
        ("Contract-Summary", "lowercase words"),
        ("contract_summary", "lowercase words"),
        ("contract--summary", "lowercase words"),
        ("9lives", "lowercase words"),
        ("triage", "is taken"),
        ("class", "is taken"),
        ("a" * 41, "at most 40 characters"),
    ],
    # Without a first_feature (the default here), leaving triage out leaves no feature at all.
    "reference_feature": [
        (False, "name your first feature"),
        ("false", "name your first feature"),
        ("no", "name your first feature"),
        ("off", "name your first feature"),
        ("0", "name your first feature"),
    ],
}

CASES = [
    pytest.param(question, value, message, id=f"{question}-{index}")
    for question, answers in BAD_ANSWERS.items()
    for index, (value, message) in enumerate(answers)
]


@pytest.mark.parametrize(("question", "value", "message"), CASES)
def test_bad_answers_are_rejected_with_a_clear_message(
    template_snapshot: Path, tmp_path: Path, question: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=rf"'{question}'") as error:
        render(template_snapshot, tmp_path / "project", {question: value})
    assert message in str(error.value)
    assert not (tmp_path / "project" / "pyproject.toml").exists()


def test_every_question_with_a_validator_or_choices_is_covered() -> None:
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    checked = {
        name
        for name, spec in questions.items()
        if isinstance(spec, dict) and ("validator" in spec or "choices" in spec)
    }
    assert checked == set(BAD_ANSWERS)
    assert all(len(answers) >= 5 for answers in BAD_ANSWERS.values())


def test_good_answers_are_accepted(template_snapshot: Path, tmp_path: Path) -> None:
    data = {
        "project_name": "Ticket Router 2",
        "project_slug": "ticket-router-2",
        "package_name": "ticket_router_2",
        "description": "Routes tickets, fast & safely (v2).",
        "author_name": "Support Platform",
        "author_email": "support.platform+ai@example.co.uk",
        "python_version": "3.12",
        "providers": ["anthropic"],
        "license": "BSD-3-Clause",
        "first_feature": "",
    }
    render(template_snapshot, tmp_path / "project", data)
    answers = yaml.safe_load((tmp_path / "project" / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in data} == data
    assert "reserved_module_names" not in answers


def test_slug_and_package_name_derive_from_the_project_name(
    template_snapshot: Path, tmp_path: Path
) -> None:
    render(template_snapshot, tmp_path / "project", {"project_name": "Ticket  Router_Pro"})
    answers = yaml.safe_load((tmp_path / "project" / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "ticket-router-pro"
    assert answers["package_name"] == "ticket_router_pro"
    assert (tmp_path / "project" / "src" / "ticket_router_pro" / "app.py").is_file()


def test_reserved_names_cover_keywords_and_this_pythons_stdlib() -> None:
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    reserved = set(questions["reserved_module_names"]["default"])
    public_stdlib = {name.lower() for name in sys.stdlib_module_names if not name.startswith("_")}
    assert public_stdlib <= reserved
    keywords = {word.lower() for word in keyword.kwlist + keyword.softkwlist if word != "_"}
    assert keywords <= reserved
