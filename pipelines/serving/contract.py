"""The `aip serve` contract: what a server serves, from flags or, when a flag is absent, from the
environment variable that feeds it (docs/serving.md, "The server contract").

    flag         variable        meaning
    --models     MODEL_NAME      models to serve (comma-separated; default: every model with the alias)
    --version    MODEL_VERSION   registry version to serve (exactly one model); default: the env's alias
    --label      MODEL_LABEL     track this server is: stable (default), canary or baseline
    --env        AIP_ENV         environment from platform.yaml (its registry alias)
    --device     AIP_DEVICE      auto (default: cuda when torch sees a GPU, else cpu), cpu or cuda

A flag always wins over its variable. The Kubernetes manifests (infra/k8s/base/model-server) set
MODEL_NAME, MODEL_LABEL and AIP_ENV; the Kubernetes deploy backend pins MODEL_VERSION.
A canary or baseline server serves a pinned version and labels every request and metric with its
track, so the Prometheus canary analysis finds them (`label="canary"`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.serving.errors import ServeError

__all__ = ["DEVICES", "ENV_VARS", "LABELS", "Contract", "resolve", "resolve_device"]

LABELS = ("stable", "canary", "baseline")
DEVICES = ("auto", "cpu", "cuda")

# option name -> (flag, environment variable)
ENV_VARS: dict[str, tuple[str, str]] = {
    "models": ("--models", "MODEL_NAME"),
    "version": ("--version", "MODEL_VERSION"),
    "label": ("--label", "MODEL_LABEL"),
    "env": ("--env", "AIP_ENV"),
    "device": ("--device", "AIP_DEVICE"),
}


@dataclass(frozen=True)
class Contract:
    """The resolved settings, and for each where it came from (the flag or the variable's name)."""

    models: list[str]
    version: str | None
    label: str
    env: str | None
    device: str
    origin: dict[str, str]

    def source(self, option: str) -> str:
        """How to name `option` in a message: `--version 3` or `MODEL_VERSION=3`."""
        return self.origin.get(option, ENV_VARS[option][0])


def _pick(option: str, flag_value: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    flag, var = ENV_VARS[option]
    if flag_value is not None:
        if not flag_value.strip():
            raise ServeError(f"{flag}: empty value")
        return flag_value.strip(), flag
    value = environ.get(var)
    if value is None:
        return None, flag
    if not value.strip():
        raise ServeError(
            f"environment variable {var} (feeds {flag}) is set but empty; unset it or give a value"
        )
    return value.strip(), var


def _named(source: str, value: str) -> str:
    return f"{source}={value}" if not source.startswith("--") else f"{source} {value}"


def resolve(
    *,
    models: str | None = None,
    version: str | None = None,
    label: str | None = None,
    env: str | None = None,
    device: str | None = None,
    environ: Mapping[str, str],
) -> Contract:
    """Flags first, then their variables; ServeError naming the flag or variable on bad input."""
    origin: dict[str, str] = {}
    values: dict[str, str | None] = {}
    for option, given in (("models", models), ("version", version), ("label", label), ("env", env),
                          ("device", device)):  # fmt: skip
        values[option], origin[option] = _pick(option, given, environ)

    names = [m.strip() for m in (values["models"] or "").split(",") if m.strip()]
    chosen_label = values["label"] or "stable"
    if chosen_label not in LABELS:
        raise ServeError(
            f"{_named(origin['label'], chosen_label)}: expected one of {', '.join(LABELS)} "
            "(the track this server is)"
        )
    pinned = values["version"]
    if pinned is not None:
        if not pinned.isdigit() or int(pinned) < 1:
            raise ServeError(
                f"{_named(origin['version'], pinned)}: expected a registry version number (1, 2, ...)"
            )
        pinned = str(int(pinned))
        if len(names) != 1:
            what = f"{origin['models']} names {len(names)} models" if names else "no model is named"
            raise ServeError(
                f"{_named(origin['version'], pinned)} pins one model's version, but {what}: "
                f"set exactly one model with --models or MODEL_NAME"
            )
    elif chosen_label != "stable":
        raise ServeError(
            f"{_named(origin['label'], chosen_label)}: a {chosen_label} server serves a pinned version; "
            "set MODEL_VERSION (or --version) and one model in MODEL_NAME (or --models)"
        )
    chosen_device = values["device"] or "auto"
    if chosen_device not in DEVICES:
        raise ServeError(f"{_named(origin['device'], chosen_device)}: expected one of {', '.join(DEVICES)}")
    return Contract(names, pinned, chosen_label, values["env"], chosen_device, origin)


def resolve_device(requested: str, source: str = "--device", cuda_available: bool | None = None) -> str:
    """`cpu` or `cuda`: auto takes cuda when torch sees a GPU; cuda without one is a ServeError."""
    if requested not in DEVICES:
        raise ServeError(f"{_named(source, requested)}: expected one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return "cpu"
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
    if cuda_available:
        return "cuda"
    if requested == "cuda":
        raise ServeError(
            f"{_named(source, requested)}: no CUDA GPU is visible (torch.cuda.is_available() is False); "
            "use --device auto or cpu (AIP_DEVICE), or run on a GPU node with the NVIDIA runtime"
        )
    return "cpu"
