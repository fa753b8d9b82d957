"""`aip ci terraform`: the arguments infra.yml's jobs give Terraform.

Terraform cannot reach a provider registry or AWS here, so a recording `terraform` on PATH stands in
for the binary, and an `aws` that listens on the forwarded port stands in for the SSM session: what is
checked is the command line each step builds (the plan role is read-only and cannot lock the state;
init never rewrites the committed provider lock file; --tunnel forwards to the root's own tunnel host
and endpoint, and a first apply brings the AWS side up before the cluster side), and that a failing
step stops the job with Terraform's own exit status.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_aip
from tests.support.ports import free_port
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


def _ci_terraform(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`aip ci terraform ARGS` with the stand-ins of tmp_path/bin first on PATH."""
    return run_aip(REPO_ROOT, "ci", "terraform", *args, env=_env(tmp_path / "bin", tmp_path))


def _env(bin_dir: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
    }


def test_plan_never_takes_the_state_lock_and_init_keeps_the_lock_file(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _recording_terraform(bin_dir, log)
    result = _ci_terraform(tmp_path, "plan", "--root", "infra/envs/dev")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "-chdir=" + str(REPO_ROOT / "infra/envs/dev") + " init -input=false -lockfile=readonly"
    assert "-lock=false" in calls[1].split() and calls[1].split()[1] == "plan"
    assert "Plan: 1 to add" in (tmp_path / "s.md").read_text()


def test_apply_locks_the_state_and_a_failing_step_stops_with_its_status(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _recording_terraform(bin_dir, log, fail_on="apply")
    result = _ci_terraform(tmp_path, "apply", "--root", "infra/envs/dev")
    assert result.returncode == 3
    assert "Error: state locked" in result.stdout + result.stderr
    init, apply = log.read_text().splitlines()
    assert init.endswith("init -input=false -lockfile=readonly")
    assert "-lock-timeout=5m" in apply.split() and "-lock=false" not in apply.split()


def _stateful_terraform(bin_dir: Path, log: Path, state: Path) -> None:
    """A terraform whose `output -json` answers from `state`, which a first apply creates (the tunnel
    host and endpoint appear only once the AWS side exists)."""
    script = bin_dir / "terraform"
    outputs = json.dumps(
        {
            "api_tunnel_instance_id": {"value": "i-0123456789abcdef0", "type": "string"},
            "cluster_endpoint": {"value": "https://ABC.gr7.eu-west-1.eks.amazonaws.com", "type": "string"},
        }
    )
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        f'if [[ "$2" == "output" ]]; then [[ -f "{state}" ]] && cat "{state}" || echo "{{}}"; exit 0; fi\n'
        f'if [[ "$2" == "apply" ]]; then echo \'{outputs}\' > "{state}"; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def _ssm_stand_in(bin_dir: Path, log: Path) -> None:
    """`aws ssm start-session ... localPortNumber=N`: records its arguments and listens on N, as the
    Session Manager plugin does once the session is up (AWS is unreachable here)."""
    script = bin_dir / "aws"
    script.write_text(
        f"#!{sys.executable}\n"
        "import re, socket, sys, time\n"
        f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "port = int(re.search(r'localPortNumber=(\\d+)', ' '.join(sys.argv)).group(1))\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', port)); s.listen(8)\n"
        "print('Waiting for connections...', flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept(); c.close()\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_a_first_apply_through_the_tunnel_brings_the_aws_side_up_then_applies_the_rest(tmp_path: Path):
    bin_dir, log, aws_log = tmp_path / "bin", tmp_path / "calls.log", tmp_path / "aws.log"
    bin_dir.mkdir()
    _stateful_terraform(bin_dir, log, tmp_path / "state.json")
    _ssm_stand_in(bin_dir, aws_log)
    port = free_port()
    result = _ci_terraform(
        tmp_path, "apply", "--root", "infra/envs/dev", "--tunnel", "--tunnel-port", str(port)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    applies = [c.split()[1:] for c in log.read_text().splitlines() if c.split()[1] == "apply"]
    assert len(applies) == 2
    assert "-var=install_platform_releases=false" in applies[0]  # AWS only: no cluster to talk to yet
    assert f"-var=kube_api_tunnel_port={port}" in applies[1]  # then everything, through the tunnel
    assert "first apply" in result.stdout
    session = aws_log.read_text().split()
    assert session[:4] == ["ssm", "start-session", "--target", "i-0123456789abcdef0"]
    assert f"host=ABC.gr7.eu-west-1.eks.amazonaws.com,portNumber=443,localPortNumber={port}" in session


def test_a_plan_without_a_tunnel_host_plans_the_aws_side_only(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _stateful_terraform(bin_dir, log, tmp_path / "state.json")
    result = _ci_terraform(tmp_path, "plan", "--root", "infra/envs/dev", "--tunnel")
    assert result.returncode == 0, result.stdout + result.stderr
    plans = [c for c in log.read_text().splitlines() if c.split()[1] == "plan"]
    assert (
        len(plans) == 1 and "-var=install_platform_releases=false" in plans[0] and "-lock=false" in plans[0]
    )


def test_a_tunnel_that_never_opens_fails_with_the_session_output(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    state = tmp_path / "state.json"
    _stateful_terraform(bin_dir, log, state)
    state.write_text(
        '{"api_tunnel_instance_id": {"value": "i-1"}, "cluster_endpoint": {"value": "https://x"}}'
    )
    aws = bin_dir / "aws"
    aws.write_text(
        "#!/usr/bin/env bash\n"
        "echo 'An error occurred (TargetNotConnected): i-1 is not connected.'\nexit 254\n"
    )
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    result = _ci_terraform(tmp_path, "apply", "--root", "infra/envs/dev", "--tunnel")
    assert result.returncode != 0
    assert "TargetNotConnected" in result.stderr + result.stdout
    assert not [c for c in log.read_text().splitlines() if c.split()[1] == "apply"]  # nothing applied


def test_a_root_without_a_cluster_plans_directly_even_with_tunnel(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _stateful_terraform(bin_dir, log, tmp_path / "state.json")
    result = _ci_terraform(tmp_path, "plan", "--root", "infra/envs/bootstrap", "--tunnel")
    assert result.returncode == 0, result.stdout + result.stderr
    (plan,) = [c for c in log.read_text().splitlines() if c.split()[1] == "plan"]
    assert "-var=" not in plan  # bootstrap declares neither install_platform_releases nor a tunnel port


def test_apply_of_a_saved_plan_applies_it_as_reviewed_through_the_tunnel(tmp_path: Path):
    """infra.yml's gated apply: the saved plan, no -auto-approve re-plan, no -var (a saved plan has them)."""
    bin_dir, log, aws_log, state = (
        tmp_path / "bin",
        tmp_path / "calls.log",
        tmp_path / "aws.log",
        tmp_path / "s",
    )
    bin_dir.mkdir()
    _stateful_terraform(bin_dir, log, state)
    _ssm_stand_in(bin_dir, aws_log)
    state.write_text(  # the root exists: its tunnel host and endpoint are in the state
        json.dumps(
            {
                "api_tunnel_instance_id": {"value": "i-0123456789abcdef0", "type": "string"},
                "cluster_endpoint": {
                    "value": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
                    "type": "string",
                },
            }
        )
    )
    plan = tmp_path / "tfplan"
    plan.write_bytes(b"a saved plan")
    port = free_port()
    result = _ci_terraform(
        tmp_path,
        "apply",
        "--root",
        "infra/envs/dev",
        "--plan",
        str(plan),
        "--tunnel",
        "--tunnel-port",
        str(port),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    applies = [c.split()[1:] for c in log.read_text().splitlines() if c.split()[1] == "apply"]
    assert applies == [["apply", "-input=false", "-lock-timeout=5m", str(plan)]]
    assert f"localPortNumber={port}" in aws_log.read_text()  # the port the plan was made through


def test_apply_of_a_missing_saved_plan_stops_before_terraform(tmp_path: Path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    _recording_terraform(bin_dir, log)
    result = _ci_terraform(tmp_path, "apply", "--root", "infra/envs/dev", "--plan", str(tmp_path / "nothing"))
    assert result.returncode != 0
    assert "no saved plan" in result.stdout + result.stderr
    assert not log.exists()
    result = _ci_terraform(tmp_path, "plan", "--root", "infra/envs/dev", "--plan", str(tmp_path / "nothing"))
    assert result.returncode != 0 and "--plan applies to apply" in result.stdout + result.stderr
