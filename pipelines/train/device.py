"""Where training runs: CUDA when present (bf16 autocast where supported), else CPU in fp32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["Device", "pick_device"]


@dataclass(frozen=True)
class Device:
    name: str
    """torch device string: `cuda`, `cuda:1`, `cpu`."""
    dtype: str
    """Compute precision: `bf16` (autocast on CUDA) or `fp32`."""

    @property
    def type(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        import torch

        return torch.bfloat16 if self.dtype == "bf16" else None


def pick_device(requested: str | None = None) -> Device:
    """`requested` (e.g. "cpu", "cuda:0") or the best available; bf16 only on CUDA that supports it."""
    import torch

    if requested is None:
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {requested!r} requested but CUDA is not available")
        return Device(requested, "bf16" if torch.cuda.is_bf16_supported() else "fp32")
    return Device(requested, "fp32")
