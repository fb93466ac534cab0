"""Generate a matrix of answer sets and prove each generated service builds, passes and serves.

Each variant runs on one xdist worker (`xdist_group`), so its project is generated and
installed once and every check below reuses it.
"""

from __future__ import annotations

import csv
import itertools
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
    assert "bringing up nodes..." in result.stdout, "the suite runs on pytest-xdist workers"
    # The workers' logs and spans reached the controller, and were searched for every secret.
    searched = re.search(
        r"^secret watch: searched (\d+) captured output, (\d+) logs, (\d+) spans "
        r"for (\d+) secrets: no leak$",
        result.stdout,
        re.MULTILINE,
    )
    assert searched, result.stdout[-3000:]
    outputs, logs, spans, secrets = map(int, searched.groups())
    assert min(outputs, logs, spans) > 0, searched[0]
    assert secrets >= 6, searched[0]


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


OVERLAYS = ("staging", "production")
WAIVER = re.compile(r"^CKV_K8S_\d+=\S.{30,}$", re.DOTALL)
"""A checkov rule waived inline: its id, then why (a sentence, not a shrug)."""


def rendered_manifests(project: Project, overlay: str) -> str:
    """The overlay as `make manifests` prints it for `kubectl apply -f -` (docs/deploy.md)."""
    command = ["make", "--no-print-directory", "manifests", f"OVERLAY={overlay}"]
    return run(command, cwd=project.path, env=project.env).stdout


def test_kubernetes_manifests_validate_and_pass_the_policy_linter(
    project: Project, tmp_path: Path
) -> None:
    # The project's own check: both overlays against Kubernetes' bundled schemas, offline.
    run(["make", "--no-print-directory", "deploy-check"], cwd=project.path, env=project.env)
    waivers: list[str] = []
    for overlay in OVERLAYS:
        rendered = rendered_manifests(project, overlay)
        (tmp_path / f"{overlay}.yaml").write_text(rendered, encoding="utf-8")
        for resource in yaml.safe_load_all(rendered):
            annotations = resource["metadata"].get("annotations", {})
            waivers += [value for key, value in annotations.items() if "checkov.io/skip" in key]
    checkov = [_tool("checkov"), "--directory", str(tmp_path), "--framework", "kubernetes"]
    run([*checkov, "--skip-download", "--quiet", "--compact"], cwd=tmp_path)
    assert waivers
    assert all(WAIVER.match(waiver) for waiver in waivers), waivers


