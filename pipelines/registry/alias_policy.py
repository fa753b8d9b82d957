"""Who may move which registry alias: the policy file of the MLflow server's alias guard.

One registry serves every environment and an environment is an alias (docs/adr/0002), while MLflow's
own permissions are per registered model: whoever may edit a model may move its `@prod`. The guard
(`server_auth.py`) adds the missing dimension, per alias, from a file like
`infra/k8s/mlflow/registry-auth.yaml`:

    aliases:                      # alias -> the registry users that may set or delete it
      prod: [aip-deploy-prod]     # the prod deploy role's MLflow user
      staging: [aip-deploy-staging]
      dev: [aip-deploy-dev]
    other_aliases: deny           # aliases not listed: deny (default) or allow
    break_glass: admins           # admins (default): MLflow admins may move any alias, logged as
                                  # break_glass; none: nobody outside the lists, ever

Alias names compare case-insensitively (`PROD` is guarded like `prod`). The file is read once, at
server start; a bad file stops the server with the file, the field and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipelines.errors import AipError

__all__ = ["POLICY_ENV", "AliasPolicy", "Decision", "PolicyError", "load_policy", "parse_policy"]

POLICY_ENV = "AIP_REGISTRY_AUTH_POLICY"  # path of the policy file the MLflow server reads
Outcome = Literal["allowed", "break_glass", "denied"]
_KEYS = {"aliases", "other_aliases", "break_glass"}


class PolicyError(AipError):
    """The policy file is missing or malformed."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str  # one line, sent to the client with a 403 and logged

    @property
    def allowed(self) -> bool:
        return self.outcome != "denied"


@dataclass(frozen=True)
class AliasPolicy:
    aliases: dict[str, frozenset[str]]  # lower-case alias -> users allowed to move it
    other_aliases: Literal["allow", "deny"] = "deny"
    break_glass: Literal["admins", "none"] = "admins"

    def decide(self, user: str, is_admin: bool, alias: str) -> Decision:
        """May `user` set or delete `alias` (on any registered model)?"""
        allowed = self.aliases.get(alias.lower())
        if allowed is None:
            if self.other_aliases == "allow":
                return Decision("allowed", f"alias {alias!r} is not guarded (other_aliases: allow)")
            return Decision(
                "denied", f"alias {alias!r} is not in the registry alias policy (other_aliases: deny)"
            )
        if user in allowed:
            return Decision("allowed", f"{user} may move @{alias}")
        if is_admin and self.break_glass == "admins":
            return Decision("break_glass", f"admin {user} moved @{alias} outside the policy (break-glass)")
        who = ", ".join(sorted(allowed)) or "nobody"
        return Decision("denied", f"user {user!r} may not move @{alias}; the policy allows: {who}")


def parse_policy(data: Any, source: str) -> AliasPolicy:
    """Validate the decoded YAML; errors name `source`, the field and what was expected."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping with keys {', '.join(sorted(_KEYS))}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise PolicyError(
            f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    aliases = data.get("aliases")
    if not isinstance(aliases, dict) or not aliases:
        raise PolicyError(f"{source}: 'aliases' must be a non-empty mapping of alias -> list of users")
    parsed: dict[str, frozenset[str]] = {}
    for alias, users in aliases.items():
        if not isinstance(alias, str) or not alias.strip():
            raise PolicyError(f"{source}: aliases: {alias!r} is not an alias name")
        if not isinstance(users, list) or not all(isinstance(u, str) and u.strip() for u in users):
            raise PolicyError(f"{source}: aliases.{alias}: expected a list of user names, got {users!r}")
        if alias.lower() in parsed:
            raise PolicyError(f"{source}: aliases.{alias}: listed twice (names compare case-insensitively)")
        parsed[alias.lower()] = frozenset(u.strip() for u in users)
    other = data.get("other_aliases", "deny")
    if other not in ("allow", "deny"):
        raise PolicyError(f"{source}: other_aliases: expected allow or deny, got {other!r}")
    glass = data.get("break_glass", "admins")
    if glass not in ("admins", "none"):
        raise PolicyError(f"{source}: break_glass: expected admins or none, got {glass!r}")
    return AliasPolicy(parsed, other, glass)


def load_policy(path: str | Path) -> AliasPolicy:
    import yaml  # PyYAML: an MLflow dependency, so the server image has it

    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read the registry alias policy ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{file}: not valid YAML: {exc}") from None
    return parse_policy(data, str(file))
