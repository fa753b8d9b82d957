"""Run a study: open (or join) it in the storage, nest its trials under one MLflow parent run, run
local workers, and summarise the result back into the parent.

    from pipelines.tune import TuneRequest, tune
    summary = tune(repo, TuneRequest("tumor-classifier", n_trials=20, workers=2))

Several `aip tune` processes anywhere (local workers, CI matrix jobs, Kubernetes pods) that name the
same study and storage share it: Optuna coordinates them through the storage. The first one to arrive
creates the parent run and records its id as a study attribute; the others nest under it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import AnyModelConfig
from pipelines.config.search import Search
from pipelines.repo.layout import Repo
from pipelines.tune.errors import TuneError
from pipelines.tune.space import baseline, direction, space_signature
from pipelines.tune.storage import mask, open_storage, storage_url
from pipelines.tune.tracking import PARENT_ATTR, create_parent, experiment_name

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from pipelines.tune.summary import Summary

__all__ = ["TuneRequest", "WorkerSpec", "default_study_name", "run_worker", "shares", "tune"]

Say = Callable[[str], None]
_SIGNATURE_ATTR = "aip.space"  # study attribute: the space and objective it was created with
_MODEL_ATTR = "aip.model"
_CONNECT_WAIT_S = 120.0  # how long to retry a fresh embedded MLflow store another process is migrating
_PARENT_WAIT_S = 60.0  # how long a joining process waits for the creator to record the parent run


@dataclass
class TuneRequest:
    model: str
    env: str | None = None
    n_trials: int | None = None
    """None: model.yaml's search.n_trials; 0: create the study and its parent run only."""
    workers: int = 1
    timeout_s: int | None = None
    study_name: str | None = None
    storage: str | None = None
    verbose: bool = False


@dataclass
class WorkerSpec:
    """What a worker process needs; plain values so it crosses a process boundary."""

    root: str
    model: str
    env: str | None
    storage: str
    study_name: str
    n_trials: int
    timeout_s: int | None
    worker: int
    threads: int | None = None
    verbose: bool = False


@dataclass
class Opened:
    study: optuna.Study
    url: str
    client: MlflowClient
    experiment_id: str
    parent_run_id: str
    created: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def default_study_name(config: AnyModelConfig) -> str:
    """`<model>-<hash>` of the space, the objective and the training values not searched: runs that
    agree on all three continue one study; a change to any of them starts a new one."""
    assert config.search is not None
    fixed = {k: v for k, v in config.training.model_dump(mode="json").items() if k not in config.search.space}
    text = space_signature(config.search) + repr(sorted(fixed.items()))
    return f"{config.name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def shares(n_trials: int, workers: int) -> list[int]:
    """Trials per local worker: as even as possible, summing to n_trials (no worker gets 0)."""
    base, extra = divmod(n_trials, workers)
    return [n for n in (base + (1 if i < extra else 0) for i in range(workers)) if n > 0]


def _search(config: AnyModelConfig) -> Search:
    if config.search is None:
        raise TuneError(
            f"models/{config.name}/model.yaml has no `search` section: add one with the training "
            "parameters to search (docs/tuning.md)"
        )
    return config.search


def _sampler(search: Search, worker: int) -> optuna.samplers.BaseSampler:
    import optuna

    s = search.sampler
    return optuna.samplers.TPESampler(seed=s.seed + worker, n_startup_trials=s.n_startup_trials)


def _pruner(search: Search) -> optuna.pruners.BasePruner:
    import optuna

    p = search.pruner
    if p.kind == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps)


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial prints its own line


def _create_or_load(storage: Any, name: str, search: Search, worker: int) -> tuple[optuna.Study, bool]:
    """The study, and whether this call created it. Creation is atomic in the storage (a unique
    name), so exactly one process of many started at once creates the study and its parent run."""
    import optuna
    from optuna.exceptions import DuplicatedStudyError

    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=direction(search),
            sampler=_sampler(search, worker),
            pruner=_pruner(search),
        )
        return study, True
    except DuplicatedStudyError:
        pass
    # A joining process: local workers (worker >= 1) have their own seeds; an independent invocation
    # (a CI matrix job, a pod) adds its process id, so parallel jobs do not replay each other's trials.
    offset = worker if worker else os.getpid()
    sampler = _sampler(search, offset)
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=_pruner(search)), False


