"""Run a loaded `Predictor` on an optimised CPU runtime: the same weights, tokenizer and outputs.

    from pipelines.artifacts import load
    from pipelines.artifacts.runtime import with_runtime
    predictor = with_runtime(load(folder), "onnx", threads=1)

Runtimes (model.yaml: `environments.<env>.serving.runtime`):
  torch      the torch module as loaded (fp32), the default
  onnx       the module exported with torch.onnx (dynamo exporter) and run by ONNX Runtime, fp32
  onnx-int8  the same ONNX graph with int8 dynamic quantisation of its MatMul weights (ONNX Runtime's
             quantiser); smaller and faster on CPU, a small accuracy cost (measure it: docs/benchmarks)

The export happens at load time from the in-memory module (a few seconds for MiniLM), so the
registry keeps one artifact (safetensors) and every runtime is derived from the same weights.
torch's own int8 path (`torch.ao.quantization.quantize_dynamic`) is deprecated in torch 2.13 (it
warns on every call and is slated for removal), so it is measured in the benchmark but not offered.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.artifacts.errors import ArtifactError

if TYPE_CHECKING:
    import torch

    from pipelines.artifacts.predictor import Predictor

__all__ = ["RUNTIMES", "with_runtime"]

RUNTIMES = ("torch", "onnx", "onnx-int8")
_EXAMPLE_TEXTS = ["an example sentence for the exporter", "two words"]  # batch 2, unequal lengths
_OPSET = 18  # the dynamo exporter's default opset; ONNX Runtime 1.32 runs it on CPU


class OnnxModule:
    """Callable like the torch module (`model(**batch) -> logits`), backed by an ORT session."""

    def __init__(self, session: Any, input_names: list[str], seconds_to_build: float) -> None:
        self.session = session
        self.input_names = input_names
        self.seconds_to_build = seconds_to_build

    def __call__(self, **batch: torch.Tensor) -> torch.Tensor:
        import torch

        feeds = {name: batch[name].cpu().numpy() for name in self.input_names}
        (logits,) = self.session.run(None, feeds)
        return torch.from_numpy(logits)

    def eval(self) -> OnnxModule:
        return self


def _example_batch(predictor: Predictor) -> dict[str, Any]:
    """Two rows of unequal length (text): the exporter must not specialise on batch or length 1."""
    if predictor.kind == "text":
        return dict(next(predictor._batches(_EXAMPLE_TEXTS)))
    names = predictor.feature_names or []
    rows = [dict.fromkeys(names, 0.0), {n: float(i) for i, n in enumerate(names)}]
    return dict(next(predictor._batches(rows)))


def _export(predictor: Predictor, folder: Path) -> tuple[Path, list[str]]:
    import torch

    batch = _example_batch(predictor)
    names = list(batch)
    rows = torch.export.Dim("rows", min=1, max=65_536)
    if predictor.kind == "text":
        tokens = torch.export.Dim("tokens", min=1, max=4_096)
        dynamic: dict[str, Any] = {n: {0: rows, 1: tokens} for n in names}
    else:
        dynamic = {n: {0: rows} for n in names}
    path = folder / "model.onnx"
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # torch 2.13's exporter trips its own deprecations (pytree LeafSpec), warns that inputs
            # sharing an axis share its name, and prints progress to stdout: none of it actionable
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                predictor.model,
                (),
                str(path),
                kwargs=batch,
                dynamo=True,
                dynamic_shapes=dynamic,
                input_names=names,
                output_names=["logits"],
                opset_version=_OPSET,
                external_data=False,
                verbose=False,
            )
    except Exception as exc:  # the exporter's errors are many and version-specific: name the step
        raise ArtifactError(f"ONNX export of {predictor.path} failed: {type(exc).__name__}: {exc}") from None
    return path, names


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # per forward pass; the batcher runs several at once
    options.inter_op_num_threads = 1  # the graph is a chain: no parallel branches to run
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT warns about every unused initializer
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _cache_key(predictor: Predictor, runtime: str) -> str:
    """Weights, runtime and the versions of everything that shapes the graph."""
    import onnxruntime
    import torch

    digest = hashlib.sha256()
    with (predictor.path / predictor.manifest.weights).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    for part in (runtime, torch.__version__, onnxruntime.__version__, str(_OPSET), str(predictor.max_length)):
        digest.update(part.encode())
    return digest.hexdigest()[:32]


def _build(predictor: Predictor, runtime: str, folder: Path) -> tuple[Path, list[str]]:
    path, names = _export(predictor, folder)
    if runtime == "onnx-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantised = folder / "model.int8.onnx"
        # Weights int8 per channel, activations quantised per batch at run time (dynamic): no
        # calibration data needed. QInt8 weights run on x86 VNNI/AVX2 kernels.
        quantize_dynamic(str(path), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
        path = quantised
    return path, names


def with_runtime(
    predictor: Predictor, runtime: str, *, threads: int = 1, cache_dir: Path | None = None
) -> Predictor:
    """`predictor` on `runtime` (a new Predictor sharing manifest and tokenizer); `threads` is the
    intra-op thread count of one forward pass (ONNX Runtime). With `cache_dir`, a graph built once
    for these weights is reused (an export takes seconds to tens of seconds on a busy CPU)."""
    if runtime not in RUNTIMES:
        raise ArtifactError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return predictor
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ArtifactError(f"runtime {runtime!r} needs onnxruntime (in the lock): {exc}") from None
    from pipelines.artifacts.predictor import Predictor

    start = time.perf_counter()
    cached = cache_dir / f"{_cache_key(predictor, runtime)}.onnx" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        session = _session(cached, threads)
    else:
        with tempfile.TemporaryDirectory(prefix="aip-onnx-") as tmp:
            path, _ = _build(predictor, runtime, Path(tmp))
            session = _session(path, threads)  # reads the file into memory: the folder can go
            if cached is not None:
                with contextlib.suppress(OSError):  # a read-only disk only costs the next start
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    partial = cached.with_suffix(f".{os.getpid()}.tmp")
                    shutil.copyfile(path, partial)
                    partial.replace(cached)  # atomic: a concurrent reader sees all or nothing
    names = [i.name for i in session.get_inputs()]  # the graph's own input names, cached or not
    module = OnnxModule(session, names, time.perf_counter() - start)
    return Predictor(
        predictor.manifest,
        module,  # type: ignore[arg-type]  # duck-typed: called as model(**batch)
        path=predictor.path,
        tokenizer=predictor.tokenizer,
        device="cpu",
        batch_size=predictor.batch_size,
    )
