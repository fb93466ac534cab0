"""Generate a matrix of answer sets and prove each generated service builds, passes and serves.

Each variant runs on one xdist worker (`xdist_group`), so its project is generated and
installed once and every check below reuses it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from .helpers import (
    TEMPLATE_ROOT,
    CommandFailed,
    clean_env,
    generate,
    git_init_commit,
    git_status,
    python_interpreter,
    run,
)

PROVIDERS = ("openai", "openai_compatible", "anthropic")

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "classical-only-py312": {
        "python_version": "3.12",
        "providers": [],
        # The shortest names, and free text a linter would judge if it reached the code.
        "project_name": "Q",
        "description": (  # typographic punctuation and non-ASCII text, as escapes
            "Tri d\u2019assistance \u2013 2\u00d7 plus rapide\uff0cf\u00fcr Kunden "
            "(\u65e5\u672c\u8a9e) \u201csans souci\u201d \u2026"
        ),
        "author_name": "\u00c9quipe Plateforme \u2013 IA",
    },
    "openai-py313": {
        "python_version": "3.13",
        "providers": ["openai"],
        # The longest names the validators allow.
        "project_name": "Customer Support Triage and Routing Service for Enterprise B",
        "project_slug": "customer-support-triage-and-routing-for-enterprise",
        "package_name": "customer_support_triage_and_routing_serv",
        "license": "Proprietary",
    },
    "compatible-py312": {
        "python_version": "3.12",
        "providers": ["openai_compatible"],
        "package_name": "router_core",
        "first_feature": "contract-summary",
        "reference_feature": False,  # its own feature only: the platform tests bring triage
    },
    "anthropic-py311": {
        "python_version": "3.11",
        "providers": ["anthropic"],
        "license": "BSD-3-Clause",
    },
}

COPIER_VARIABLES = (
    "project_name",
    "project_slug",
    "package_name",
    "description",
    "author_name",
    "author_email",
    "python_version",
    "providers",
    "license",
    "_copier",
)
UNRENDERED = re.compile(r"\{[{%]-?[^}]*\b(" + "|".join(COPIER_VARIABLES) + r")")
SERVICE_START_TIMEOUT_SECONDS = 30
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)([^}]*)\}")
"""A variable compose substitutes from the shell or .env: `${NAME}`, `${NAME:?message}`, ..."""


@dataclass(frozen=True)
class Project:
    path: Path
    answers: dict[str, Any]
    env: dict[str, str]

    def uv_run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run(
            ["uv", "run", "--locked", *command], cwd=self.path, env=self.env, timeout=timeout
        )

    def files(self) -> list[Path]:
        listed = run(["git", "ls-files"], cwd=self.path).stdout.splitlines()
        return [self.path / name for name in listed]

    @property
    def features(self) -> list[str]:
        """The modules of the features it serves: triage unless left out, and the first one."""
        first = self.answers.get("first_feature", "").replace("-", "_")
        triage = ["triage"] if self.answers.get("reference_feature", True) else []
        return triage + ([first] if first else [])


@pytest.fixture(
    scope="module",
    params=[pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in VARIANTS],
)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Project:
    name: str = request.param
    overrides = VARIANTS[name]
    python = python_interpreter(overrides.get("python_version", "3.11"))
    env = clean_env(python)
    path = generate(tmp_path_factory.mktemp(name) / "service", overrides, env=env)
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text(encoding="utf-8"))
    git_init_commit(path)
    run(["uv", "sync", "--locked"], cwd=path, env=env)
    return Project(path=path, answers=answers, env=env)


def test_answers_are_recorded_without_secrets(project: Project) -> None:
    answers_file = (project.path / ".copier-answers.yml").read_text(encoding="utf-8")
    env_file = (project.path / ".env").read_text(encoding="utf-8")
    (key,) = re.findall(r"_API_KEYS=dev:(\S+)", env_file)
    (password,) = re.findall(r"^POSTGRES_PASSWORD=(\S+)$", env_file, re.MULTILINE)
    assert len(key) >= 32
    assert len(password) >= 24
    assert key not in answers_file
    assert password not in answers_file
    assert "_commit" in project.answers
    run(["git", "check-ignore", "-q", ".env"], cwd=project.path)


TOP_LEVEL_MODULES = """
import importlib.metadata
import sys

