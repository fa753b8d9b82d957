"""`POST /v1/models/<name>[/versions/N|/labels/L]:explain`: SHAP attributions of instances.

An extension of TF Serving's REST API (TF Serving has no such method): the request is a :predict
body (`instances` or `inputs`), the answer has one explanation per instance: its label and
probabilities as :predict gives them, the expected value per class, and per class the contribution
of each feature (tabular) or token (text), in probability points (docs/serving.md).

SHAP runs the model hundreds of times per instance, so the method is limited per model
(model.yaml `environments.<env>.serving.explain`): a token bucket of explained instances
(`rate_per_second`, `burst`) and a bound on requests computed at once (`max_concurrent`); beyond
either the answer is 429 with Retry-After. Explanations run on a pool of their own, never on the
batchers' threads, and are counted as api="explain" in the request metrics; they are not sampled
for drift or the canary analysis, whose latencies they would distort.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pipelines.serving.protocol as req
from pipelines.serving._http import error_response, json_response
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    import numpy as np
    from starlette.requests import Request
    from starlette.responses import Response

    from pipelines.config.model import ExplainServing
    from pipelines.repo.layout import Repo
    from pipelines.serving._models import LoadedVersion, ModelSlot
    from pipelines.serving._service import Service

__all__ = ["ExplainEndpoint", "ExplainSetup", "RateLimited", "TokenBucket", "explain_setup"]

EXPLAIN_WORKERS = 2  # explanations computed at once across models (each holds a core)


class RateLimited(ServingError):
    """429 with the seconds after which the same request would be admitted."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(Code.RESOURCE_EXHAUSTED, message)
        self.retry_after = retry_after


class TokenBucket:
    """`rate` tokens per second up to `burst`; `take(n)` takes n or says how long until it could."""

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()
        self._lock = threading.Lock()

    def take(self, n: int) -> float:
        """0.0 when `n` tokens were taken, else the seconds until `n` are there (nothing taken)."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= n:
                self.tokens -= n
                return 0.0
            return (n - self.tokens) / self.rate


@dataclass
class ExplainSetup:
    """One model's `:explain` settings and where its tabular background comes from."""

    settings: ExplainServing
    repo: Repo | None = None
    dataset: str | None = None
    bucket: TokenBucket = field(init=False)
    inflight: int = 0

    def __post_init__(self) -> None:
        self.bucket = TokenBucket(self.settings.rate_per_second, self.settings.burst)

    def background(self, feature_names: list[str], fallback: np.ndarray | None) -> tuple[np.ndarray, str]:
        """A seeded sample of the training split when it is on disk, else the training means."""
        from pipelines.errors import AipError

        if self.repo is not None and self.dataset is not None:
            from pipelines.data import load_split
            from pipelines.explain import background_matrix

            try:
                frame = load_split(self.repo, self.dataset, "train")
                rows = background_matrix(frame, feature_names, self.settings.background_rows)
                return rows, "training split"
            except AipError:
                pass  # no prepared data on this server (an image without DVC data): the means
        if fallback is None:
            from pipelines.explain import Unexplainable

            raise Unexplainable("no training split on this server and no training means in the artifact")
        return fallback, "training means (one row; the training split is not on this server)"


def explain_setup(repo: Repo, model: str, settings: ExplainServing) -> ExplainSetup:
    return ExplainSetup(settings, repo, repo.model(model).dataset)


