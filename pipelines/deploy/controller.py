"""`aip deploy`: canary a registered version against the environment's stable, then promote or roll back.

    aip deploy tumor-classifier --env local --dry-run      # print the plan
    aip deploy tumor-classifier --env local                # the commit's version vs @local, on 127.0.0.1:8501
    aip deploy tumor-classifier --env local --version 3

What happens (pipelines/deploy/plan.py has the steps, analysis.py the checks):
1. lock the model+environment (lock.py): a second deploy is refused, naming the holder;
2. first version of the model in the environment (no alias yet): promoted directly, no canary;
3. else load the version as the canary and a fresh instance of the stable version as the baseline,
   both at weight 0 (a canary load failure is a rollback), and run the steps: set_weight (canary and
   baseline get the same share, stable the rest) / analysis of canary vs baseline (pass: next step;
   fail: roll back; inconclusive: hold and re-analyse over the growing window, abort past
   max_inconclusive) / pause (bake);
4. promote (the environment alias moves in MLflow first, then the backend moves the `stable` label;
   if the backend refuses, the alias is put back) or roll back (canary and baseline weight 0 and
   unloaded; the alias stays);
5. tag the version (`aip.deploy.<env>.*`), write the JSON report and chart, export the verdict.

On the embedded default the controller also drives the traffic (load.py) and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pipelines.deploy.analysis import IntervalResult, WindowData, analyse, bake, unavailable
from pipelines.deploy.backends import BackendError, CanaryLoadFailed, TrafficBackend
from pipelines.deploy.lock import DeployLock, RegistryLease
from pipelines.deploy.metrics import MetricsSource, MetricsUnavailable
from pipelines.deploy.plan import Plan, plan_for
from pipelines.deploy.report import write
from pipelines.deploy.result import DeployResult, Interval, Verdict
from pipelines.errors import AipError
from pipelines.observability import logs

if TYPE_CHECKING:
    from pipelines.deploy.load import LoadDriver
    from pipelines.registry.context import Context

__all__ = ["UnknownVersion", "UnregisteredFingerprint", "deploy", "pin_conflict", "resolve_version"]

VERDICT_TAG = "aip.deploy.{env}.verdict"
REPORT_TAG = "aip.deploy.{env}.report"
REASON_TAG = "aip.deploy.{env}.reason"
FINISHED_TAG = "aip.deploy.{env}.finished"
# A waiting controller sleeps in slices of this length until the interval ends; it renews its
# lease once, when the interval is over (the lease TTL covers several intervals; see `_wait`).
TICK_SECONDS = 0.5


def say(message: str) -> None:
    logs.progress(message)


class UnknownVersion(AipError):
    """The version to deploy is not registered (or the registry cannot list the versions)."""


class UnregisteredFingerprint(UnknownVersion):
    """The commit's fingerprint of the model has no registered version: nothing to deploy from it."""


def resolve_version(
    ctx: Context,
    model: str,
    version: str | None = None,
    *,
    fingerprint: str | None = None,
    unregistered: str | None = None,
) -> str:
    """The version to deploy: `version` when named, else the one registered for `fingerprint` (the
    commit's fingerprint of the model, computed by the caller: the deploy layer knows no lifecycle).

    Never "the newest": what an environment runs follows from the commit, so a revert deploys the
    older version again and a rerun after another environment registered something newer changes
    nothing. An unregistered fingerprint raises UnregisteredFingerprint with `unregistered` (the
    caller's message: which fingerprint, which commit, what to do) or a default."""
    from mlflow.exceptions import MlflowException

    if version is None and fingerprint is None:
        raise UnknownVersion(f"{model}: give --version N or the commit's fingerprint to deploy")
    if version is None:
        assert fingerprint is not None
        try:
            found = ctx.registry.version_for(model, fingerprint)
        except MlflowException as exc:
            raise UnknownVersion(
                f"{model}: cannot search the registry for fingerprint {fingerprint[:12]}: {exc}"
            ) from None
        if found is None:
            raise UnregisteredFingerprint(
                unregistered
                or f"{model}: fingerprint {fingerprint[:12]} is not registered; "
                f"run `aip run {model} --env {ctx.env}`"
            )
        return str(found.version)
    try:
        listed = ctx.client.search_model_versions(f"name = '{model}'")
    except MlflowException as exc:
        raise UnknownVersion(f"{model}: cannot list registered versions: {exc}") from None
    numbers = sorted(int(v.version) for v in listed)
    if not version.isdigit() or int(version) not in numbers:
        registered = ", ".join(map(str, numbers)) or "none"
        raise UnknownVersion(f"{model}: no version {version} in the registry (registered: {registered})")
    return str(int(version))


