"""Start the model server: load each model's stable version, then serve REST (and gRPC) until SIGTERM.

    aip serve                                    # every model and prompt with the default env's alias
    aip serve --env dev --no-prompts             # models only: no LLM, no embedder loaded
    aip serve --env dev --models tumor-classifier --grpc-port 0
    aip serve --models topic-classifier --version 3 --runtime torch   # a pinned version (benchmarks)
    MODEL_NAME=tumor-classifier MODEL_VERSION=4 MODEL_LABEL=canary AIP_ENV=prod aip serve   # a canary pod

The flags and the environment variables that feed them: pipelines/serving/contract.py.

Prompts (`POST /v1/chat/completions`, pipelines/serving/_chat.py): every prompt with the environment's
alias, loaded and warmed (LLM, embedder, vector index) before the server listens, like the models, so
/readyz is never green before the assistant can answer. A server whose models are named (`--models`,
MODEL_NAME: a model's own Deployment, a canary pod) serves no prompt unless `--prompts` names some; a
server whose prompts are named (`--prompts A,B`, the cluster's prompt-server) serves no model unless
`--models` names some.

Shutdown (SIGTERM or Ctrl-C): stop accepting, let in-flight requests finish (up to `grace_seconds`),
drain the batching queues, exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.serving._logging import configure, event
from pipelines.serving.contract import LABELS, resolve_device
from pipelines.serving.errors import ServeError

if TYPE_CHECKING:
    from pipelines.prompts import Assistant
    from pipelines.repo.layout import Repo
    from pipelines.serving._service import ServedPrompts, Service

__all__ = ["ServeError", "ServeOptions", "build_service", "run_server"]


DEFAULT_GRPC_PORT = 8500  # TF Serving's


@dataclass
class ServeOptions:
    env: str | None = None
    models: list[str] = field(default_factory=list)  # empty: every model holding the env's alias
    version: str | None = None  # serve this version instead of the alias's (exactly one model)
    label: str = "stable"  # the track this server is: stable, canary or baseline (its requests' label)
    device: str = "auto"  # auto: cuda when torch sees a GPU, else cpu
    origin: dict[str, str] = field(default_factory=dict)  # option -> flag or variable it came from
    runtime: str | None = None  # CPU runtime for every model; None: each model.yaml's serving.runtime
    host: str = "127.0.0.1"
    rest_port: int = 8501  # TF Serving's REST port
    grpc_port: int | None = None  # TF Serving's gRPC port; 0 disables; None: 8500 if the grpc extra is in
    max_body_bytes: int = 10 * 1024 * 1024  # larger bodies answer 413
    auth_token_env: str | None = None  # predict needs `Bearer $VAR` when set
    admin_token_env: str = "AIP_ADMIN_TOKEN"  # admin API disabled (403) while the variable is unset
    enable_fault_injection: bool = False  # chaos endpoints for tests and game days; never in prod
    grace_seconds: float = 30.0  # how long shutdown waits for in-flight requests
    seed: int | None = None  # traffic-split randomness (tests)
    prompts: list[str] | None = None  # None: every prompt with the env's alias, none if --models is given
    no_prompts: bool = False  # serve no prompt: the LLM and the embedder are never loaded


def _token(var: str | None, what: str) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is not None and not value.strip():
        raise ServeError(f"{what}: environment variable {var} is set but empty")
    return value


def build_service(repo: Repo, options: ServeOptions, progress: Callable[[str], None] = print) -> Service:
    """Load every model's stable version and return the service the fronts share."""
    from pipelines.serving._explain import explain_setup
    from pipelines.serving._metrics import ServerMetrics
    from pipelines.serving._registry import LoadError, ModelManager, RegistryLoader
    from pipelines.serving._service import Service

    env, _ = repo.environment(options.env)
    if options.enable_fault_injection and env == "prod":
        raise ServeError(
            "--enable-fault-injection is refused with --env prod (it is for tests and game days)"
        )
    if options.auth_token_env and _token(options.auth_token_env, "--auth-token-env") is None:
        raise ServeError(f"--auth-token-env {options.auth_token_env}: that environment variable is not set")

    def named(option: str, value: str) -> str:
        source = options.origin.get(option, f"--{option}")
        return f"{source} {value}" if source.startswith("--") else f"{source}={value}"

    known = repo.model_names()
    unknown = [m for m in options.models if m not in known]
    if unknown:
        source = options.origin.get("models", "--models")
        raise ServeError(f"unknown model(s) {', '.join(unknown)} ({source}); models/ has: {', '.join(known)}")
    if options.label not in LABELS:
        raise ServeError(f"{named('label', options.label)}: expected one of {', '.join(LABELS)}")
    if options.version is not None and (len(options.models) != 1 or not options.version.isdigit()):
        raise ServeError(
            f"{named('version', options.version)}: takes a registry version number and exactly one model "
            "in --models (MODEL_NAME)"
        )
    if options.version is None and options.label != "stable":
        raise ServeError(
            f"{named('label', options.label)}: a {options.label} server serves a pinned version; "
            "set MODEL_VERSION (or --version)"
        )
    from pipelines.artifacts.runtime import RUNTIMES

    if options.runtime is not None and options.runtime not in RUNTIMES:
        raise ServeError(f"--runtime {options.runtime}: choose from {', '.join(RUNTIMES)}")
    device = resolve_device(options.device, options.origin.get("device", "--device"))
    if device == "cuda" and options.runtime not in (None, "torch"):
        if options.device == "cuda":
            raise ServeError(
                f"{named('device', 'cuda')} with --runtime {options.runtime}: the ONNX runtimes are CPU "
                "runtimes; use --runtime torch on a GPU, or --device cpu"
            )
        device = "cpu"  # auto: the explicit CPU runtime wins
    loader = RegistryLoader.open(repo, env, options.runtime, device)
    metrics = ServerMetrics()
    manager = ModelManager(loader, metrics, seed=options.seed)
    if options.version is not None:
        registered = loader.versions(options.models[0])
        if options.version not in registered:
            raise ServeError(
                f"{named('version', options.version)}: {options.models[0]} has no version "
                f"{options.version} in the registry of environment {env!r}; registered: "
                f"{', '.join(registered) or 'none'}"
            )
    progress(f"device {device} ({named('device', options.device)}); track {options.label}")
    # Naming prompts without models makes a prompts-only server (infra/k8s/base/prompt-server): naming one
    # kind of thing serves only that kind, as naming models serves no prompt.
    wanted = options.models or ([] if options.prompts else known)
    for name in wanted:
        version = options.version or loader.alias_version(name)
        if version is None:
            if options.models:
                raise ServeError(
                    f"{name} has no registry alias '{env}' (no version registered for this environment); "
                    f"run `aip run {name} --env {env}` first"
                )
            progress(f"warning: skipping {name}: no registry alias '{env}'")
            event("model_skipped", logging.WARNING, model=name, reason=f"no alias {env}")
            continue
        source = f"pinned by {named('version', version)}" if options.version else f"alias '{env}'"
        serving = repo.model(name).environment(env).serving
        runtime = loader.runtime_of(name)
        progress(
            f"loading {name} version {version} ({source}, runtime {runtime}, {device}) as {options.label} ..."
        )
        slot = manager.add_model(name, serving.batching, options.label)
        slot.explain = explain_setup(repo, name, serving.explain)  # :explain limits (serving/_explain.py)
        try:
            manager.load_stable(name, version)
        except LoadError as exc:
            raise ServeError(f"cannot serve {name}: {exc}") from None
        event("model_loaded", model=name, version=version, label=options.label, runtime=runtime)
    prompts = load_prompts(repo, env, options, progress)
    if not manager.slots and prompts is None:
        raise ServeError(f"no model or prompt has a registry alias '{env}'; run `aip run --env {env}` first")
    return Service(
        manager=manager,
        metrics=metrics,
        env=env,
        auth_token=_token(options.auth_token_env, "--auth-token-env"),
        admin_token=_token(options.admin_token_env, "--admin-token-env"),
        admin_token_env=options.admin_token_env,
        fault_injection=options.enable_fault_injection,
        max_body_bytes=options.max_body_bytes,
        prompts=prompts,
    )