class ExplainEndpoint:
    """Answers :explain for the service's models; one per REST app."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.executor = ThreadPoolExecutor(EXPLAIN_WORKERS, thread_name_prefix="aip-explain")
        self._explainers: weakref.WeakKeyDictionary[LoadedVersion, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @staticmethod
    def _setup(slot: ModelSlot) -> ExplainSetup:
        setup: ExplainSetup | None = slot.explain
        if setup is None:  # a slot made without build_service (tests): the defaults
            from pipelines.config.model import ExplainServing

            setup = slot.explain = ExplainSetup(ExplainServing())
        return setup

    async def handle(
        self, request: Request, body: bytes, name: str, version: str | None, label: str | None
    ) -> Response:
        started = time.perf_counter()
        slot = self.service.manager.slot(name)
        target, assigned = slot.route(version, label)  # leased until answered
        metrics = self.service.metrics
        metrics.inflight(name, 1)
        request.state.log.update(model=name, version=target.version, label=assigned, api="rest:explain")
        headers = {"X-Model-Version": target.version, "X-Model-Label": assigned}
        code = 500
        try:
            setup = self._setup(slot)
            answer = await self._answer(setup, name, target, req.decode_json(body))
            code = 200
            return json_response(answer, headers=headers)
        except ServingError as exc:
            code = exc.code.http
            response = error_response(exc)
            response.headers.update(headers)
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
            return response
        finally:
            target.release()
            metrics.inflight(name, -1)
            metrics.request(name, target.version, assigned, "explain", code, time.perf_counter() - started)

    async def _answer(
        self, setup: ExplainSetup, name: str, target: LoadedVersion, data: Any
    ) -> dict[str, Any]:
        settings = setup.settings
        if not settings.enabled:
            raise ServingError(
                Code.PERMISSION_DENIED,
                f":explain is disabled for model {name!r} "
                f"(model.yaml environments.{self.service.env}.serving.explain.enabled: false)",
            )
        model_input = req.parse_predict(data, target.kind, target.feature_names)
        if model_input.rows > settings.max_instances:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f":explain takes at most {settings.max_instances} instances per request for model {name!r}, "
                f"got {model_input.rows} (model.yaml serving.explain.max_instances)",
            )
        if target.kind == "text":
            empty = [i for i, t in enumerate(model_input.payload) if not t.strip()]
            if empty:
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"instances[{empty[0]}]: an empty text has no token to attribute"
                )
        with self._lock:
            if setup.inflight >= settings.max_concurrent:
                raise RateLimited(
                    f":explain of model {name!r} is busy ({settings.max_concurrent} at once); retry", 1.0
                )
            wait = setup.bucket.take(model_input.rows)
            if wait > 0:
                raise RateLimited(
                    f":explain rate limit of model {name!r}: {settings.rate_per_second:g} instances/s, "
                    f"burst {settings.burst}; retry in {wait:.1f} s",
                    wait,
                )
            setup.inflight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self._explain, setup, name, target, model_input)
        finally:
            with self._lock:
                setup.inflight -= 1

    def _explainer(self, setup: ExplainSetup, name: str, target: LoadedVersion) -> Any:
        from pipelines.explain import Unexplainable, explainer_for, mean_row

        with self._lock:
            cached = self._explainers.get(target)
        if cached is not None:
            return cached
        predictor = target.predictor
        try:
            background, source = None, ""
            if predictor.kind == "tabular":
                background, source = setup.background(list(target.feature_names or []), mean_row(predictor))
            explainer = explainer_for(
                predictor, background=background, background_source=source, max_evals=setup.settings.max_evals
            )
        except Unexplainable as exc:
            raise ServingError(
                Code.UNPROCESSABLE, f"model {name!r} version {target.version} cannot be explained: {exc}"
            ) from None
        with self._lock:
            self._explainers[target] = explainer
        return explainer

    def _explain(
        self, setup: ExplainSetup, name: str, target: LoadedVersion, model_input: req.ModelInput
    ) -> dict[str, Any]:
        import numpy as np

        from pipelines.explain import Unexplainable

        explainer = self._explainer(setup, name, target)
        try:
            result = explainer.explain(model_input.payload)
        except Unexplainable as exc:
            raise ServingError(
                Code.UNPROCESSABLE, f"model {name!r} version {target.version} cannot be explained: {exc}"
            ) from None
        if not all(np.isfinite(v).all() for v in (result.proba, *list(result.values))):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "the attributions are not finite numbers: the instances are too far outside the range "
                "the model was trained on",
            )
        answer: dict[str, Any] = {
            "explanations": [result.instance(i) for i in range(model_input.rows)],
            "method": result.method,
            "output": "probability",
            "max_evals": result.max_evals,
            "seconds": round(result.seconds, 4),
        }
        if target.kind == "tabular":
            answer["background"] = {"source": result.background_source, "rows": result.background_rows}
        return answer
