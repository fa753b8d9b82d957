"""What can go wrong when training on the cluster; each message says what to look at next."""

from __future__ import annotations

from pipelines.errors import AipError


class ClusterError(AipError):
    """kubectl missing or refused, a manifest the cluster rejects, an environment not set up for it."""


class JobFailed(ClusterError):
    """The TrainJob ended with condition Failed (the message carries its conditions)."""


class JobTimedOut(ClusterError):
    """The TrainJob was still queued (suspended by Kueue) or running when the wait ran out."""
