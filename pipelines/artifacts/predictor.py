"""Load an artifact folder into a `Predictor`: safetensors only, pickle is refused."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.artifacts.errors import ArtifactError
from pipelines.artifacts.manifest import Manifest

if TYPE_CHECKING:
    import torch

__all__ = ["Predictor", "load"]

# Weight files a loader could only read by unpickling (torch.load); never opened here.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_DEFAULT_BATCH_SIZE = 64  # rows per forward pass: bounded memory on CPU, full use of a GPU


class Predictor:
    """A loaded model: `predict_proba` / `predict` on raw inputs, batched, without gradients.

    Text inputs are a list of strings; tabular inputs are a DataFrame or a list of dicts keyed by
    feature name (extra keys are ignored, a missing feature is an error naming it).
    """

    def __init__(
        self,
        manifest: Manifest,
        model: torch.nn.Module,
        *,
        path: Path,
        tokenizer: Any = None,
        device: str = "cpu",
        batch_size: int = _DEFAULT_BATCH_SIZE,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = batch_size

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def feature_names(self) -> list[str] | None:
        names = self.manifest.preprocessing.get("feature_names")
        return list(names) if names is not None else None

    @property
    def max_length(self) -> int | None:
        value = self.manifest.preprocessing.get("max_length")
        return int(value) if value is not None else None

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities, shape (n, len(labels)), columns in `labels` order."""
        import torch

        chunks: list[np.ndarray] = []
        with torch.no_grad():
            for batch in self._batches(inputs):
                logits = self.model(**batch)
                chunks.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        if not chunks:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float64)

    def predict(self, inputs: Any) -> list[str]:
        """The most probable label of each input."""
        proba = self.predict_proba(inputs)
        return [self.labels[i] for i in proba.argmax(axis=1)]

    def _batches(self, inputs: Any) -> Any:
        if self.kind == "text":
            texts = _as_texts(inputs)
            for start in range(0, len(texts), self.batch_size):
                encoded = self.tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                yield {
                    "input_ids": encoded["input_ids"].to(self.device),
                    "attention_mask": encoded["attention_mask"].to(self.device),
                }
        else:
            import torch

            matrix = self.feature_matrix(inputs)
            for start in range(0, len(matrix), self.batch_size):
                chunk = torch.from_numpy(matrix[start : start + self.batch_size])
                yield {"features": chunk.to(self.device)}

    def feature_matrix(self, inputs: Any) -> np.ndarray:
        """Tabular inputs as a float32 matrix in the artifact's feature order."""
        names = self.feature_names or []
        rows: list[Mapping[str, Any]] | None = None
        if hasattr(inputs, "columns"):  # a DataFrame
            missing = [n for n in names if n not in inputs.columns]
            if missing:
                raise ArtifactError(f"missing feature(s): {', '.join(missing)}")
            matrix: np.ndarray = np.asarray(inputs[names].to_numpy(dtype=np.float32))
        else:
            rows = list(inputs)
            for i, row in enumerate(rows):
                if not isinstance(row, Mapping):
                    raise ArtifactError(f"row {i}: expected a mapping of feature name to value")
                missing = [n for n in names if n not in row]
                if missing:
                    raise ArtifactError(f"row {i}: missing feature(s): {', '.join(missing)}")
            matrix = np.array([[float(r[n]) for n in names] for r in rows], dtype=np.float32)
            matrix = matrix.reshape(len(rows), len(names))
        if not np.isfinite(matrix).all():
            raise ArtifactError("features must be finite numbers (found NaN or infinity)")
        return matrix


def _as_texts(inputs: Any) -> list[str]:
    if isinstance(inputs, str):
        raise ArtifactError("text inputs are a list of strings, not one string")
    texts = list(inputs)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ArtifactError(f"text inputs must be strings (item {bad[0]} is {type(texts[bad[0]]).__name__})")
    return texts


def _refuse_pickle_only(folder: Path) -> None:
    """A folder of pickled weights and no safetensors is refused before anything is read."""
    if any(p.suffix == ".safetensors" for p in folder.iterdir()):
        return
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickled:
        raise ArtifactError(
            f"{folder}: found pickled weights ({', '.join(pickled)}) and no .safetensors file; "
            "pickle is refused (loading it can run arbitrary code), save the weights as safetensors"
        )


def _check_weights(folder: Path, manifest: Manifest) -> Path:
    """The safetensors weights file; refuse pickled weights with an explicit message."""
    weights = folder / manifest.weights
    if weights.suffix != ".safetensors":
        raise ArtifactError(
            f"{folder}: weights '{manifest.weights}' are not safetensors; this loader never unpickles"
        )
    if not weights.is_file():
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        if pickled:
            raise ArtifactError(
                f"{folder}: found pickled weights ({', '.join(pickled)}) and no {manifest.weights}; "
                "pickle is refused (arbitrary code execution), save the weights as safetensors"
            )
        raise ArtifactError(f"{folder}: weights file {manifest.weights} is missing")
    return weights


def _read_state(weights: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state: dict[str, Any] = load_file(str(weights), device="cpu")
        return state
    except (SafetensorError, OSError) as exc:
        raise ArtifactError(f"{weights}: unreadable safetensors file ({exc})") from None


def _build_text(folder: Path, manifest: Manifest) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from pipelines.artifacts.networks import TextNet

    config_file = folder / str(manifest.architecture.get("encoder_config", "config.json"))
    if not config_file.is_file():
        raise ArtifactError(f"{folder}: encoder config {config_file.name} is missing")
    config = AutoConfig.from_pretrained(str(config_file), trust_remote_code=False)
    encoder = AutoModel.from_config(config, trust_remote_code=False)  # type: ignore[no-untyped-call]
    model = TextNet(
        encoder,
        hidden_size=int(config.hidden_size),
        n_classes=len(manifest.labels),
        dropout=float(manifest.architecture.get("dropout", 0.0)),
    )
    tokenizer_dir = folder / str(manifest.preprocessing.get("tokenizer", "."))
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), trust_remote_code=False)
    return model, tokenizer


def _build_tabular(manifest: Manifest) -> Any:
    from pipelines.artifacts.networks import TabularNet

    pre = manifest.preprocessing
    names, mean, std = pre.get("feature_names"), pre.get("mean"), pre.get("std")
    if not names or mean is None or std is None or not len(names) == len(mean) == len(std):
        raise ArtifactError("manifest preprocessing needs feature_names, mean and std of equal length")
    return TabularNet(
        mean=mean,
        std=std,
        hidden_sizes=list(manifest.architecture.get("hidden_sizes", [])),
        n_classes=len(manifest.labels),
        dropout=float(manifest.architecture.get("dropout", 0.0)),
    )


def load(path: str | Path, *, device: str = "cpu", batch_size: int = _DEFAULT_BATCH_SIZE) -> Predictor:
    """Load the artifact in `path` onto `device` (CPU by default) in eval mode."""
    folder = Path(path)
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: not a folder")
    _refuse_pickle_only(folder)
    manifest = Manifest.read(folder)
    weights = _check_weights(folder, manifest)
    tokenizer = None
    if manifest.kind == "text":
        model, tokenizer = _build_text(folder, manifest)
    else:
        model = _build_tabular(manifest)
    state = _read_state(weights)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactError(f"{weights}: weights do not fit the manifest's architecture: {exc}") from None
    model.to(device).eval()
    return Predictor(manifest, model, path=folder, tokenizer=tokenizer, device=device, batch_size=batch_size)
