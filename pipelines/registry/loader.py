"""The one loader of registered models: a registry version (or a logged model URI) to a Predictor.

The aip artifact sits in the MLflow model under `artifacts/<ARTIFACT_KEY>`; weights are read only
through `pipelines.artifacts.load` (safetensors; pickle is refused). Downloads go to a temporary
folder that is removed once the predictor is in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import AipError

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor

__all__ = ["ARTIFACT_KEY", "LoadError", "download_artifact", "load_predictor"]

ARTIFACT_KEY = "aip_model"  # folder name of the aip artifact inside the MLflow model


class LoadError(AipError):
    """A registered model could not be loaded; the message says which and why."""


def download_artifact(model_uri: str, dst: Path) -> Path:
    """Download the aip artifact folder of `model_uri` (`models:/name/version`, `runs:/...`) under
    `dst`; returns the folder."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst))
    except (MlflowException, OSError) as exc:
        raise LoadError(f"{model_uri}: download failed: {exc}") from None
    folder = Path(path) / "artifacts" / ARTIFACT_KEY
    if not folder.is_dir():
        raise LoadError(
            f"{model_uri}: no aip artifact (artifacts/{ARTIFACT_KEY}) in the logged model; "
            "was it logged by `aip train`?"
        )
    return folder


def load_predictor(
    model_uri: str,
    *,
    local_dir: Path | None = None,
    scratch: Path | None = None,
    prepare: Callable[[Predictor], Predictor] | None = None,
) -> Predictor:
    """The predictor of a logged model: from `local_dir` when this process has the artifact, else
    downloaded under `scratch` (default: the system's temporary folder) and removed after loading.
    `prepare` runs while the files still exist (an ONNX export reads the weights file)."""
    from pipelines.artifacts import ArtifactError, load

    def _load(folder: Path) -> Predictor:
        try:
            predictor = load(folder)
            return prepare(predictor) if prepare is not None else predictor
        except ArtifactError as exc:
            raise LoadError(f"{model_uri}: {exc}") from None

    if local_dir is not None and local_dir.exists():
        return _load(local_dir)
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aip-model-", dir=scratch) as tmp:
        return _load(download_artifact(model_uri, Path(tmp)))
