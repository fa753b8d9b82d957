"""The template self-test (databricks/mlops-stacks' pattern): fork this repository for a made-up
organisation and run the fork's own checks in it.

The module fixtures copy the working tree as it would be pushed (tracked and new, not ignored files)
into a fresh git repository tagged with its version (the template), clone it, and run `aip init` in
the clone for acme-ml (the fork).
Each test then runs, with the fork as its working directory (its own `pipelines/`, this checkout's
.venv): no value of the template's organisation left; `aip validate`, `aip schema --check`,
`aip render --check`, the workflow checks and actionlint; Terraform fmt and validate and the manifest
checks (infra/tools/infra_check.py's offline steps fmt, validate, k8s); the fast tests that read
organisation values (tests/infra, tests/gitops, tests/workflows, tests/code); and the next template
release merged into the fork by `aip template update`. Slow: the fast-test subset is most of it
(550 tests: 143 s on this 2-core machine at load ~1, 307 s at load 4-7, 2026-12-01); the rest ~25 s.
All of `make test-fast` in the fork took 612 s (984 tests, load 1-2.5): too much for CI's budget.

    .venv/bin/python -m pytest -q -m slow tests/fork/test_template.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import load_platform
from pipelines.fork.template import code_version, parse_changelog, parse_version
from tests.support.git import git
from tests.support.repo import REPO_ROOT, make_tree_copy

pytestmark = pytest.mark.slow

TEMPLATE = load_platform(REPO_ROOT / "platform.yaml").organisation  # the values a fork must not keep
# The made-up organisation (another one when this checkout is already acme-ml's fork).
ORG = "acme-ml" if TEMPLATE.name != "acme-ml" else "zenith-ml"
INIT = {
    "org": ORG,
    "repo": f"{ORG}/ml-platform",
    "region": "us-east-2",
    "account-id": "210987654321" if TEMPLATE.account_id != "210987654321" else "310987654321",
    "domain": f"{ORG}.internal",
    "image-registry": f"ghcr.io/{ORG}",
}
# Where the template's organisation may stay: prose (and the dataset built from it), the changelog,
# and the fork's pointer to the template it updates from.
ALLOWED_PREFIXES = ("docs/", "datasets/platform-docs/data/")
ALLOWED_FILES = {"CHANGELOG.md"}
ALLOWED_LINE = re.compile(r"^\s*upstream:")  # platform.yaml's organisation.upstream, .aip-template.yaml
LEFTOVER = re.compile(rf"\b{re.escape(TEMPLATE.name)}\b|\b{re.escape(TEMPLATE.account_id)}\b")
_TOOLS_VENV = Path(os.environ.get("TOOLS_VENV", ".venv-tools"))
TOOLS = (_TOOLS_VENV if _TOOLS_VENV.is_absolute() else REPO_ROOT / _TOOLS_VENV) / "bin"
FAST_TESTS = ("tests/infra", "tests/gitops", "tests/workflows", "tests/code")  # read organisation values
TIMEOUT_S = 1800  # the fast-test subset: 2.5-5 min on 2 cores, so 6x headroom


def _env(root: Path) -> dict[str, str]:
    """The fork's environment: AIP_REPO at it; this checkout's tools venv (a fresh fork has none, and
    its tests read TOOLS_VENV); no coverage hooks (the parent run's data file must not collect the
    fork's copies of the sources)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "COVERAGE"))}
    return {
        **env,
        "AIP_REPO": str(root),
        "TOOLS_VENV": str(TOOLS.parent),
        "AIP_RUNTIME_PYTHON": sys.executable,  # infra-check renders training jobs with the fork's engine
    }


def _run(root: Path, *command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=root, env=_env(root), capture_output=True, text=True, timeout=timeout, check=False
    )


def _aip(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(
        root, sys.executable, "-m", "pipelines", *args
    )  # the fork's pipelines (cwd first on sys.path)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as the template's repository, tagged with its version (pipelines/__init__.py)."""
    root = make_tree_copy(tmp_path_factory.mktemp("template") / "ai-platform")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the template")
    git(root, "tag", f"v{code_version(root)}")
    return root


@pytest.fixture(scope="module")
def fork(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the template, `aip init` for the made-up organisation, committed."""
    root = tmp_path_factory.mktemp("template-fork") / "ml-platform"
    git(template.parent, "clone", "-q", str(template), str(root))
    proc = _aip(root, "init", *(a for flag, value in INIT.items() for a in (f"--{flag}", value)), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"aip init for {ORG}")
    if TOOLS.is_dir():  # `make tools-venv` in a real fork; some tests name .venv-tools/ literally
        (root / ".venv-tools").symlink_to(TOOLS.parent, target_is_directory=True)
        with (root / ".git" / "info" / "exclude").open("a") as exclude:
            exclude.write(".venv-tools\n")
    return root


def test_the_fork_uses_the_pipelines_package_of_its_own_tree(fork: Path) -> None:
    proc = _run(fork, sys.executable, "-c", "import pipelines; print(pipelines.__file__)")
    assert Path(proc.stdout.strip()) == fork / "pipelines" / "__init__.py", proc.stderr


def test_no_value_of_the_template_organisation_is_left(fork: Path) -> None:
    offenders = []
    for rel in git(fork, "ls-files").splitlines():
        if rel in ALLOWED_FILES or rel.startswith(ALLOWED_PREFIXES):
            continue
        try:
            text = (fork / rel).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # binary files (images, weights) hold no organisation values
        for number, line in enumerate(text.splitlines(), start=1):
            if LEFTOVER.search(line) and not ALLOWED_LINE.match(line):
                offenders.append(f"{rel}:{number}: {line.strip()[:120]}")
    assert not offenders, f"{len(offenders)} line(s) still name {TEMPLATE.name}:\n" + "\n".join(offenders)


def test_platform_yaml_holds_the_organisation(fork: Path) -> None:
    org = load_platform(fork / "platform.yaml").organisation
    assert (org.name, org.repository, org.region, org.account_id) == (
        ORG,
        INIT["repo"],
        INIT["region"],
        INIT["account-id"],
    )
    assert (org.domain, org.image_registry) == (INIT["domain"], INIT["image-registry"])
    assert org.team_handle("ml") == f"@{ORG}/{org.teams.ml}"


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("schema", "--check"),
        ("render", "--check"),
        ("guard", "workflows"),
        ("ci", "check-commands"),
        ("template", "changelog", "--check"),
    ],
    ids=" ".join,
)
def test_the_fork_passes_the_aip_checks(fork: Path, args: tuple[str, ...]) -> None:
    proc = _aip(fork, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_fork_passes_actionlint(fork: Path) -> None:
    if not (TOOLS / "actionlint").is_file():
        pytest.skip("no .venv-tools (make tools-venv; make test builds it)")
    proc = _run(fork, str(TOOLS / "actionlint"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_fork_passes_terraform_fmt_validate_and_the_manifest_checks(fork: Path) -> None:
    """infra-check's offline steps that read the organisation's values: fmt -check over every folder,
    validate of the provider-free ones, and kustomize + strict schema validation of the overlays."""
    if not (TOOLS / "python").is_file():
        pytest.skip("no .venv-tools (make tools-venv; make test builds it)")
    proc = _run(
        fork, str(TOOLS / "python"), "infra/tools/infra_check.py", "fmt", "validate", "k8s", timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_fast_tests_that_read_organisation_values_pass_in_the_fork(fork: Path) -> None:
    proc = _run(
        fork,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        "not slow",
        "-p",
        "no:cacheprovider",
        *FAST_TESTS,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_the_next_template_release_reaches_the_fork_as_a_merge(
    template: Path, fork: Path, tmp_path: Path
) -> None:
    """The whole repository, not a slim one: the template releases a patch that changes a hand-written
    file and a derived one (a line holding the template's image registry); `aip template update` in a
    clone of the fork merges it, and the fork's checks still pass."""
    version = code_version(template)  # the tag the fork was cloned at
    newest = max(
        [
            version,
            *(r.version for r in parse_changelog((template / "CHANGELOG.md").read_text()) if r.released),
        ],
        key=parse_version,
    )
    major, minor, patch = (int(part) for part in newest.split("."))
    new = f"{major}.{minor}.{patch + 1}"
    upstream = tmp_path / "template"
    git(tmp_path, "clone", "-q", str(template), str(upstream))
    for rel in ("pipelines/__init__.py", "pyproject.toml"):
        path = upstream / rel
        path.write_text(
            re.sub(
                rf'^(__version__ = |version = )"{re.escape(version)}"',
                rf'\1"{new}"',
                path.read_text(),
                count=1,
                flags=re.M,
            )
        )
    changelog = upstream / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]\n",
            f"## [Unreleased]\n\n## [{new}] - 2026-12-02\n\n### Fixed\n- A mirror for the serving image.\n",
            1,
        )
    )
    overlay = upstream / "infra/k8s/overlays/dev/kustomization.yaml"
    overlay.write_text(overlay.read_text() + f"# mirror: {TEMPLATE.image_registry}/ai-platform-serving\n")
    readme = upstream / "README.md"
    readme.write_text(readme.read_text() + "\nTemplate updates: docs/upgrading.md.\n")
    git(upstream, "commit", "-qam", f"release {new}")
    git(upstream, "tag", f"v{new}")

    clone = tmp_path / "fork"
    git(tmp_path, "clone", "-q", str(fork), str(clone))
    before = (clone / "platform.yaml").read_text()
    env_free = {"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "template", "update", "--upstream", str(upstream)],
        cwd=clone, env={**_env(clone), **env_free}, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (clone / "platform.yaml").read_text() == before
    assert (
        f"# mirror: {INIT['image-registry']}/ai-platform-serving"
        in (clone / overlay.relative_to(upstream)).read_text()
    )
    assert "Template updates: docs/upgrading.md." in (clone / "README.md").read_text()
    body = (clone / ".aip/template/update-pr.md").read_text()
    assert f"v{version} → v{new}" in body and "A mirror for the serving image." in body
    for args in (("render", "--check"), ("template", "changelog", "--check"), ("validate",)):
        check = _aip(clone, *args)
        assert check.returncode == 0, (args, check.stdout + check.stderr)
