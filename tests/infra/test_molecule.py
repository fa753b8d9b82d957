"""Molecule on podman: the GPU runner roles that need no GPU, applied for real to a Debian bookworm
container with systemd (converge, idempotence, verify), plus the role guards that stop a bad run early.

The edge: no GPU, no NVIDIA repositories and no GitHub here. The driver's package/hold/reboot/
persistence tasks (tag `nvidia`) are skipped in the scenario, the runner tarball is a stand-in served on
127.0.0.1 with its real sha256, and registration is off (`github_runner_registration: none`): nothing talks to GitHub.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.infra import INFRA, tool_env

pytestmark = pytest.mark.infra

ANSIBLE = INFRA / "ansible"
SCENARIO = ANSIBLE / "molecule" / "default"
RUNNER_ROLE = ANSIBLE / "roles" / "github_runner"
CHECK = INFRA / "tools" / "molecule_check.sh"
BUDGET_S = 300  # the whole Molecule run must stay CI-sized on a 2-core machine

MoleculeRun = tuple[subprocess.CompletedProcess[str], float]
Tool = Callable[..., subprocess.CompletedProcess[str]]


def _recaps(output: str) -> list[tuple[int, int, int]]:
    """(ok, changed, failed) of every PLAY RECAP line for the scenario's instance."""
    return [
        (int(m[1]), int(m[2]), int(m[3]))
        for m in re.finditer(
            r"aip-molecule-\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", output
        )
    ]


@pytest.fixture(scope="module")
def molecule_run(tools_venv: Path) -> MoleculeRun:
    started = time.monotonic()
    proc = subprocess.run(
        [str(CHECK)],
        check=False,
        env={**tool_env(), "TOOLS_VENV": str(tools_venv)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, time.monotonic() - started


@pytest.mark.slow
def test_molecule_converges_is_idempotent_and_verifies(molecule_run: MoleculeRun) -> None:
    proc, took = molecule_run
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert re.search(rf"default > {step}: Executed: Successful", out), (
            f"molecule step {step} did not pass"
        )
    recaps = _recaps(out)
    # converge (something changed), the idempotence converge (nothing changed), verify (read-only)
    assert len(recaps) >= 3, out[-3000:]
    (_, first_changed, _), (_, second_changed, _) = recaps[0], recaps[1]
    assert first_changed > 10 and second_changed == 0
    assert all(failed == 0 for _, _, failed in recaps)
    assert out.count("All assertions passed") >= 3  # the three assert blocks of verify.yml
    assert took < BUDGET_S, f"molecule took {took:.0f} s, over the {BUDGET_S} s budget"


@pytest.mark.slow
def test_the_driver_handlers_run_before_the_runner_role_starts(molecule_run: MoleculeRun) -> None:
    proc, _ = molecule_run
    out = proc.stdout  # Ansible's output (molecule's own log lines go to stderr)
    start = out.index("TASK [nvidia_driver :")  # the first converge: no earlier step runs the roles
    converge = out[start : out.index("PLAY RECAP", start)]
    handler = converge.index("RUNNING HANDLER [nvidia_driver : Rebuild the initramfs.]")
    assert handler < converge.index("TASK [node_exporter :") < converge.index("TASK [github_runner :")
    # and the fixture tarball went through the role's real download + checksum + unpack
    assert re.search(
        r"TASK \[github_runner : Download the runner release\.\][^\n]*\n(changed|ok): ", converge
    )


def test_the_scenario_skips_registration_and_the_gpu_only_tasks() -> None:
    scenario = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    group_vars = scenario["provisioner"]["inventory"]["group_vars"]["gpu_runners"]
    assert group_vars["github_runner_registration"] == "none"  # tasks/jit.yml never runs: no GitHub
    assert scenario["provisioner"]["options"]["skip-tags"] == "nvidia"
    assert scenario["driver"]["name"] == "podman"
    assert scenario["scenario"]["test_sequence"][2:6] == ["create", "converge", "idempotence", "verify"]


def test_the_runner_checksum_is_pinned_and_matches_terraform() -> None:
    defaults = yaml.safe_load((RUNNER_ROLE / "defaults" / "main.yml").read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", defaults["github_runner_checksum"])
    variables = (INFRA / "modules" / "gpu-runners" / "variables.tf").read_text()
    for var, role_var in (
        ("runner_version", "github_runner_version"),
        ("runner_sha256", "github_runner_checksum"),
    ):
        block = variables[variables.index(f'variable "{var}"') :]
        default = re.search(r'default\s*=\s*"([^"]+)"', block)
        assert default and default[1] == defaults[role_var], f"{var} in gpu-runners differs from {role_var}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"github_runner_checksum": ""}, "github_runner_checksum must be the sha256"),
        ({"github_runner_checksum": "01066fad"}, "github_runner_checksum must be the sha256"),
        ({"github_runner_registration": "sometimes"}, "must be controller or none (got 'sometimes')"),
    ],
    ids=["empty-checksum", "short-checksum", "unknown-registration"],
)
def test_the_runner_role_refuses_bad_settings_with_a_clear_message(
    tool: Tool, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    playbook = tmp_path / "runner.yml"
    play = {
        "name": "Runner",
        "hosts": "gpu_runners",
        "gather_facts": True,
        "roles": [{"role": "github_runner"}],
    }
    playbook.write_text(yaml.safe_dump([play]))
    proc = tool(
        "ansible-playbook",
        "-i",
        "inventories/local/hosts.yml",
        str(playbook),
        "--check",
        "-e",
        json.dumps({"github_runner_repository": "fixture-org/ai-platform", **extra}),
        cwd=ANSIBLE,
        env={"ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles")},
    )
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    assert message in out, out[-3000:]
    # it stopped at a settings check, before the first task that changes anything
    assert re.search(r"ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", out), out[-2000:]
    assert "TASK [github_runner : Load the OS family's variables.]" not in out


@pytest.mark.slow
def test_the_molecule_image_containerfile_is_hadolint_clean(tool: Tool) -> None:
    proc = tool("hadolint", str(ANSIBLE / "molecule" / "Containerfile"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_script_is_executable_and_strict() -> None:
    text = CHECK.read_text()
    assert os.access(CHECK, os.X_OK)
    assert "set -euo pipefail" in text and "molecule" in text