def pin_conflict(ctx: Context, model: str, version: str) -> str | None:
    """Why model.yaml's pin for ctx.env forbids deploying `version` now; None when it does not.

    `environments.<env>.hold: true` keeps the alias where it is; `environments.<env>.version: N`
    allows N only. A pin lives in git (ADR 0022): a deploy never overrides it, whoever asks."""
    settings = ctx.repo.model(model).environment(ctx.env)
    where = f"models/{model}/model.yaml environments.{ctx.env}"
    why = f" ({settings.reason})" if settings.reason else ""
    if settings.hold:
        return f"held by {where}.hold{why}"
    if settings.version is not None and str(settings.version) != version:
        return f"{where}.version pins v{settings.version}{why}; v{version} is not deployed"
    return None


def plan_of(ctx: Context, model: str) -> Plan:
    return plan_for(model, ctx.env, ctx.repo.model(model).environment(ctx.env).rollout)


def deploy(
    ctx: Context,
    model: str,
    version: str,
    backend: TrafficBackend | None,
    metrics: MetricsSource | None,
    *,
    load: LoadDriver | None = None,
    dry_run: bool = False,
    use_lease: bool | None = None,
    write_report: bool = True,
    after_canary_loaded: Callable[[], None] | None = None,
) -> DeployResult:
    """Deploy `version` of `model` to ctx.env; see the module docstring. Never raises on a bad canary:
    a failed load, a failed check or lost metrics end in a rollback verdict.

    `after_canary_loaded` runs once canary and baseline are loaded, before they get traffic: the
    place for fault injection in game days and in the fault suite (server faults follow the label
    and are cleared when a new canary or baseline loads)."""
    plan = plan_of(ctx, model)
    current = ctx.registry.alias_version(model, ctx.env)
    stable = str(current.version) if current is not None else None
    result = DeployResult(model, ctx.env, version, stable, "dry_run", started=time.time())
    result.thresholds = plan.thresholds.model_dump()
    result.backend = backend.describe() if backend else "none"
    result.metrics = metrics.describe() if metrics else "none"
    held = pin_conflict(ctx, model, version)
    if held is not None:  # the pin in git wins; the alias stays (a report says so: verdict held)
        say(f"==> {model}: {held}: @{ctx.env} stays on {f'v{stable}' if stable else 'no version'}")
        result.version, result.verdict, result.reason = stable or "", "held", held
        result.finished = time.time()
        return result
    if dry_run:
        if stable == version:
            say(f"==> {model}: v{version} is already @{ctx.env}: nothing to deploy")
            result.finished = time.time()
            return result
        say(plan.render(stable, version))
        if load is not None:
            say(f"    traffic: {load.describe()} (synthetic: the embedded default has no real users)")
        result.finished = time.time()
        return result
    # Lock first, then read the alias again: another deploy may have moved it while we planned.
    lock = DeployLock.for_model(ctx.repo.state_dir, model, ctx.env, version)
    lock.acquire()
    lease = None
    try:
        current = ctx.registry.alias_version(model, ctx.env)
        stable = result.stable_before = str(current.version) if current is not None else None
        if stable == version:
            say(f"==> {model}: v{version} is already @{ctx.env}: nothing to deploy")
            result.verdict = "up_to_date"
            result.reason = f"v{version} is already @{ctx.env}: nothing to deploy"
            return result
        if use_lease if use_lease is not None else not ctx.client.tracking_uri.startswith("sqlite:"):
            ttl = max(600.0, 3.0 * plan.nominal_seconds)
            lease = RegistryLease(ctx.client, model, ctx.env, lock.holder, ttl_seconds=ttl)
            lease.acquire()
        if stable is None:
            _promote_directly(ctx, result, backend)
        else:
            if backend is None or metrics is None:
                raise BackendError(f"{model}: a canary needs a traffic backend and a metrics source")
            _rollout(ctx, plan, result, backend, metrics, load, lease, after_canary_loaded)
    finally:
        result.finished = time.time()
        if lease is not None:
            lease.release()
        lock.release()
    if result.verdict != "up_to_date":
        _record_outcome(ctx, result, backend, write_report)
    return result