def test_kubernetes_manifests_keep_the_services_contract(project: Project) -> None:
    resources = list(yaml.safe_load_all(rendered_manifests(project, "production")))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_kind.setdefault(resource["kind"], []).append(resource)
    assert "Secret" not in by_kind  # referenced, never written into the manifests
    (deployment,) = by_kind["Deployment"]
    (job,) = by_kind["Job"]
    (service,) = by_kind["Service"]
    (budget,) = by_kind["PodDisruptionBudget"]
    (autoscaler,) = by_kind["HorizontalPodAutoscaler"]
    (policy,) = by_kind["NetworkPolicy"]
    pod, job_pod = deployment["spec"]["template"], job["spec"]["template"]
    (api,), (migrate,) = pod["spec"]["containers"], job_pod["spec"]["containers"]
    labels, job_labels = pod["metadata"]["labels"], job_pod["metadata"]["labels"]

    def selects(selector: dict[str, str], chosen: dict[str, str]) -> bool:
        return selector.items() <= chosen.items()

    assert selects(service["spec"]["selector"], labels)
    assert not selects(service["spec"]["selector"], job_labels)
    assert selects(budget["spec"]["selector"]["matchLabels"], labels)
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert "replicas" not in deployment["spec"]  # the autoscaler's
    for chosen in (labels, job_labels):  # both need DNS and the database
        assert selects(policy["spec"]["podSelector"]["matchLabels"], chosen)
    (ingress,) = policy["spec"]["ingress"]
    assert [port["port"] for port in ingress["ports"]] == [api["ports"][0]["name"]]

    # The Job runs `migrate` from the same image and configuration the replicas wait with.
    slug = project.answers["project_slug"]
    assert migrate["command"] == [slug, "migrate"]
    assert (migrate["image"], migrate["envFrom"]) == (api["image"], api["envFrom"])
    assert api["image"].rpartition(":")[2] not in ("", "latest")

    # Labels and flags are ConfigMaps of the project's own files, mounted as directories
    # (never subPath, which would freeze them) where the settings point.
    config_maps = {item["metadata"]["name"]: item.get("data", {}) for item in by_kind["ConfigMap"]}
    (settings_name,) = (
        ref["configMapRef"]["name"] for ref in api["envFrom"] if "configMapRef" in ref
    )
    prefix = project.answers["package_name"].upper() + "_"
    settings = config_maps[settings_name]
    assert settings[prefix + "SCHEMA_AT_START"] == "wait"
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    mounted = {mount["mountPath"]: volumes[mount["name"]] for mount in api["volumeMounts"]}
    assert not any("subPath" in mount for mount in api["volumeMounts"])
    for setting, source in (
        ("PROMPT_LABELS_FILE", "prompts/labels.yaml"),
        ("FLAGS_FILE", "flags/flags.json"),
    ):
        directory, _, name = settings[prefix + setting].rpartition("/")
        config_map = config_maps[mounted[directory]["configMap"]["name"]]
        assert config_map[name] == (project.path / source).read_text(encoding="utf-8")

    # The settings are the service's own and valid; the probes and the grace period fit them.
    probe = "\n".join(
        (
            f"from {project.answers['package_name']}.settings import Settings",
            "s = Settings(_env_file=None)",
            "print(s.schema_wait_seconds, s.request_timeout_seconds, s.shadow_timeout_seconds)",
            "print(*Settings.model_fields)",
        )
    )
    environment = {**project.env, **settings, prefix + "API_KEYS": "k8s:0123456789abcdef"}
    printed = run(
        ["uv", "run", "--locked", "python", "-c", probe], cwd=project.path, env=environment
    )
    timeouts, fields = printed.stdout.splitlines()
    assert {name.removeprefix(prefix).lower() for name in settings} <= set(fields.split())
    schema_wait, request_timeout, shadow_timeout = map(float, timeouts.split())
    startup = api["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] > schema_wait
    pre_stop = api["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= pre_stop + request_timeout + shadow_timeout + 10  # 10 s: the ledger's writes
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"


def kubectl_commands(doc: str) -> list[str]:
    """Each kubectl command the doc shows, inline or in a shell block, continuations joined."""
    inline = re.findall(r"`(kubectl [^`]+)`", doc)
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", doc, re.DOTALL)).replace("\\\n", " ")
    shown = [line.strip() for line in blocks.splitlines() if line.strip().startswith("kubectl ")]
    return [" ".join(command.split()) for command in [*inline, *shown]]


def test_deploy_docs_kubectl_commands_exist_and_name_what_the_manifests_create(
    project: Project,
) -> None:
    doc = (project.path / "docs" / "deploy.md").read_text(encoding="utf-8")
    commands = kubectl_commands(doc)
    assert len(commands) >= 8
    created: set[tuple[str, str]] = set()
    namespaces: set[str] = set()
    for overlay in OVERLAYS:
        for resource in yaml.safe_load_all(rendered_manifests(project, overlay)):
            created.add((resource["kind"].lower(), resource["metadata"]["name"]))
            namespaces.add(resource["metadata"]["namespace"])
    for command in commands:
        words = command.split()[1:]
        verb = list(itertools.takewhile(lambda word: re.fullmatch("[a-z]+", word), words))
        shown = run([_tool("kubectl"), *verb, "--help"], cwd=project.path).stdout
        usage = shown.partition("Usage:")[2].split("\n", 2)[1]
        assert "SUBCOMMAND" not in usage, command  # a group's help: its subcommand was unknown
        kinds = {kind for kind, _ in created}
        for kind, name in re.findall(r"\b([a-z]+)/([a-z0-9-]+)\b", command):
            assert kind not in kinds or (kind, name) in created, (command, kind, name)
        for namespace in re.findall(r"--namespace[ =](\S+)", command):
            assert namespace in namespaces, command
        if "create namespace" in command:
            assert words[2] in namespaces, command


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


LOAD_USERS = 4
LOAD_SECONDS = 4
"""Enough for each route to be called a few times: each user sends about a request a second."""


def _load_test(
    project: Project, base: str, tmp_path: Path, *thresholds: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    """`make load` against `base`, briefly, with the README's dev key: the run, and Locust's
    statistics by route (its `--csv` file)."""
    (key,) = re.findall(r"_API_KEYS=dev:(\S+)", (project.path / ".env").read_text())
    options = " ".join(["--csv", str(tmp_path / "load"), *thresholds])
    size = [f"USERS={LOAD_USERS}", f"DURATION={LOAD_SECONDS}s"]
    result = subprocess.run(
        ["make", "--no-print-directory", "load", f"URL={base}", *size, f"LOAD_OPTIONS={options}"],
        cwd=project.path,
        env=project.env | {"LOCUST_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    stats_file = tmp_path / "load_stats.csv"
    assert stats_file.is_file(), output[-6000:]
    with stats_file.open(encoding="utf-8", newline="") as stats:
        return result, {row["Name"]: row for row in csv.DictReader(stats)}


def test_the_load_test_reaches_every_feature_route_without_a_failure(
    project: Project, served: str, tmp_path: Path
) -> None:
    result, stats = _load_test(project, served, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    routes = [
        f"/v1/{feature.replace('_', '-')}{end}"
        for feature in project.features
        for end in ("", "/stream")
    ]
    assert sorted(stats) == sorted([*routes, "Aggregated"])
    assert all(int(stats[route]["Request Count"]) > 0 for route in routes), stats
    assert {name: row["Failure Count"] for name, row in stats.items()} == dict.fromkeys(stats, "0")
    assert "Load test passed" in output


def test_a_load_test_over_its_p95_threshold_fails_saying_why(
    project: Project, served: str, tmp_path: Path
) -> None:
    result, stats = _load_test(project, served, tmp_path, "--max-p95-ms", "0.001")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "load] Error 1" in output, output[-6000:]  # Locust's own exit status
    assert int(stats["Aggregated"]["Request Count"]) > 0
    assert stats["Aggregated"]["Failure Count"] == "0"  # it fails on latency alone
    assert re.search(r"Load test failed \(.*\): p95 \d+ ms is over --max-p95-ms 0\.001", output)
