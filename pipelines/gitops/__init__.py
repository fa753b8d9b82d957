"""GitOps: the environment-branch guard, the workflow house rules, and the helpers CI steps call.

    aip guard pr --base env/prod --head main     a PR into env/* must come from main or the previous env
    aip guard branch env/staging --main main     an environment branch holds no commit main lacks
    aip guard workflows                          the house rules actionlint and zizmor do not check
    aip ci plan | smoke | comment | ...          one command per workflow step (docs/gitops.md)

Every helper also runs on a laptop; outside GitHub Actions it prints what it would write.
"""

from __future__ import annotations

from pipelines.errors import AipError

__all__ = ["GuardError"]


class GuardError(AipError):
    """A GitOps rule is broken; the message says which, where, and what was expected."""