def load_prompts(
    repo: Repo, env: str, options: ServeOptions, progress: Callable[[str], None] = print
) -> ServedPrompts | None:
    """The prompts to answer for (pipelines.prompts.load_assistants), each warmed up; None: none.

    Loaded at startup rather than on the first request: the first answer would otherwise wait for
    the LLM and the embedder to load, and /readyz would be green before the assistant can answer."""
    if options.no_prompts:
        if options.prompts:
            raise ServeError("--prompts and --no-prompts contradict each other; give one")
        return None
    if options.prompts is None and (options.models or options.version is not None):
        progress("prompts: none (--models names this server's models; --prompts A,B serves some too)")
        return None
    from pipelines.errors import AipError
    from pipelines.prompts import load_assistants
    from pipelines.serving._service import ServedPrompts

    try:
        assistants = load_assistants(repo, env)
    except AipError as exc:
        raise ServeError(f"cannot serve prompts: {exc} (serve models only with --no-prompts)") from None
    if options.prompts:
        unknown = sorted(set(options.prompts) - set(assistants))
        if unknown:
            raise ServeError(
                f"--prompts {', '.join(unknown)}: no such prompt with a registry alias '{env}'; "
                f"served here: {', '.join(sorted(assistants)) or 'none'}"
            )
        assistants = {name: assistants[name] for name in options.prompts}
    if not assistants:
        progress(f"prompts: none has a registry alias '{env}'")
        return None
    for name, assistant in sorted(assistants.items()):
        progress(f"loading prompt {name} version {assistant.version} (alias '{assistant.label}') ...")
        try:
            warm_up(assistant)
        except AipError as exc:
            if type(exc).__name__ != "GeneratorUnavailable":  # an endpoint down: answered 503 per request
                raise ServeError(
                    f"cannot serve prompt {name}: {exc} (--no-prompts serves models only)"
                ) from None
            progress(f"warning: prompt {name}: {exc}; its requests answer 503 until the endpoint is back")
            event("prompt_generator_unavailable", logging.WARNING, prompt=name, error=str(exc))
        event("prompt_loaded", prompt=name, version=str(assistant.version), label=str(assistant.label))
    return ServedPrompts(assistants, repo=repo, env=env)