names = set()
for dist in importlib.metadata.distributions():
    for file in dist.files or ():
        top = file.parts[0] if file.parts else ""
        if top.endswith((".dist-info", ".data")) or top in {"..", "__pycache__"}:
            continue
        if len(file.parts) > 1:
            names.add(top)
        elif top.endswith((".py", ".so", ".pyd")):  # a module; not a .pth file
            names.add(top.split(".")[0])
print("\\n".join(sorted(name for name in names if name.isidentifier())))
"""
"""Every top-level module the project's environment can import, one a line."""


def test_reserved_names_cover_every_module_and_variable_of_the_project(project: Project) -> None:
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    reserved = set(questions["reserved_module_names"]["default"])
    installed = project.uv_run("python", "-c", TOP_LEVEL_MODULES).stdout.split()
    own = [path.parent.name for path in project.path.glob("*/__init__.py")]
    modules = {
        name.lower()
        for name in [*installed, *own]
        if not name.startswith("_") and "__mypyc" not in name
    } - {project.answers["package_name"]}
    assert sorted(modules - reserved) == []

    prefix = project.answers["package_name"].upper() + "_"
    env_example = (project.path / ".env.example").read_text(encoding="utf-8")
    compose = (project.path / "compose.yaml").read_text(encoding="utf-8")
    variables = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE))
    variables |= {name for name, _ in COMPOSE_VARIABLE.findall(compose)}
    variables |= set(re.findall(r"^ +([A-Z][A-Z0-9_]*):", compose, re.MULTILINE))
    foreign = {name for name in variables if not name.startswith(prefix)}
    assert sorted(foreign - set(questions["foreign_env_variables"]["default"])) == []


def test_format_is_clean(project: Project) -> None:
    project.uv_run("ruff", "format", "--check", ".")


def test_lint_is_clean(project: Project) -> None:
    project.uv_run("ruff", "check", ".")


def test_types_are_strict_clean(project: Project) -> None:
    project.uv_run("mypy")


def test_the_platform_never_imports_a_feature(project: Project) -> None:
    project.uv_run("lint-imports")
    cache = project.path / "src" / project.answers["package_name"] / "cache.py"
    original = cache.read_text(encoding="utf-8")
    feature = project.features[0]
    cache.write_text(original + f"\nfrom .features.{feature} import FEATURE as _FEATURE  # noqa\n")
    try:
        with pytest.raises(CommandFailed) as broken:
            project.uv_run("lint-imports")
    finally:
        cache.write_text(original, encoding="utf-8")
    package = project.answers["package_name"]
    reported = " ".join(str(broken.value).split())  # lint-imports wraps long names
    assert "The platform never imports a feature BROKEN" in reported
    assert f"{package}.cache -> {package}.features.{feature}" in reported


def test_eval_gate_passes_for_every_feature(project: Project) -> None:
    gate = run(["make", "eval-gate"], cwd=project.path, env=project.env, timeout=600)
    assert gate.stdout.count("Gate: passed") == len(project.features)


def test_a_first_feature_is_registered_and_served(project: Project) -> None:
    registry = project.path / "src" / project.answers["package_name"] / "features" / "__init__.py"
    listed = registry.read_text(encoding="utf-8")
    assert ('"triage"' in listed) == ("triage" in project.features)
    copy = project.path / "tests" / "triage"
    assert copy.is_dir() == ("triage" not in project.features), "the tests' copy, only without it"
    if not project.answers.get("first_feature"):
        return
    module = project.answers["first_feature"].replace("-", "_")
    assert f'"{module}",' in listed
    for path in (
        f"src/{project.answers['package_name']}/features/{module}/rules.py",
        f"prompts/{module}/v1.md",
        f"evals/{module}/gate.yaml",
        f"evals/{module}/baselines/classical--keywords.json",
        f"tests/test_{module}_feature.py",
    ):
        assert (project.path / path).is_file(), path


def test_project_tests_pass_with_coverage(project: Project) -> None:
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", timeout=900)
    assert "Required test coverage of 90" in result.stdout


def test_formatting_and_fixes_leave_git_clean(project: Project) -> None:
    project.uv_run("ruff", "format", ".")
    project.uv_run("ruff", "check", "--fix", ".")
    assert git_status(project.path) == ""


def test_pre_commit_hooks_pass(project: Project) -> None:
    project.uv_run("pre-commit", "run", "--all-files", "--color=never")


