"""What the REST and gRPC fronts share: auth, routing a call to a version, and accounting for it."""

from __future__ import annotations

import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.serving._logging import event
from pipelines.serving._models import LABELS, Fault, LoadedVersion, ModelSlot
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from pipelines.monitoring.sink import Sampler
    from pipelines.prompts import Assistant
    from pipelines.repo.layout import Repo
    from pipelines.serving._metrics import ServerMetrics
    from pipelines.serving._registry import ModelManager

__all__ = ["Call", "ServedPrompts", "Service", "version_status"]

CHAT_WORKERS = 4  # threads that run non-streamed chat answers (the local generator serialises them, a
# remote one does not); each stream runs on a thread of its own (pipelines/serving/_chat.py)


@dataclass
class Call:
    """One predict/classify request routed to a leased version."""

    slot: ModelSlot
    target: LoadedVersion
    label: str
    api: str
    started: float
    fault: Fault | None
    code: int = 500
    classes: list[str] | None = field(default=None)

    def injected_error(self) -> ServingError | None:
        """The error fault injection answers this call with (500, 400 or 429), or None."""
        code = self.fault.draw(self.slot.rng) if self.fault is not None else None
        return ServingError(code, "injected fault") if code is not None else None

    @property
    def extra_latency(self) -> float:
        return self.fault.extra_latency_ms / 1000 if self.fault is not None else 0.0


@dataclass
class ServedPrompts:
    """The assistants a server answers chat requests for, by prompt name, and the pool their answers
    run on (so a slow answer never holds the event loop, nor the pool model loads use)."""

    assistants: dict[str, Assistant]
    repo: Repo | None = None  # where questions are sampled: the sink of (repo, env); None: not sampled
    env: str = ""
    loaded_at: int = field(default_factory=lambda: int(time.time()))
    inflight: int = 0  # chat requests being answered or queued (event-loop thread only)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CHAT_WORKERS, thread_name_prefix="aip-chat")
    )
    _sampler: Sampler | None = None
    _sampling_failed: bool = False

    def sampler(self, counter: Any) -> Sampler | None:
        """The questions' sampler, made on first use (its own writer thread and part files, under
        model=<prompt>: the models' sampler never writes there); None when sampling is off or broke."""
        if self._sampler is None and self.repo is not None and not self._sampling_failed:
            from pipelines.monitoring.sink import Sampler, SampleSink, sink_uri

            try:
                self._sampler = Sampler(SampleSink(sink_uri(self.repo, self.env)), {}, counter=counter)
            except Exception as exc:  # a sink that cannot be opened must not fail answers
                self._sampling_failed = True
                event("question_sampling_disabled", logging.WARNING, error=f"{type(exc).__name__}: {exc}")
        return self._sampler

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._sampler is not None:
            self._sampler.close()


@dataclass
class Service:
    manager: ModelManager
    metrics: ServerMetrics
    env: str
    auth_token: str | None = None
    admin_token: str | None = None
    admin_token_env: str = "AIP_ADMIN_TOKEN"
    fault_injection: bool = False
    max_body_bytes: int = 10 * 1024 * 1024
    prompts: ServedPrompts | None = None  # the chat assistants (POST /v1/chat/completions); None: none

    # ---- auth --------------------------------------------------------------------------
    # Every refusal is counted by route class (aip_serving_auth_failures_total): the security alerts
    # watch for spikes of 401/403 on the model and the admin API (dashboards/alerts/security.rules.yml).
    def check_auth(self, header: str | None) -> None:
        if self.auth_token is not None and not _bearer_matches(header, self.auth_token):
            self.metrics.auth_failure("model", Code.UNAUTHENTICATED.http)
            raise ServingError(
                Code.UNAUTHENTICATED, "missing or wrong bearer token (Authorization: Bearer ...)"
            )

    def check_admin(self, header: str | None) -> None:
        if self.admin_token is None:
            self.metrics.auth_failure("admin", Code.PERMISSION_DENIED.http)
            raise ServingError(
                Code.PERMISSION_DENIED,
                f"the admin API is disabled: set the environment variable {self.admin_token_env} "
                "to a token before starting `aip serve` (or choose the variable with --admin-token-env)",
            )
        if not _bearer_matches(header, self.admin_token):
            self.metrics.auth_failure("admin", Code.UNAUTHENTICATED.http)
            raise ServingError(Code.UNAUTHENTICATED, "missing or wrong admin bearer token")

    # ---- a call ------------------------------------------------------------------------
    def begin(self, model: str, version: str | None, label: str | None, api: str) -> Call:
        """Route to a version and lease it; the caller must call `end` exactly once."""
        started = time.perf_counter()
        slot = self.manager.slot(model)
        target, assigned = slot.route(version, label)
        self.metrics.inflight(model, 1)
        return Call(slot, target, assigned, api, started, slot.fault(assigned) if assigned else None)

    def end(self, call: Call) -> float:
        latency = time.perf_counter() - call.started
        call.target.release()
        model, version = call.slot.name, call.target.version
        self.metrics.inflight(model, -1)
        self.metrics.request(model, version, call.label, call.api, call.code, latency)
        if call.classes:
            self.metrics.predictions(model, version, call.label, call.classes)
        call.slot.record(call.target, call.label, call.code, latency, call.classes)
        return latency

    # ---- status ------------------------------------------------------------------------
    def ready(self) -> tuple[bool, list[str]]:
        """Ready when every served model's stable version is available and something is served.

        Prompts are loaded (LLM, embedder, index) and warmed before the server listens, so a server
        that serves them is only reachable, let alone ready, once they can answer."""
        if self.manager.slots:
            return self.manager.ready()
        if self.prompts is not None and self.prompts.assistants:
            return True, []
        return False, ["no model or prompt is served"]

    def close(self) -> None:
        self.manager.close()
        if self.prompts is not None:
            self.prompts.close()

    def status(self, model: str, version: str | None, label: str | None) -> list[dict[str, Any]]:
        slot = self.manager.slot(model)
        with slot.lock:
            if label is not None or version is not None:
                try:
                    target, _ = slot._pick(version, label)
                    versions = [target.version]
                except ServingError as exc:
                    if version is None or version not in slot.status or exc.code is Code.INVALID_ARGUMENT:
                        raise
                    versions = [str(int(version))]
            else:
                versions = sorted(slot.status, key=int, reverse=True)
            return [version_status(v, slot.status[v].state, slot.status[v].error) for v in versions]

    def fault_labels(self) -> tuple[str, ...]:
        return LABELS


def version_status(version: str, state: str, error: str) -> dict[str, Any]:
    return {
        "version": version,
        "state": state,
        "status": {"error_code": "UNKNOWN" if error else "OK", "error_message": error},
    }


def _bearer_matches(header: str | None, token: str) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())
