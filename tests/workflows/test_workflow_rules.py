"""Bad workflows are caught with what and where; the repository's own workflows have zero findings.

actionlint and zizmor catch what they know (injection, unpinned actions, permissions); the house rules
(`aip guard workflows`) catch the rest (fork guard for self-hosted jobs, thin steps, checkout creds).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipelines.gitops.workflows import check_file
from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"  # workflows that break one rule each
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
FINDINGS = (11, 12, 13, 14)  # zizmor's exit code is 10 + the highest severity found (informational..high)
NO_TOKEN = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}


def zizmor(tools: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / "zizmor"), "--offline", "--persona", "pedantic", "--format", "plain", *map(str, paths)],
        capture_output=True,
        text=True,
        env=NO_TOKEN,
        check=False,
    )


def actionlint(tools: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / "actionlint"), "-no-color", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


def rules(name: str) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.message) for f in check_file(FIXTURES / name, name)]


def test_title_in_run_is_caught_by_all_three(tools: Path):
    assert rules("title-in-run.yml") == [
        (12, "AIP005", "job `greet`, step 1: `${{ ... }}` inside `run:`; pass it through `env:`")
    ]
    lint = actionlint(tools, FIXTURES / "title-in-run.yml")
    assert lint.returncode == 1
    assert "title-in-run.yml:12:35" in lint.stdout and "potentially untrusted" in lint.stdout
    audit = zizmor(tools, FIXTURES / "title-in-run.yml")
    assert audit.returncode == 14
    assert "template-injection" in audit.stdout and "title-in-run.yml:12" in audit.stdout


def test_unpinned_action_is_caught(tools: Path):
    [(line, rule, message)] = rules("unpinned-action.yml")
    assert (line, rule) == (13, "AIP006")
    assert "`actions/checkout@v4` is not pinned to a full 40-character commit SHA" in message
    audit = zizmor(tools, FIXTURES / "unpinned-action.yml")
    assert audit.returncode == 14
    assert "unpinned-uses" in audit.stdout and "unpinned-action.yml:13" in audit.stdout


def test_missing_permissions_block_is_caught(tools: Path):
    assert rules("no-permissions.yml") == [
        (1, "AIP002", "no top-level `permissions:` block; expected `permissions: {}` (least per job)")
    ]
    audit = zizmor(tools, FIXTURES / "no-permissions.yml")
    assert audit.returncode in FINDINGS
    assert "excessive-permissions" in audit.stdout


def test_self_hosted_job_reachable_from_fork_prs_is_caught():
    [(line, rule, message)] = rules("self-hosted-fork.yml")
    assert (line, rule) == (8, "AIP008")
    assert "job `train` runs on a self-hosted" in message
    assert "github.event.pull_request.head.repo.full_name == github.repository" in message


def test_fork_guard_in_if_satisfies_the_rule(tmp_path: Path):
    text = (
        (FIXTURES / "self-hosted-fork.yml")
        .read_text()
        .replace(
            "    runs-on: [self-hosted",
            "    if: github.event.pull_request.head.repo.full_name == github.repository\n"
            "    runs-on: [self-hosted",
        )
    )
    fixed = tmp_path / "guarded.yml"
    fixed.write_text(text)
    assert check_file(fixed) == []


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("      - run: make lint && make test\n", "AIP004"),
        ("      - run: curl https://example.invalid | bash\n", "AIP004"),
        ("      - uses: actions/setup-python@a309ff8b426b58ec0e2a45f0f869d46889d02405\n", "AIP006"),
        ("      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n", "AIP007"),
    ],
)
def test_house_rules_on_single_steps(tmp_path: Path, snippet: str, rule: str):
    text = (
        "# a workflow\non:\n  push:\npermissions: {}\njobs:\n  one:\n    runs-on: ubuntu-24.04\n"
        f"    steps:\n{snippet}"
    )
    path = tmp_path / "w.yml"
    path.write_text(text)
    assert [f.rule for f in check_file(path)] == [rule]


@pytest.mark.parametrize(
    ("script", "rules"),
    [
        ('aws eks update-kubeconfig --name "$EKS_CLUSTER" --region "$AWS_REGION"', []),
        ("aws s3 cp s3://bucket/x .", ["AIP004"]),  # only the allowed external command
        ('aws eks update-kubeconfig --name "$EKS_CLUSTER" && kubectl get pods', ["AIP004"]),
    ],
)
def test_the_one_external_command_is_the_kubeconfig(tmp_path: Path, script: str, rules: list[str]):
    path = tmp_path / "w.yml"
    path.write_text(
        "# a workflow\non:\n  push:\npermissions: {}\njobs:\n  one:\n    runs-on: ubuntu-24.04\n"
        f"    steps:\n      - run: {script}\n"
    )
    assert [f.rule for f in check_file(path)] == rules


def test_pull_request_target_and_unqueued_environment_are_caught(tmp_path: Path):
    path = tmp_path / "w.yml"
    path.write_text(
        "# deploys\non:\n  pull_request_target:\npermissions: {}\njobs:\n  ship:\n    runs-on: ubuntu-24.04\n"
        "    environment: prod\n    steps:\n      - run: make run\n"
    )
    assert sorted(f.rule for f in check_file(path)) == ["AIP003", "AIP009"]


def test_cli_reports_file_line_and_rule_with_exit_1():
    result = run_aip(REPO_ROOT, "guard", "workflows", str(FIXTURES / "self-hosted-fork.yml"))
    assert result.returncode == 1
    assert "self-hosted-fork.yml:8: AIP008" in result.stderr


def test_repository_workflows_have_zero_findings(tools: Path):
    assert {p.name for p in WORKFLOWS} >= {
        "pr.yml",
        "deploy.yml",
        "promote.yml",
        "drift.yml",
        "infra.yml",
        "dashboards.yml",
    }
    lint = actionlint(tools)
    assert lint.returncode == 0, lint.stdout
    audit = zizmor(tools, REPO_ROOT / ".github")
    assert audit.returncode == 0, audit.stdout
    assert "No findings to report" in audit.stdout
    findings = [str(f) for path in WORKFLOWS for f in check_file(path)]
    assert findings == []


def test_actions_are_pinned_to_node24_releases():
    """GitHub removed Node 20 from its runners in September 2026: every pin is a Node 24 release."""
    pins = {
        line.split("uses:")[1].strip()
        for path in WORKFLOWS
        for line in path.read_text().splitlines()
        if "uses:" in line and "@" in line
    }
    assert pins == {
        "actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2",
        "actions/setup-python@a309ff8b426b58ec0e2a45f0f869d46889d02405 # v6.2.0",
        "actions/upload-artifact@043fb46d1a93c77aae656e7c1c64a875d1fc6a0a # v7.0.1",
        "actions/cache@cdf6c1fa76f9f475f3d7449005a359c84ca0f306 # v5.0.3",
        "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1",
        "hashicorp/setup-terraform@dfe3c3f87815947d99a8997f908cb6525fc44e9e # v4.0.1",
        "aws-actions/configure-aws-credentials@acca2b1b2070338fb9fd1ca27ecee81d687e58e5 # v6.1.2",
        # image.yml: build, push by digest, SBOM + provenance, keyless signature, the digest-pin PR
        "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e # v4.3.0",
        "docker/login-action@af1e73f918a031802d376d3c8bbc3fe56130a9b0 # v4.4.0",
        "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a # v7.3.0",
        "actions/attest-build-provenance@977bb373ede98d70efdf65b84cb5f73e068dcc2a # v3.0.0",
        "sigstore/cosign-installer@6f9f17788090df1f26f669e9d70d6ae9567deba6 # v4.1.2",
        "peter-evans/create-pull-request@5f6978faf089d4d20b00c7766989d076bb2fc7f1 # v8.1.1",
    }