def _check_study(study: optuna.Study, config: AnyModelConfig, search: Search, url: str) -> None:
    """A joined study must be the same search: same model, space, objective and direction."""
    attrs = study.user_attrs
    signature = space_signature(search)
    where = f"study '{study.study_name}' in {mask(url)}"
    if attrs.get(_MODEL_ATTR, config.name) != config.name:
        raise TuneError(f"{where} belongs to model '{attrs[_MODEL_ATTR]}'; pass another --study")
    if attrs.get(_SIGNATURE_ATTR, signature) != signature:
        raise TuneError(
            f"{where} was created with another search space or objective than models/{config.name}/"
            "model.yaml's `search` now has; pass a new --study name (or drop --study for the default)"
        )
    existing = study.direction.name.lower()
    if existing != direction(search):
        raise TuneError(f"{where} is to {existing}, the search to {direction(search)}")


def _enqueue_baseline(study: optuna.Study, config: AnyModelConfig, search: Search) -> bool:
    """Trial 0 of a new study is model.yaml's current values, so "best" is never worse than them."""
    params = baseline(search, config.training.model_dump())
    if params:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna warns when a fixed value sits on a range's edge
            study.enqueue_trial(params, user_attrs={"aip.baseline": True})
    return bool(params)


def _parent_params(config: AnyModelConfig, search: Search, url: str, study: str) -> dict[str, Any]:
    return {
        "model": config.name,
        "study": study,
        "storage": mask(url),
        "metric": search.metric,
        "split": "validation",
        "direction": direction(search),
        "space": space_signature(search),
        "pruner": search.pruner.model_dump(mode="json"),
        "sampler": search.sampler.model_dump(mode="json"),
        "training": config.training.model_dump(mode="json"),
    }


def _new_parent(
    study: optuna.Study,
    client: MlflowClient,
    experiment_id: str,
    repo: Repo,
    config: AnyModelConfig,
    url: str,
    env: str,
) -> str:
    from pipelines.git import head_commit

    try:
        commit = head_commit(repo.root)
    except Exception:  # not a git checkout (a copied folder): the run still records everything else
        commit = "unknown"
    tags = {"aip.step": "tune", "aip.env": env, "aip.git_commit": commit, "aip.model": config.name}
    params = _parent_params(config, _search(config), url, study.study_name)
    run_id = create_parent(client, experiment_id, study.study_name, params, tags)
    study.set_user_attr(PARENT_ATTR, run_id)
    return run_id


def _wait_for_parent(study: optuna.Study) -> str | None:
    """The parent run id the creating process records (it does so right after creating the study)."""
    deadline = time.monotonic() + _PARENT_WAIT_S
    while time.monotonic() < deadline:
        found = study.user_attrs.get(PARENT_ATTR)
        if found:
            return str(found)
        time.sleep(0.5)
    return None


def _connect(repo: Repo, env: str | None) -> MlflowClient:
    """MLflow's client. Processes that meet a fresh embedded (SQLite) store at once race to create its
    tables; the loser fails on "table already exists" until the winner's migrations are done (seconds
    to tens of seconds), so it tries again until then."""
    from pipelines.registry.tracking import connect, tracking_uri

    deadline = time.monotonic() + _CONNECT_WAIT_S
    while True:
        try:
            return connect(repo, env)
        except Exception:
            if time.monotonic() > deadline or not tracking_uri(repo, env).startswith("sqlite"):
                raise
            time.sleep(2.0)


def _open(
    repo: Repo, config: AnyModelConfig, url: str, study_name: str, env: str | None, worker: int
) -> Opened:
    """Create or join the study, and find (or, as its creator, make) its MLflow parent run."""
    from pipelines.registry.tracking import experiment_id

    search = _search(config)
    storage = open_storage(url)
    study, created = _create_or_load(storage, study_name, search, worker)
    if created:
        study.set_user_attr(_MODEL_ATTR, config.name)
        study.set_user_attr(_SIGNATURE_ATTR, space_signature(search))
    else:
        _check_study(study, config, search, url)
    client = _connect(repo, env)
    exp = experiment_id(client, repo, experiment_name(config.name), env)
    env_name = env or repo.platform.default_environment
    parent = None if created else _wait_for_parent(study)
    if parent is None:  # the creator, or a creator that died before recording one
        parent = _new_parent(study, client, exp, repo, config, url, env_name)
    opened = Opened(study, url, client, exp, parent, created)
    if created:
        opened.extra["baseline"] = _enqueue_baseline(study, config, search)
    return opened