def test_no_unrendered_jinja_or_template_suffixes(project: Project) -> None:
    for path in project.files():
        relative = path.relative_to(project.path).as_posix()
        assert not relative.endswith(".jinja"), relative
        assert "{{" not in relative, relative
        assert "{%" not in relative, relative
        if path.name == "uv.lock":
            continue
        text = path.read_text(encoding="utf-8")
        assert not UNRENDERED.search(text), f"{relative}: {UNRENDERED.search(text)}"


def test_no_leftovers_of_unselected_options(project: Project) -> None:
    selected = set(project.answers["providers"])
    texts = {
        path.relative_to(project.path).as_posix(): path.read_text(encoding="utf-8").lower()
        for path in project.files()
    }
    markers = {
        "anthropic": "anthropic",
        "openai": "openai_api_key",
        "openai_compatible": "openai_compatible",
    }
    for provider, marker in markers.items():
        if provider not in selected:
            assert [name for name, text in texts.items() if marker in text] == [], provider
    if not selected & {"openai", "openai_compatible"}:
        assert [name for name, text in texts.items() if "openai" in text] == []
    if not selected:
        assert not (project.path / "src" / project.answers["package_name"] / "chaos").exists()
    license_file = project.path / "LICENSE"
    if project.answers["license"] == "Proprietary":
        assert not license_file.exists()
        assert 'license = "licenseref-proprietary"' in texts["pyproject.toml"]
    else:
        assert project.answers["license"].split("-")[0] in license_file.read_text()


def test_workflows_pass_actionlint_and_zizmor(project: Project) -> None:
    workflows = sorted((project.path / ".github" / "workflows").glob("*.yml"))
    assert workflows
    dependabot = project.path / ".github" / "dependabot.yml"
    run([_tool("actionlint"), *map(str, workflows)], cwd=project.path)
    run([_tool("zizmor"), "--offline", *map(str, [*workflows, dependabot])], cwd=project.path)
    schema = ["--builtin-schema", "vendor.dependabot"]
    run([_tool("check-jsonschema"), *schema, str(dependabot)], cwd=project.path)
    updates = yaml.safe_load(dependabot.read_text(encoding="utf-8"))["updates"]
    ecosystems = {update["package-ecosystem"] for update in updates}
    assert ecosystems == {"uv", "github-actions", "docker", "docker-compose"}
    assert all(update["cooldown"]["default-days"] >= 7 for update in updates)
    ci = (project.path / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "uv run --locked pip-audit" in ci


def test_dockerfile_passes_hadolint(project: Project) -> None:
    run([_tool("hadolint"), "Dockerfile"], cwd=project.path)


def test_compose_file_is_valid_and_consistent(project: Project) -> None:
    run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        cwd=project.path,
    )
    raw = (project.path / "compose.yaml").read_text(encoding="utf-8")
    # The only variable is the database password: required (an error names it when unset) and
    # documented in .env.example. No secret is written in the file itself.
    variables = {(name, modifier[:2]) for name, modifier in COMPOSE_VARIABLE.findall(raw)}
    assert variables == {("POSTGRES_PASSWORD", ":?")}
    assert "POSTGRES_PASSWORD=" in (project.path / ".env.example").read_text(encoding="utf-8")
    compose = yaml.safe_load(COMPOSE_VARIABLE.sub("from-dot-env", raw))
    services: dict[str, Any] = compose["services"]

    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency

    (api,) = (service for service in services.values() if "build" in service)
    prefix = project.answers["package_name"].upper() + "_"
    environment: dict[str, str] = api["environment"]
    database = urllib.parse.urlsplit(environment[prefix + "DATABASE_URL"])
    assert database.scheme == "postgresql+asyncpg"
    assert database.password == "from-dot-env"
    assert services[database.hostname]["environment"]["POSTGRES_PASSWORD"] == "from-dot-env"
    redis = urllib.parse.urlsplit(environment[prefix + "REDIS_URL"])
    otlp = urllib.parse.urlsplit(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
    for url in (database, redis, otlp):
        assert url.hostname in api["depends_on"], url.hostname

    collector = services[otlp.hostname]
    (config_mount,) = (volume for volume in collector["volumes"] if "otel-collector" in volume)
    config = yaml.safe_load((project.path / config_mount.split(":")[0]).read_text("utf-8"))
    http_receiver = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http_receiver.rpartition(":")[2] == str(otlp.port)
    pipelines = config["service"]["pipelines"]
    assert {"traces", "metrics"} <= set(pipelines)
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline[kind])


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed in the template's test environment"
    return path


