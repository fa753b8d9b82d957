"""`aip data prepare DATASET --env dev` against an S3 DVC remote: a real moto S3 server on 127.0.0.1.

What deploy.yml and drift.yml run first on a runner. platform.yaml's dev `dvc_remote` is
s3://aip-data/dvc; the endpoint reaches DVC (dvc-s3 → s3fs → aiobotocore) through botocore's standard
AWS_ENDPOINT_URL, which the engine passes on unchanged (pipelines/data/dvc.py copies the environment),
with moto's credentials. Then a second clone with an empty DVC cache pulls what the first pushed (a
`dvc push` does not verify the remote: only a pull into a clean cache does).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.repo import edit_yaml, make_repo_copy
from tests.support.s3 import s3_server

pytestmark = [pytest.mark.integration]

BUCKET = "aip-data"
DATASET = "breast-cancer"


def _dvc(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        env={**env, "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_prepare_pushes_to_the_s3_remote_and_a_clean_clone_pulls_it(tmp_path: Path):
    import os

    root = make_repo_copy(tmp_path / "repo")

    def dev_on_s3(data: Any) -> None:
        data["environments"]["dev"]["dvc_remote"] = f"s3://{BUCKET}/dvc"

    edit_yaml(root / "platform.yaml", dev_on_s3)
    git(root, "commit", "-qam", "dev's DVC remote on the test S3")
    with s3_server(tmp_path / "moto.log", BUCKET) as s3:
        env = {**os.environ, **s3.env}
        prepared = run_aip(root, "data", "prepare", DATASET, "--env", "dev", env=s3.env)
        assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
        assert "pushing to aip-dev" in prepared.stdout
        keys = s3.keys(BUCKET, "dvc/")
        assert keys, "nothing was pushed to s3://aip-data/dvc"
        assert all(k.startswith("dvc/files/md5/") for k in keys), keys[:5]

        # A clean clone (no DVC cache, no data): the lock file names what the remote must hold.
        git(root, "add", "-A")
        git(root, "commit", "-qm", "dvc.lock after prepare", "--allow-empty")
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(root), str(clone))
        (clone / "platform.yaml").write_text((root / "platform.yaml").read_text())
        remote = _dvc(clone, env, "remote", "add", "--local", "--force", "aip-dev", f"s3://{BUCKET}/dvc")
        assert remote.returncode == 0, remote.stderr
        pulled = _dvc(clone, env, "pull", "--remote", "aip-dev", f"datasets/{DATASET}/dvc.yaml")
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        splits = clone / "datasets" / DATASET / "data" / "splits"
        assert sorted(p.name for p in splits.iterdir()) == sorted(
            p.name for p in (root / "datasets" / DATASET / "data" / "splits").iterdir()
        )
        for split in splits.iterdir():
            assert (
                split.read_bytes()
                == (root / "datasets" / DATASET / "data" / "splits" / split.name).read_bytes()
            )
