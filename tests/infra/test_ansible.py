"""Ansible: production-profile lint, syntax for every inventory, a check-mode run on localhost, and
the runner token's path (environment in, never a file or a log)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.infra import INFRA

pytestmark = pytest.mark.infra

ANSIBLE = INFRA / "ansible"
ROLES = sorted(p for p in (ANSIBLE / "roles").iterdir() if p.is_dir())
SKIP_TAGS = "nvidia,network,service,packages"  # what a GPU-less, systemd-less host cannot do


def test_the_playbook_applies_every_gpu_runner_role():
    play = yaml.safe_load((ANSIBLE / "playbooks" / "gpu-runner.yml").read_text())[0]
    assert [r["role"] for r in play["roles"]] == [
        "nvidia_driver",
        "nvidia_container_toolkit",
        "node_exporter",
        "dcgm_exporter",
        "github_runner",
    ]
    assert play["hosts"] == "gpu_runners"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environment_has_an_inventory_with_the_platform_runner_labels(env):
    group_vars = yaml.safe_load(
        (ANSIBLE / "inventories" / env / "group_vars" / "gpu_runners.yml").read_text()
    )
    assert group_vars["github_runner_labels"] == ["self-hosted", "linux", "x64", "gpu"]
    assert group_vars["github_runner_name_prefix"] == f"aip-{env}-gpu"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_variables_are_prefixed_declared_in_defaults_and_documented(role: Path):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    readme = (role / "README.md").read_text()
    assert defaults
    for name in defaults:
        assert name.startswith(f"{role.name}_"), f"{role.name}: {name} lacks the role prefix"
        assert f"`{name}`" in readme, f"{role.name}: README does not document {name}"
    assert (role / "tasks" / "setup-Debian.yml").exists() or role.name == "dcgm_exporter"


def test_the_runner_token_is_read_from_the_environment_and_never_logged_or_written():
    role = ANSIBLE / "roles" / "github_runner"
    token_var = yaml.safe_load((role / "defaults" / "main.yml").read_text())["github_runner_token_env"]
    assert token_var == "GITHUB_RUNNER_TOKEN"
    touching = 0
    for path in (role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()):
            text = yaml.safe_dump(task)
            if "github_runner_token_env" in text or "encoded_jit_config" in text or "JITCONFIG=" in text:
                touching += 1
                assert task.get("no_log") is True, (
                    f"{path.name}: '{task['name']}' handles the token without no_log"
                )
                assert (
                    not {"ansible.builtin.template", "ansible.builtin.copy", "ansible.builtin.lineinfile"}
                    & task.keys()
                )
    assert touching >= 3
    for template in (role / "templates").iterdir():
        assert (
            not re.search(r"token|jitconfig\s*=", template.read_text(), re.IGNORECASE)
            or "PassEnvironment" in template.read_text()
        )


@pytest.mark.slow
def test_ansible_lint_production_profile_is_clean_and_every_inventory_passes_syntax_check(infra_check):
    proc = infra_check("ansible")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "--profile production: clean" in proc.stdout


@pytest.mark.slow
def test_check_mode_on_localhost_completes_without_touching_the_host(tool, tmp_path):
    proc = tool(
        "ansible-playbook",
        "-i",
        "inventories/local/hosts.yml",
        "playbooks/gpu-runner.yml",
        "--check",
        "--diff",
        "--skip-tags",
        SKIP_TAGS,
        cwd=ANSIBLE,
        env={"ANSIBLE_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    recap = re.search(
        r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout
    )
    assert recap, proc.stdout[-2000:]
    ok, changed, unreachable, failed = map(int, recap.groups())
    assert failed == 0 and unreachable == 0 and ok >= 15
    assert "github-runner.service" in proc.stdout and "blacklist nouveau" in proc.stdout  # templates rendered
    assert not Path("/etc/systemd/system/github-runner.service").exists() or changed == 0