def warm_up(assistant: Assistant) -> None:
    """Load what the first answer would: the embedder, the vector index and the generator."""
    assistant.answer([{"role": "user", "content": "How do I add a model?"}], max_tokens=1)


def run_server(repo: Repo, options: ServeOptions, progress: Callable[[str], None] = print) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code."""
    import uvicorn

    from pipelines.serving._rest import build_app

    configure(options.env or repo.platform.default_environment)
    if options.max_body_bytes < 1:
        raise ServeError("--max-body-bytes must be at least 1")
    service = build_service(repo, options, progress)
    grpc_server: Any = None
    grpc_port = options.grpc_port
    if grpc_port is None:
        import importlib.util

        grpc_port = DEFAULT_GRPC_PORT if importlib.util.find_spec("tensorflow_serving") else 0
        if not grpc_port:
            progress("warning: gRPC off: the `grpc` extra is not installed (pip install -e '.[grpc]')")
    if grpc_port:
        from pipelines.serving._grpc import start_grpc

        grpc_server = start_grpc(service, options.host, grpc_port)
    app = build_app(service)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.rest_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(options.grace_seconds),
        lifespan="off",
        server_header=False,
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit:
                event("shutdown_started", signal=sig)
                if grpc_server is not None:
                    grpc_server.stop(options.grace_seconds)  # health NOT_SERVING, then drain
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM and sig in self._captured_signals:
                # uvicorn re-raises captured signals after shutdown, which would kill the process
                # before the batchers drain: SIGTERM is the orderly stop, so exit 0 instead.
                self._captured_signals.remove(sig)

    server = Server(config)
    models = ", ".join(
        [f"{n} v{s.stable.version} ({s.track})" for n, s in service.manager.slots.items() if s.stable]
        + [
            f"prompt {n} v{a.version}"
            for n, a in (service.prompts.assistants if service.prompts else {}).items()
        ]
    )
    progress(
        f"serving {models}: REST http://{options.host}:{options.rest_port}"
        + (f", gRPC {options.host}:{grpc_port}" if grpc_server is not None else "")
        + (", admin API on" if service.admin_token else f", admin API off (set {options.admin_token_env})")
    )
    try:
        server.run()
    finally:
        service.close()
        if grpc_server is not None:
            grpc_server.stop(options.grace_seconds).wait()
        event("shutdown_complete")
    return 0 if server.started else 1
