"""`prepare`: the data step of `aip run`, driving DVC as a subprocess.

For one dataset: point DVC at the environment's remote, pull what the remote has, `dvc repro` the
dataset's pipeline (ingest -> validate -> split, or ingest -> validate -> index for a documents dataset;
DVC skips stages whose inputs are unchanged), push the results, and return the data version. DVC runs
as `python -m dvc` from this interpreter, with this environment's `bin/` first on PATH so the stages'
`aip ...` commands are this install's.

Remotes never live in the committed `.dvc/config`: platform.yaml is the one place an environment's
storage is declared, so it is written to `.dvc/config.local` (git-ignored by DVC) on every run as
`aip-<env>`.

    aip data prepare chatterbot-topics --env local
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.data._paths import display, validation_json
from pipelines.data.errors import DataError, DataValidationError
from pipelines.data.report import ValidationReport
from pipelines.data.version import data_version
from pipelines.offline import apply_offline_env
from pipelines.repo.layout import Repo

TAIL_LINES = 15  # of DVC's output quoted in a DataError: the stage's own error and DVC's verdict


def prepare(repo: Repo, dataset: str, env: str | None = None, *, push: bool = True) -> str:
    """Pull, reproduce, validate and push one dataset for `env`; return its data version.

    Raises DataValidationError (with the report) when the validate stage fails, so training never starts
    on bad data; DataError with DVC's last lines for any other failure.
    """
    cfg = repo.dataset(dataset)  # a bad or missing dataset.yaml fails here, naming the file
    pipeline = repo.dataset_dir(dataset) / "dvc.yaml"
    if not pipeline.is_file():
        raise DataError(
            f"{dataset}: {pipeline} does not exist; a dataset needs a dvc.yaml (see datasets/README.md)"
        )
    target = display(repo, pipeline)
    remote = configure_remote(repo, env)

    _say(dataset, "pulling...")
    pulled = run_dvc(repo, "pull", "--remote", remote, target)
    if pulled.returncode != 0:
        _say(dataset, "not in remote yet, reproducing")

    last = "index" if cfg.kind == "documents" else "split"
    if cfg.features is not None:
        last += " -> features"  # the feature store's offline source (pipelines/features/source.py)
    _say(dataset, f"reproducing (ingest -> validate -> {last})...")
    repro = run_dvc(repo, "repro", target)
    if repro.returncode != 0:
        _raise_repro_failure(repo, dataset, repro)

    if push:
        _say(dataset, f"pushing to {remote}...")
        pushed = run_dvc(repo, "push", "--remote", remote, target)
        if pushed.returncode != 0:
            raise DataError(f"{dataset}: dvc push to {remote} failed:\n{_tail(pushed)}")
    version = data_version(repo, dataset)
    _say(dataset, f"version {version}")
    return version


def configure_remote(repo: Repo, env: str | None = None) -> str:
    """Write remote `aip-<env>` (platform.yaml's `dvc_remote`) to `.dvc/config.local`; return its name."""
    env_name, settings = repo.environment(env)
    url = repo.resolve(settings.dvc_remote)
    if "://" not in url:
        Path(url).mkdir(parents=True, exist_ok=True)  # a local folder remote must exist before a push
    name = f"aip-{env_name}"
    result = run_dvc(repo, "remote", "add", "--local", "--force", name, url)
    if result.returncode != 0:
        raise DataError(f"cannot configure DVC remote {name} = {url}:\n{_tail(result)}")
    return name


def run_dvc(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m dvc <args>` in the repo root, output captured; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo.root,
        env=dvc_environment(repo),
        capture_output=True,
        text=True,
        check=False,
    )


def dvc_environment(repo: Repo) -> dict[str, str]:
    """This process's environment, with this venv's bin/ first, analytics off, and AIP_REPO = the repo."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    apply_offline_env(env)
    env["AIP_REPO"] = str(repo.root)  # the stages' `aip` acts on this checkout, wherever they run
    return env


def _raise_repro_failure(repo: Repo, dataset: str, repro: subprocess.CompletedProcess[str]) -> None:
    output = repro.stdout + repro.stderr
    report_path = validation_json(repo, dataset)
    if ":validate'" in output and report_path.is_file():
        report = ValidationReport.read(report_path)
        if not report.success:
            raise DataValidationError(report)
    raise DataError(f"{dataset}: dvc repro failed:\n{_tail(repro)}")


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def _say(dataset: str, message: str) -> None:
    print(f"data: {dataset}: {message}", flush=True)