def _splits(repo: Repo, dataset: str, env: str | None, say: Say) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The DVC-prepared train and validation splits (prepared first when missing, not pushed)."""
    from pipelines.data import load_split, prepare, splits_dir

    if not all((splits_dir(repo, dataset) / f"{s}.csv").is_file() for s in ("train", "validation")):
        say(f"{dataset}: splits missing, preparing them (aip data prepare {dataset})...")
        prepare(repo, dataset, env, push=False)
    return load_split(repo, dataset, "train"), load_split(repo, dataset, "validation")


def run_worker(spec: WorkerSpec, say: Say | None = None, opened: Opened | None = None) -> None:
    """One worker: run `spec.n_trials` trials of the shared study (a process of its own, or inline
    with the study `tune` already opened, so a one-worker study replays exactly from its seed)."""
    import torch

    _quiet_optuna()
    before = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        _work(spec, say or _print, opened)
    finally:
        torch.set_num_threads(before)


def _work(spec: WorkerSpec, printer: Say, opened: Opened | None) -> None:
    from pipelines.tune.objective import Objective

    repo = Repo.discover(Path(spec.root))
    config = repo.model(spec.model)
    if opened is None:
        opened = _open(repo, config, spec.storage, spec.study_name, spec.env, spec.worker)
    train_df, val_df = _splits(repo, config.dataset, spec.env, printer)
    objective = Objective(
        config=config,
        dataset=repo.dataset(config.dataset),
        train_df=train_df,
        val_df=val_df,
        client=opened.client,
        experiment_id=opened.experiment_id,
        parent_run_id=opened.parent_run_id,
        study_name=spec.study_name,
        say=printer,
        worker=spec.worker,
        verbose=spec.verbose,
    )
    opened.study.optimize(objective, n_trials=spec.n_trials, timeout=spec.timeout_s, catch=(Exception,))


def _print(line: str) -> None:
    print(line, flush=True)


def _worker_main(spec: WorkerSpec) -> None:
    """Entry point of a spawned worker process."""
    from pipelines.offline import apply_offline_env

    apply_offline_env()
    run_worker(spec)


def _run_workers(specs: list[WorkerSpec], say: Say, opened: Opened) -> None:
    if len(specs) == 1:
        run_worker(specs[0], say, opened)
        return
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    processes = [
        context.Process(target=_worker_main, args=(spec,), name=f"aip-tune-{spec.worker}") for spec in specs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.name for p in processes if p.exitcode != 0]
    if failed:
        raise TuneError(
            f"worker process(es) {', '.join(failed)} exited with an error (see their output above)"
        )


def _threads(config: AnyModelConfig, workers: int) -> int | None:
    """Torch threads per worker. A tabular trial's MLP has ops too small to split across threads (on a
    busy 2-core machine two threads made a trial 12x slower than one): one thread each, and workers
    bring the parallelism. A text model splits the cores between the workers."""
    if config.task == "tabular-classification":
        return 1
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None


def tune(repo: Repo, request: TuneRequest, say: Say = _print) -> Summary:
    """Run (or join) the study and return what it found so far (every worker's trials)."""
    from pipelines.tune.summary import summarise

    _quiet_optuna()
    config = repo.model(request.model)
    search = _search(config)
    if request.workers < 1:
        raise TuneError("--workers must be at least 1")
    url = storage_url(repo, request.env, request.storage)
    name = request.study_name or default_study_name(config)
    n_trials = search.n_trials if request.n_trials is None else request.n_trials
    timeout = request.timeout_s if request.timeout_s is not None else search.timeout_seconds
    opened = _open(repo, config, url, name, request.env, 0)
    say(
        f"{config.name}: study '{name}' in {mask(url)}; {search.metric} on the validation split, "
        f"{direction(search)}; MLflow parent run {opened.parent_run_id} "
        f"(experiment aip/{experiment_name(config.name)})"
    )
    if opened.extra.get("baseline"):
        say("trial 0 of a new study is model.yaml's current training values (the baseline)")
    if n_trials > 0:
        _splits(repo, config.dataset, request.env, say)  # prepared once here, not by racing workers
    started = time.perf_counter()
    if n_trials > 0:
        limit = f", at most {timeout} s" if timeout else ""
        say(f"running {n_trials} trial(s) on {request.workers} worker(s){limit}")
        threads = _threads(config, request.workers)
        specs = [
            WorkerSpec(
                root=str(repo.root),
                model=config.name,
                env=request.env,
                storage=url,
                study_name=name,
                n_trials=share,
                timeout_s=timeout,
                worker=i + 1 if request.workers > 1 else 0,
                threads=threads,
                verbose=request.verbose,
            )
            for i, share in enumerate(shares(n_trials, request.workers))
        ]
        _run_workers(specs, say, opened)
    return summarise(
        opened.study, config, opened.client, opened.parent_run_id, url, time.perf_counter() - started, say
    )
