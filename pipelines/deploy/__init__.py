"""Progressive canary deploys: plan, traffic backends, metrics sources, analysis, lock, report.

`aip deploy MODEL --env ENV` (controller.py) canaries a registered version against the environment's
stable and promotes it (the alias and the `stable` label move) or rolls it back (canary weight 0,
alias unchanged). docs/deploy.md explains the steps and the checks; docs/adr/0008 why.
Importing this package is cheap: numpy, scipy, matplotlib and mlflow load inside the functions.
"""

from pipelines.deploy.analysis import CheckResult, IntervalResult, WindowData, analyse
from pipelines.deploy.backends import (
    BackendError,
    BackendStatus,
    CanaryLoadFailed,
    KubernetesBackend,
    LiveKubectl,
    LocalServerBackend,
    OfflineKubectl,
    TrafficBackend,
)
from pipelines.deploy.controller import UnknownVersion, deploy, resolve_version
from pipelines.deploy.lock import DeployLock, LockHeld, RegistryLease
from pipelines.deploy.metrics import LocalSamplesSource, MetricsSource, MetricsUnavailable, PrometheusSource
from pipelines.deploy.plan import Plan, PlanError, plan_for
from pipelines.deploy.result import DeployResult

__all__ = [
    "BackendError",
    "BackendStatus",
    "CanaryLoadFailed",
    "CheckResult",
    "DeployLock",
    "DeployResult",
    "IntervalResult",
    "KubernetesBackend",
    "LiveKubectl",
    "LocalSamplesSource",
    "LocalServerBackend",
    "LockHeld",
    "MetricsSource",
    "MetricsUnavailable",
    "OfflineKubectl",
    "Plan",
    "PlanError",
    "PrometheusSource",
    "RegistryLease",
    "TrafficBackend",
    "UnknownVersion",
    "WindowData",
    "analyse",
    "deploy",
    "plan_for",
    "resolve_version",
]
