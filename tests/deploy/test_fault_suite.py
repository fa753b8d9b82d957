"""The fault suite: real `aip serve`, real registry versions, real traffic, the real controller, on
both models (the tabular tumour model and the MiniLM text model), each fault kind in repeated trials.

Each broken canary is rolled back in every trial, the stable keeps serving, the alias stays, and
clients see errors only on the canary's share: 5% of canary requests fail, +150 ms on the canary,
400s to valid input, load shedding (429s) (the server's fault injection), a real version whose final
layer makes it predict one class, a real version whose weights are corrupt (fails to load). Healthy
twins (the same model trained with another seed) are promoted in every trial with a realistic 1% of
5xx injected on canary, baseline and stable alike. The canary is compared with a baseline (a fresh
instance of the stable version with the same share), so both sides see the same conditions.
Losing the metrics source mid-analysis never promotes; a second deploy of the same model to the same
environment is refused and nothing is corrupted. Trial counts are printed at the end of the run.

Setup (module scope, per model): a repo copy with short local rollout steps and v1 promoted directly
(the tumour model: a private copy of the session's trained registry, tests/support/registry.py; the
text model: its own `aip run`), the same model trained with seed 7 (v2), then v3 (one class) and v4
(corrupt) built from v1's artifact; one `aip serve --enable-fault-injection`. The text model trains
1 epoch on every row with relaxed gates here (the suite tests the deploy, not the model's quality),
not the shared registry's 200-row sample, whose seed twins would differ by more than its PSI limit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.trials import TRIALS
from tests.support.cli import AIP, run_aip
from tests.support.git import git
from tests.support.ports import free_port
from tests.support.registry import private_copy
from tests.support.repo import edit_yaml, make_repo_copy

# Setup trains a model (the text one twice) inside the first test's time: allow for a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(2400)]

TUMOR, TEXT = "tumor-classifier", "topic-classifier"
# Short intervals, honest statistics: >= 100 requests per track per verdict. The baseline carries a
# realistic 1% of 5xx in the twin trials, so the ceiling sits at 2% (what a team with that stable
# rate would set); a 5% canary is still far above it.
ANALYSIS = {"min_requests": 100, "max_inconclusive": 3, "max_error_rate": 0.02}
ROLLOUTS = {
    TUMOR: [{"set_weight": 25}, {"analysis_seconds": 3}, {"set_weight": 50}, {"analysis_seconds": 3}],
    # The text model answers fewer requests/s on 2 cores: longer intervals for the same counts.
    TEXT: [{"set_weight": 25}, {"analysis_seconds": 8}, {"set_weight": 50}, {"analysis_seconds": 5}],
}
# The text model trains 1 epoch here: two seeds of an undertrained model genuinely predict different
# class mixes (seen: PSI 0.23 at chi-squared p=2e-7 between the seed-42 and seed-7 versions), so its
# twins get a wider prediction-shift limit; a model collapsing onto one class is still far beyond it.
PREDICTION_PSI = {TUMOR: 0.2, TEXT: 0.4}
CLIENTS = 8
# Trials per fault kind and healthy-twin trials, per model. The text model's trials take ~3x the tumour
# model's on 2 cores (longer analysis intervals, MiniLM loads for canary and baseline), so in `make test`
# it runs fewer, to keep the suite within CI's time; the tumour model carries the larger counts. The
# faults the server injects into its counters (5xx, 400s, 429s) test the analysis, which is the same code
# for every model: one trial on the text model; the model's own faults (latency, one class, corrupt
# weights) get three. AIP_TRIALS_FULL=1 (`make canary-trials`) gives both models the full counts.
FULL_TRIALS = os.environ.get("AIP_TRIALS_FULL") == "1"
FAULT_TRIALS = {TUMOR: 5, TEXT: 5 if FULL_TRIALS else 3}
COUNTER_FAULTS = ("5% errors", "400s on valid input", "load shedding (429)")
TWIN_TRIALS = {TUMOR: 10, TEXT: 10 if FULL_TRIALS else 5}


def fault_trials(model: str, kind: str) -> int:
    return 1 if model == TEXT and kind in COUNTER_FAULTS and not FULL_TRIALS else FAULT_TRIALS[model]


BASELINE_ERROR_RATE = 0.01


@dataclass
class World:
    model: str
    root: Path
    ctx: Any
    server: Any
    healthy: tuple[str, str]
    one_class: str
    corrupt: str

    def alias(self) -> str:
        return str(self.ctx.registry.alias_version(self.model, "local").version)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        from pipelines.http import request_json

        url = f"{self.server.endpoint}/v1/admin/models/{self.model}{path}"
        return request_json(method, url, body, token=self.server.token)

    def other_healthy(self) -> str:
        current = self.alias()
        return self.healthy[1] if current == self.healthy[0] else self.healthy[0]


def _register_edited_copy(
    ctx: Any, model: str, source_version: str, edit: Any, tag: str, *, after_logging: bool = False
) -> str:
    """Download a version's MLflow model, edit its aip artifact, log and register it as a new version.

    `after_logging`: edit the copy in the artifact store once logged (storage corruption; MLflow's
    logging itself loads the model to build its signature, so a corrupt file cannot be logged).
    """
    import warnings

    import mlflow

    from pipelines.lifecycle import steps
    from pipelines.registry.tracking import experiment_id

    work = Path(tempfile.mkdtemp(dir=ctx.repo.state_dir))
    path = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model}/{source_version}", dst_path=str(work)
        )
    )
    artifact = path / "artifacts" / steps.ARTIFACT_KEY
    if not after_logging:
        edit(artifact)
    exp = experiment_id(ctx.client, ctx.repo, model, ctx.env)
    with mlflow.start_run(experiment_id=exp, run_name=f"fault-{tag}") as run, warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*Add type hints to the `predict` method", category=UserWarning
        )
        info = steps.log_model(artifact)
    if after_logging:
        stored = Path(ctx.client.get_logged_model(info.model_id).artifact_location.removeprefix("file://"))
        stored = stored if stored.is_absolute() else ctx.repo.root / stored
        edit(stored / "artifacts" / steps.ARTIFACT_KEY)
    tags = {"aip.fingerprint": f"fault-{tag}-{run.info.run_id}", "aip.fault": tag}
    version = ctx.registry.register(model, info.model_uri, run.info.run_id, tags)
    shutil.rmtree(work, ignore_errors=True)
    return str(version.version)


def _one_class(artifact: Path) -> None:
    """Zero the final layer's weights and give one class all the bias: a real, loadable, broken model."""
    from safetensors.numpy import load_file, save_file

    weights_file = artifact / "model.safetensors"
    tensors = load_file(str(weights_file))
    if "head.bias" in tensors:  # the text model: encoder + linear head
        last = "head.bias"
    else:  # the tabular MLP: the highest-numbered layer of its Sequential
        last = max((k for k in tensors if k.endswith(".bias")), key=lambda k: int(k.split(".")[-2]))
    labels = json.loads((artifact / "aip-model.json").read_text())["labels"]
    tensors[last.replace(".bias", ".weight")][:] = 0.0
    tensors[last][:] = -10.0
    tensors[last][labels.index("benign") if "benign" in labels else 0] = 10.0
    save_file(tensors, str(weights_file))


