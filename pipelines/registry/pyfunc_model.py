"""MLflow "model from code" wrapper: the registered model is this file plus the aip artifact folder.

No pickle is involved: MLflow stores this source file, and weights load from safetensors
through `pipelines.artifacts.load`. `mlflow.pyfunc.load_model("models:/<name>@<env>")` and
`mlflow models serve` both work; the platform's own server (`aip serve`) reads the folder directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
from mlflow.pyfunc.model import PythonModel


class AipModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from pipelines.artifacts import load

        self.predictor = load(Path(context.artifacts["aip_model"]))

    # Unannotated on purpose: MLflow infers a schema from predict's type hints and warns on any it
    # cannot use; the signature logged with the model is the schema.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import pandas as pd

        predictor = self.predictor
        if predictor.kind == "text":
            column = "text" if isinstance(model_input, pd.DataFrame) and "text" in model_input else None
            texts = list(model_input[column] if column else model_input.iloc[:, 0])
            proba = predictor.predict_proba([str(t) for t in texts])
        else:
            proba = predictor.predict_proba(model_input)
        out = pd.DataFrame(proba, columns=[f"p_{label}" for label in predictor.labels])
        out.insert(0, "label", [predictor.labels[i] for i in proba.argmax(axis=1)])
        return out


mlflow.models.set_model(AipModel())