@contextmanager
def serving(project: Project, **settings: str) -> Iterator[str]:
    """Start the generated service on loopback (with `settings` as environment variables, by
    their names without the prefix); yield its base URL; stop it."""
    slug = project.answers["project_slug"]
    prefix = project.answers["package_name"].upper() + "_"
    env = project.env | {prefix + name: value for name, value in settings.items()}
    # The service's log goes to a file: a pipe nobody reads fills up and blocks its writes.
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            # Port 0: the kernel picks a free port as the service binds it, and uvicorn logs it.
            ["uv", "run", "--locked", slug, "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=project.path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield _wait_until_healthy(process, output)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_healthy(process: subprocess.Popen[str], output: IO[str]) -> str:
    """The base URL the service logged it bound, once `/healthz` answers there."""
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        output.seek(0)
        bound = re.search(r"Uvicorn running on (http://\S+)", output.read())
        try:
            if bound:
                with urllib.request.urlopen(f"{bound[1]}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return bound[1]
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    process.kill()
    process.wait(timeout=10)
    output.seek(0)
    pytest.fail(f"the service did not become healthy:\n{output.read()}")


@pytest.fixture
def served(project: Project) -> Iterator[str]:
    """The service as generated, with the settings in its `.env`."""
    with serving(project) as base:
        yield base


def _post(url: str, body: dict[str, str], key: str) -> tuple[int, dict[str, Any], str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["X-Request-ID"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers["X-Request-ID"]


def test_service_starts_and_answers_the_readme_example_with_the_dev_key(
    project: Project, served: str
) -> None:
    """The README's curl line, sent to the generated service as it is served."""
    (key,) = re.findall(r"_API_KEYS=dev:(\S+)", (project.path / ".env").read_text())
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    route = re.search(r"curl -s http://127\.0\.0\.1:8000(/v1/\S+)", readme)
    example = re.search(r"-d '(\{.*?\})'", readme)
    answer = re.search(r"```json\n(.*?)\n```", readme, re.DOTALL)
    assert route is not None, "the README's quick start has a curl line"
    assert example is not None
    assert answer is not None
    assert route[1] == "/v1/" + project.features[0].replace("_", "-")
    status, body, request_id = _post(served + route[1], json.loads(example[1]), key)
    assert status == 200, body
    assert body == json.loads(answer[1])
    assert body["model"] == "classical:keywords"
    assert body["prompt_version"] == f"{project.features[0]}@1"
    assert len(request_id) == 32
    status, problem, _ = _post(served + route[1], json.loads(example[1]), "wrong-key-wrong-key")
    assert status == 401
    assert problem["status"] == 401
    with urllib.request.urlopen(f"{served}/readyz", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ready"


FUZZ_KEY = "fuzz-key-with-every-scope-0123456789"
FUZZ_CONFIG = """
[generation]
max-examples = 25
# HTTP servers take headers they do not know; an unknown header (or query parameter) is not
# invalid data. Unknown body fields are: the generated project's own tests show they get 422.
allow-extra-parameters = false

[checks.negative_data_rejection]
# 413: an over-long body is refused by size before it is parsed.
expected-statuses = ["400", "401", "403", "404", "405", "413", "422", "429"]

[[operations]]
include-path = "/v1/usage"
# Rules across parameters the schema cannot state: `since` after `until`, more than 366 days.
checks.positive_data_acceptance.expected-statuses = ["200", "422"]
"""


def test_schemathesis_finds_no_failures(project: Project, tmp_path: Path) -> None:
    """Every operation of the OpenAPI document, fuzzed: no 5xx, no response outside its own
    schema, no undocumented status code, invalid input refused and valid input accepted."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG, encoding="utf-8")
    settings = {
        "API_KEYS": f"fuzz:{FUZZ_KEY}:predict+feedback+usage:read+review+admin",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "1000000",
        "RATE_LIMIT_TOKENS_PER_MINUTE": "1000000000",
        "AUTH_FAILURES_PER_MINUTE": "1000000",  # the fuzzer sends requests without a key too
    }
    with serving(project, **settings) as base:
        result = subprocess.run(
            [
                _tool("st"),
                "--config-file",
                str(config),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {FUZZ_KEY}",
                "--seed",
                "20261125",
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