def _corrupt(artifact: Path) -> None:
    weights_file = artifact / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:100] + b"\x00garbage")


def _configure(data: Any, model: str) -> None:
    data["environments"]["local"] = {
        **(
            {"serving": data["environments"]["local"]["serving"]}
            if "serving" in data["environments"]["local"]
            else {}
        ),
        "rollout": {
            "steps": ROLLOUTS[model],
            "analysis": {**ANALYSIS, "max_prediction_psi": PREDICTION_PSI[model]},
        },
    }
    if model == TEXT:  # one epoch, gates an untrained head would fail: the deploy is under test here
        data["training"]["epochs"] = 1
        data["evaluation"]["explain"] = {"enabled": False}  # SHAP on MiniLM: minutes, nothing deployed
        data["evaluation"]["gates"] = [{"metric": "accuracy", "min": 0.4}]
        data["evaluation"]["behavioural"]["min_pass_rate"] = {
            "minimum_functionality": 0.0,
            "invariance": 0.0,
            "directional": 0.0,
        }


BUSY_ENV = "AIP_TRIALS_BUSY"


@pytest.fixture(scope="module")
def busy_machine(world: World):
    """With AIP_TRIALS_BUSY=N, N processes keep the CPU busy during the trials (production machines
    are rarely quiet; `make canary-trials` sets it). Unset: nothing is started."""
    count = int(os.environ.get(BUSY_ENV, "0") or 0)
    burner = "import numpy as np\na = np.random.rand(400, 400)\nwhile True: a = (a @ a) / 400.0"
    procs = [subprocess.Popen([sys.executable, "-c", burner]) for _ in range(count)]
    try:
        yield count
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module", params=[TUMOR, TEXT])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    model = request.param
    folder = tmp_path_factory.mktemp("faults") / "repo"
    if model == TUMOR:  # v1 is the session's: the configured tumour model (rollouts change no fingerprint)
        root = private_copy(request.getfixturevalue("trained_registry").checked_root(), folder, keep=[model])
    else:  # the text model trains differently here (1 epoch on all rows, relaxed gates): its own v1
        root = make_repo_copy(folder)
    model_yaml = root / "models" / model / "model.yaml"
    edit_yaml(model_yaml, lambda d: _configure(d, model))
    git(root, "commit", "-qam", "short rollout")
    if model == TEXT:
        first = run_aip(root, "run", model)
        assert first.returncode == 0, first.stderr[-3000:]

    edit_yaml(model_yaml, lambda d: d["training"].update({"seed": 7}))  # a new fingerprint: v2
    for step in (("train", model), ("evaluate", model), ("register", model, "--no-alias")):
        result = run_aip(root, *step)
        assert result.returncode == 0, (step, result.stderr[-3000:])

    from pipelines.deploy.server import ensure_server
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    ctx = Context.open(Repo.discover(root), "local")
    assert str(ctx.registry.alias_version(model, "local").version) == "1"
    one_class = _register_edited_copy(ctx, model, "1", _one_class, "one-class")
    corrupt = _register_edited_copy(ctx, model, "1", _corrupt, "corrupt-weights", after_logging=True)
    endpoint = f"http://127.0.0.1:{free_port()}"
    server = ensure_server(root, "local", endpoint, ctx.repo.state_dir, fault_injection=True)
    try:
        yield World(model, root, ctx, server, ("1", "2"), one_class, corrupt)
    finally:
        server.stop()