def _promote_directly(ctx: Context, result: DeployResult, backend: TrafficBackend | None) -> None:
    say(
        f"==> {result.model}: v{result.version} is the first version @{ctx.env}: "
        "promoted directly (no canary)"
    )
    ctx.registry.set_alias(result.model, ctx.env, result.version)
    result.verdict, result.reason = (
        "promoted_directly",
        "first version in the environment: nothing to compare with",
    )
    if backend is None:
        return
    try:
        status = backend.status(result.model)
    except BackendError:
        return  # nothing serves yet; a server started from now on loads the alias
    if status.stable is not None and status.stable != result.version:
        say(
            f"    {result.model}: the running server serves v{status.stable}; "
            f"restart it to serve v{result.version}"
        )


def _wait(seconds: float, lease: RegistryLease | None) -> None:
    """Sleep `seconds`, then renew the lease (once per interval: the TTL covers several)."""
    deadline = time.time() + seconds
    while (left := deadline - time.time()) > 0:
        time.sleep(min(TICK_SECONDS, left))
    if lease is not None:
        lease.renew()


def _windows(
    metrics: MetricsSource, model: str, stable: str, canary: str, start: float, end: float
) -> tuple[WindowData, WindowData, WindowData] | str:
    """(canary, baseline, stable) over [start, end); the baseline runs the stable's version."""
    try:
        return (
            metrics.window(model, "canary", canary, start, end),
            metrics.window(model, "baseline", stable, start, end),
            metrics.window(model, "stable", stable, start, end),
        )
    except MetricsUnavailable as exc:
        return f"metrics source down: {exc}"


def _since_first(
    metrics: MetricsSource,
    model: str,
    stable: str,
    canary: str,
    first: float | None,
    start: float,
    end: float,
) -> tuple[WindowData, WindowData] | str | None:
    """Canary and baseline since the first analysis step (None when that is this step)."""
    if first is None or first >= start:
        return None
    windows = _windows(metrics, model, stable, canary, first, end)
    return windows if isinstance(windows, str) else (windows[0], windows[1])


def _track(name: str, w: WindowData) -> str:
    extra = "".join(f" {n} {label}" for n, label in ((w.client_errors, "4xx"), (w.shed, "429")) if n)
    return f"{name} {w.requests} req {w.errors} err{extra} p95 {w.quantile(0.95) * 1000:.1f} ms"


def _one_line(outcome: IntervalResult) -> str:
    bad = outcome.failed() or outcome.inconclusive()
    why = "; ".join(f"{x.check}: {x.detail}" for x in bad[:3])
    tracks = [_track("canary", outcome.canary)]
    if outcome.baseline.requests:
        tracks.append(_track("baseline", outcome.baseline))
    head = " | ".join(tracks)
    return head + (f" -- {why}" if why else "")


