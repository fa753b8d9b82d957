"""`aip ci terraform`: the arguments infra.yml's jobs give Terraform.

Terraform cannot reach a provider registry or AWS here, so a recording `terraform` on PATH stands in
for the binary: what is checked is the command line each step builds (the plan role is read-only and
cannot lock the state; init never rewrites the committed provider lock file), and that a failing step
stops the job with Terraform's own exit status.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT


def _recording_terraform(bin_dir: Path, log: Path, fail_on: str = "") -> None:
    script = bin_dir / "terraform"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        f'if [[ -n "{fail_on}" && "$2" == "{fail_on}" ]]; then echo "Error: state locked" >&2; exit 3; fi\n'
        'if [[ "$2" == "show" ]]; then echo "Plan: 1 to add, 0 to change, 0 to destroy."; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def _env(bin_dir: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
    }


def test_plan_never_takes_the_state_lock_and_init_keeps_the_lock_file(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _recording_terraform(bin_dir, log)
    result = run_aip(
        REPO_ROOT, "ci", "terraform", "plan", "--root", "infra/envs/dev", env=_env(bin_dir, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "-chdir=" + str(REPO_ROOT / "infra/envs/dev") + " init -input=false -lockfile=readonly"
    assert "-lock=false" in calls[1].split() and calls[1].split()[1] == "plan"
    assert "Plan: 1 to add" in (tmp_path / "s.md").read_text()


def test_apply_locks_the_state_and_a_failing_step_stops_with_its_status(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _recording_terraform(bin_dir, log, fail_on="apply")
    result = run_aip(
        REPO_ROOT, "ci", "terraform", "apply", "--root", "infra/envs/dev", env=_env(bin_dir, tmp_path)
    )
    assert result.returncode == 3
    assert "Error: state locked" in result.stdout + result.stderr
    init, apply = log.read_text().splitlines()
    assert init.endswith("init -input=false -lockfile=readonly")
    assert "-lock-timeout=5m" in apply.split() and "-lock=false" not in apply.split()