def deploy(world: World, version: str, **kwargs: Any):
    from pipelines.deploy.runner import deploy_with_server

    return deploy_with_server(world.ctx, world.model, version, world.server, clients=CLIENTS, **kwargs)


def predict_once(world: World) -> tuple[int, str, str]:
    from pipelines.deploy.load import replay_inputs

    row = {"instances": [replay_inputs(world.ctx.repo, world.model)[0]]}
    request = urllib.request.Request(
        f"{world.server.endpoint}/v1/models/{world.model}:predict",
        data=json.dumps(row).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers["X-Model-Label"], response.headers["X-Model-Version"]


def assert_stable_untouched(world: World, stable: str, result: Any) -> None:
    assert result.verdict in ("rolled_back", "aborted"), (result.verdict, result.reason)
    assert world.alias() == stable  # the alias did not move
    state = world.admin("GET", "")
    assert state["stable"]["version"] == stable and state["canary"] is None and state["canary_weight"] == 0
    assert state["baseline"] is None and state["baseline_weight"] == 0
    status, label, version = predict_once(world)  # the stable keeps serving
    assert (status, label, version) == (200, "stable", stable)
    tags = world.ctx.client.get_model_version(world.model, result.version).tags
    assert tags["aip.deploy.local.verdict"] == result.verdict
    assert Path(tags["aip.deploy.local.report"]).is_file()


def failed_answers(result: Any) -> dict[str, int]:
    """5xx (or no answer) by the label that answered, as the clients saw them."""
    return dict(result.client_summary.get("errors_by_label", {}))


def inject(world: World, **fault: float) -> Callable[[], None]:
    return lambda: world.admin("PUT", "/faults", {"label": "canary", **fault})


FaultCheck = Callable[[World, Any], None]


def _errors_only_on_the_canary(world: World, result: Any) -> None:
    errors = failed_answers(result)
    assert set(errors) <= {"canary"}, errors  # clients saw errors only on the canary's share
    assert errors.get("canary", 0) <= 0.15 * result.client_summary["by_label"]["canary"]


def _no_errors(world: World, result: Any) -> None:
    assert failed_answers(result) == {}


def _only_one_class(world: World, result: Any) -> None:
    assert failed_answers(result) == {}
    assert len(result.intervals[0].analysis["canary"]["class_counts"]) == 1


def _no_traffic(world: World, result: Any) -> None:
    assert result.intervals == [] and result.client_summary == {}


# kind: (canary version, fault to inject, the check whose name the reason must carry, extra check)
FAULTS: dict[str, tuple[str, dict[str, float], str, FaultCheck]] = {
    "5% errors": ("healthy", {"error_rate": 0.05}, "error_rate", _errors_only_on_the_canary),
    "+150 ms": ("healthy", {"extra_latency_ms": 150}, "latency", _no_errors),
    "400s on valid input": ("healthy", {"client_error_rate": 0.4}, "client_error_ratio", _no_errors),
    "load shedding (429)": ("healthy", {"shed_rate": 0.2}, "shed_ratio", _no_errors),
    "one class": ("one_class", {}, "prediction_shift", _only_one_class),
    "corrupt weights": ("corrupt", {}, "failed to load", _no_traffic),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_every_fault_kind_is_rolled_back_in_every_trial(world: World, busy_machine: int, kind: str):
    which, fault, named, extra = FAULTS[kind]
    outcomes = []
    trials = fault_trials(world.model, kind)
    for _ in range(trials):
        stable = world.alias()
        canary = {"healthy": world.other_healthy(), "one_class": world.one_class, "corrupt": world.corrupt}[
            which
        ]
        result = deploy(world, canary, after_canary_loaded=inject(world, **fault) if fault else None)
        outcomes.append(result.verdict)
        TRIALS.record(world.model, kind, result.verdict, expected="rolled_back")
        assert result.verdict == "rolled_back" and named in result.reason, (result.verdict, result.reason)
        assert_stable_untouched(world, stable, result)
        extra(world, result)
    assert outcomes == ["rolled_back"] * trials


def test_healthy_twins_with_a_realistic_error_rate_are_promoted_in_every_trial(
    world: World, busy_machine: int
):
    def background_errors() -> None:
        for label in ("stable", "canary", "baseline"):
            world.admin("PUT", "/faults", {"label": label, "error_rate": BASELINE_ERROR_RATE})

    outcomes = []
    try:
        for _ in range(TWIN_TRIALS[world.model]):
            stable, canary = world.alias(), world.other_healthy()
            result = deploy(world, canary, after_canary_loaded=background_errors)
            outcomes.append((canary, result.verdict, result.reason))
            TRIALS.record(world.model, "healthy twin, 1% 5xx both sides", result.verdict, expected="promoted")
            TRIALS.intervals(world.model, [i.result for i in result.intervals])
            assert result.verdict == "promoted", outcomes
            assert result.baseline_version == stable
            assert world.alias() == canary  # the alias moved
            state = world.admin("GET", "")
            assert state["stable"]["version"] == canary and state["canary"] is None  # the label moved
            assert state["baseline"] is None
            assert all(
                min(i.analysis["canary"]["requests"], i.analysis["baseline"]["requests"])
                >= ANALYSIS["min_requests"]
                for i in result.intervals
                if i.result == "pass"
            )
            # The background 5xx reached both compared tracks (the comparison saw them).
            seen = sum(i.analysis["baseline"]["errors"] for i in result.intervals)
            assert seen > 0 or sum(i.analysis["baseline"]["requests"] for i in result.intervals) < 300
    finally:
        world.admin("DELETE", "/faults")
    assert [v for _, v, _ in outcomes] == ["promoted"] * TWIN_TRIALS[world.model]


def test_a_promotion_the_backend_refuses_puts_the_alias_back(world: World, monkeypatch: pytest.MonkeyPatch):
    from pipelines.deploy.backends import BackendError, LocalServerBackend

    def refuse(self: LocalServerBackend, model: str) -> None:  # a cluster that refuses the patch
        raise BackendError("admission webhook denied the request")

    stable, canary = world.alias(), world.other_healthy()
    monkeypatch.setattr(LocalServerBackend, "promote", refuse)
    result = deploy(world, canary)
    assert result.verdict == "aborted", (result.verdict, result.reason)
    assert "refused the promotion" in result.reason and f"put back to v{stable}" in result.reason
    assert_stable_untouched(world, stable, result)


def test_an_alias_that_cannot_be_set_never_promotes_the_backend(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    from mlflow.exceptions import MlflowException

    stable, canary = world.alias(), world.other_healthy()
    registry = world.ctx.registry
    real = registry.set_alias

    def registry_down(model: str, env: str, version: str) -> None:
        if version == canary:
            raise MlflowException("API request failed: registry unreachable")
        real(model, env, version)

    monkeypatch.setattr(registry, "set_alias", registry_down)
    result = deploy(world, canary)
    assert result.verdict == "aborted", (result.verdict, result.reason)
    assert "could not be set" in result.reason and f"v{stable} keeps serving" in result.reason
    monkeypatch.undo()
    assert_stable_untouched(world, stable, result)


class _FlakyProxy(BaseHTTPRequestHandler):
    """Forwards GETs to the server until `budget` requests have passed, then the process 'dies'."""

    upstream = ""
    budget = 0
    server_ref: ThreadingHTTPServer | None = None

    def do_GET(self):
        cls = type(self)
        cls.budget -= 1
        if cls.budget < 0:
            server = cls.server_ref
            threading.Thread(target=lambda: (server.shutdown(), server.server_close()), daemon=True).start()
            self.connection.close()
            return
        request = urllib.request.Request(cls.upstream + self.path, headers=dict(self.headers))
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_losing_the_metrics_source_mid_analysis_never_promotes(world: World):
    stable, canary = world.alias(), world.other_healthy()
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyProxy)
    _FlakyProxy.upstream, _FlakyProxy.budget, _FlakyProxy.server_ref = world.server.endpoint, 3, proxy
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        # Three reads answer (canary, baseline and stable windows of the first analysis), then the
        # source is gone.
        result = deploy(world, canary, metrics_endpoint=f"http://127.0.0.1:{proxy.server_address[1]}")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert result.verdict == "aborted", (result.verdict, result.reason)
    assert "inconclusive" in result.reason and "metrics source down" in result.reason
    assert_stable_untouched(world, stable, result)
    held = [i for i in result.intervals if i.result == "inconclusive"]
    assert len(held) == ANALYSIS["max_inconclusive"] + 1


def test_a_second_deploy_of_the_same_model_is_refused_and_nothing_is_corrupted(world: World):
    stable, canary = world.alias(), world.other_healthy()
    env = {**os.environ, "AIP_REPO": str(world.root), "AIP_ADMIN_TOKEN": world.server.token}
    args = [
        *AIP,
        "deploy",
        world.model,
        "--env",
        "local",
        "--endpoint",
        world.server.endpoint,
        "--clients",
        str(CLIENTS),
    ]
    first = subprocess.Popen(
        [*args, "--version", canary], cwd=world.root, env=env, stderr=subprocess.PIPE, text=True
    )
    lock = world.root / ".aip" / "locks" / f"deploy-local-{world.model}.lock"
    deadline = time.time() + 60
    while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.1)
    second = run_aip(
        world.root,
        "deploy",
        world.model,
        "--env",
        "local",
        "--endpoint",
        world.server.endpoint,
        "--version",
        stable,
        env={"AIP_ADMIN_TOKEN": world.server.token},
    )
    _, first_err = first.communicate(timeout=180)
    assert second.returncode == 1
    assert "already running" in second.stderr and f"pid {first.pid}" in second.stderr, second.stderr
    assert f"v{canary}" in second.stderr
    assert first.returncode == 0, first_err[-3000:]
    # Nothing corrupted: the first deploy finished normally and every record agrees.
    assert world.alias() == canary
    state = world.admin("GET", "")
    assert state["stable"]["version"] == canary and state["canary"] is None
    tags = world.ctx.client.get_model_version(world.model, canary).tags
    assert tags["aip.deploy.local.verdict"] == "promoted"
    stable_tags = world.ctx.client.get_model_version(world.model, stable).tags
    assert stable_tags.get("aip.deploy.local.verdict") != "aborted"
    assert not lock.read_text().strip()  # released


def test_dry_run_prints_the_plan_and_changes_nothing(world: World):
    stable = world.alias()
    result = run_aip(
        world.root, "deploy", world.model, "--env", "local", "--dry-run", "--version", world.other_healthy()
    )
    assert result.returncode == 0, result.stderr
    assert "rollout plan" in result.stderr and "set canary weight 25%" in result.stderr
    assert "baseline" in result.stderr
    assert "replaying" in result.stderr and "test split" in result.stderr
    assert world.alias() == stable