def _rollout(
    ctx: Context,
    plan: Plan,
    result: DeployResult,
    backend: TrafficBackend,
    metrics: MetricsSource,
    load: LoadDriver | None,
    lease: RegistryLease | None,
    after_canary_loaded: Callable[[], None] | None,
) -> None:
    model, version, stable = result.model, result.version, str(result.stable_before)
    env = ctx.env
    say(f"==> {model}: canary v{version} against a baseline of stable v{stable} @{env}")
    say(f"    traffic backend: {result.backend}")
    say(f"    metrics: {result.metrics}")
    status = backend.status(model)
    if status.stable is None:
        raise BackendError(
            f"{model}: the server does not serve {model}; start it with `aip serve --env {env}` "
            f"(it loads @{env} = v{stable} as stable)"
        )
    if status.stable != stable:
        raise BackendError(
            f"{model}: the server's stable is v{status.stable} but @{env} is v{stable}; restart "
            f"`aip serve --env {env}` so that stable and the alias agree before a canary"
        )
    if status.canary is not None:
        say(f"    {model}: removing a leftover canary v{status.canary} (no deploy holds the lock)")
        backend.rollback(model)

    def set_weight(percent: int) -> None:
        baseline = plan.baseline_percent(percent)
        backend.set_weight(model, percent / 100, baseline / 100)
        result.weights.append((time.time(), percent))
        backend.record({"model": model, "env": env, "kind": "weight", "weight": percent / 100})

    def stop(verdict: Verdict, reason: str) -> None:
        """End before any traffic reached the canary: nothing to analyse, stable untouched."""
        result.verdict, result.reason = verdict, reason
        result.events.append((time.time(), verdict))
        say(f"    {verdict.upper().replace('_', ' ')}: {reason}")
        backend.rollback(model)

    say(f"    load canary v{version}")
    try:
        backend.load_canary(model, version)
    except CanaryLoadFailed as exc:
        return stop("rolled_back", f"canary failed to load: {exc}")
    say(f"    load baseline v{stable} (a fresh instance of the stable version, compared with the canary)")
    try:
        backend.load_baseline(model)
    except BackendError as exc:
        # Not the canary's fault, but without a baseline there is nothing fair to compare with.
        return stop("aborted", f"the baseline could not start: {exc}")
    result.baseline_version = stable
    result.weights.append((time.time(), 0))
    result.events.append((time.time(), "canary_loaded"))
    if after_canary_loaded is not None:
        after_canary_loaded()
    if load is not None:
        result.load = load.describe() + " (synthetic traffic: the embedded default has no real users)"
        say(f"    traffic: {result.load}")
        load.start()
    try:
        verdict, reason = _run_steps(plan, result, backend, metrics, lease, set_weight)
        if verdict == "promoted":
            verdict, reason = _promote(ctx, result, backend, reason)
        else:
            backend.rollback(model)
            result.weights.append((time.time(), 0))
        result.events.append((time.time(), verdict))
        result.verdict, result.reason = verdict, reason
    except BaseException as exc:
        # Anything unexpected (backend error, Ctrl-C) leaves the stable serving everything.
        result.verdict, result.reason = "aborted", f"{type(exc).__name__}: {exc}"
        result.events.append((time.time(), "aborted"))
        try:
            backend.rollback(model)
        except BackendError as cleanup:
            result.reason += f"; rollback also failed: {cleanup}"
        if not isinstance(exc, BackendError):
            raise
    finally:
        if load is not None:
            load.stop()
            result.client_summary = load.summary(since=result.started)
    say(f"    {result.verdict.upper().replace('_', ' ')}: {result.reason}")


def _promote(ctx: Context, result: DeployResult, backend: TrafficBackend, reason: str) -> tuple[Verdict, str]:
    """Alias first, then the backend: each step can be undone if the next one fails.

    The registry is the likelier to fail (a remote server); if the alias cannot move, the backend
    never promoted and the canary is rolled back. If the backend then refuses, the alias goes back,
    so the environment never ends half promoted."""
    model, version, env, stable = result.model, result.version, ctx.env, str(result.stable_before)
    say(f"    promote v{version}: alias @{env}, then label 'stable'")
    try:
        ctx.registry.set_alias(model, env, version)
    except Exception as exc:
        backend.rollback(model)
        result.weights.append((time.time(), 0))
        return "aborted", (
            f"every analysis passed, but the alias @{env} could not be set ({type(exc).__name__}: {exc}); "
            f"canary rolled back, v{stable} keeps serving as stable"
        )
    try:
        backend.promote(model)
    except BackendError as exc:
        why = f"every analysis passed, but the backend refused the promotion ({exc})"
        try:
            ctx.registry.set_alias(model, env, stable)
            why += f"; alias @{env} put back to v{stable}"
        except Exception as undo:
            why += f"; putting alias @{env} back to v{stable} also failed: {undo}"
        backend.rollback(model)
        result.weights.append((time.time(), 0))
        return "aborted", why
    result.weights.append((time.time(), 0))
    return "promoted", reason


def _run_steps(
    plan: Plan,
    result: DeployResult,
    backend: TrafficBackend,
    metrics: MetricsSource,
    lease: RegistryLease | None,
    set_weight: Any,
) -> tuple[Verdict, str]:
    model, version, stable, env = result.model, result.version, str(result.stable_before), result.env
    t = plan.thresholds
    n = len(plan.steps)
    first_analysis: float | None = None  # rate checks accumulate evidence from here on
    for index, step in enumerate(plan.steps, 1):
        prefix = f"    [{index}/{n}]"
        if step.kind == "set_weight":
            say(f"{prefix} {step.describe()}")
            set_weight(step.value)
            continue
        start = time.time()
        if step.kind == "analysis" and first_analysis is None:
            first_analysis = start
        attempt = 0
        while True:
            attempt += 1
            hold = f" (hold {attempt - 1})" if attempt > 1 else ""
            say(f"{prefix} {step.describe()}{hold}")
            _wait(step.value, lease)
            end = time.time()
            windows = _windows(metrics, model, stable, version, start, end)
            if isinstance(windows, str):
                outcome = unavailable(windows)
            elif step.kind == "analysis":
                since = _since_first(metrics, model, stable, version, first_analysis, start, end)
                if isinstance(since, str):
                    outcome = unavailable(since)
                else:
                    outcome = analyse(windows[0], windows[1], t, stable=windows[2], since_first=since)
            else:
                outcome = bake(windows[0], t, stable=windows[2])
            for check in outcome.checks:
                if check.result == "skipped":
                    continue
                backend.record(
                    {
                        "model": model,
                        "env": env,
                        "kind": "analysis",
                        "check": check.check,
                        "result": check.result,
                    }
                )
            kind: Literal["analysis", "pause"] = "analysis" if step.kind == "analysis" else "pause"
            result.intervals.append(
                Interval(index, kind, step.weight, start, end, attempt, outcome.result, outcome.as_dict())
            )
            say(f"{prefix}   {outcome.result}: {_one_line(outcome)}")
            if outcome.result == "pass":
                break
            if outcome.result == "fail":
                failed = "; ".join(f"{c.check}: {c.detail}" for c in outcome.failed())
                return "rolled_back", f"step {index} ({step.describe()}) failed: {failed}"
            if attempt > t.max_inconclusive:
                why = "; ".join(f"{c.check}: {c.detail}" for c in outcome.inconclusive()[:2])
                return (
                    "aborted",
                    f"step {index} inconclusive {attempt} times in a row (max_inconclusive "
                    f"{t.max_inconclusive}): {why}",
                )
    return "promoted", f"every analysis passed ({sum(1 for s in plan.steps if s.kind == 'analysis')} steps)"


def _record_outcome(
    ctx: Context, result: DeployResult, backend: TrafficBackend | None, write_report: bool
) -> None:
    if write_report and result.verdict not in ("up_to_date", "dry_run"):
        result.report, result.chart = write(ctx.repo.state_dir, result)
    tags = {
        VERDICT_TAG.format(env=ctx.env): result.verdict,
        REASON_TAG.format(env=ctx.env): result.reason[:4900],
        FINISHED_TAG.format(env=ctx.env): time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result.finished)),
    }
    if result.report is not None:
        tags[REPORT_TAG.format(env=ctx.env)] = str(result.report)
    for key, value in tags.items():
        ctx.client.set_model_version_tag(result.model, result.version, key, value)
    if backend is not None and result.verdict in ("promoted", "rolled_back", "aborted"):
        backend.record({"model": result.model, "env": ctx.env, "kind": "verdict", "verdict": result.verdict})
