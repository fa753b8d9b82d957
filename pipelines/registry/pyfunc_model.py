"""MLflow "model from code" wrapper: the registered model is this file plus the aip artifact folder.

No pickle is involved: MLflow stores this source file, and weights load from safetensors
through `pipelines.artifacts.load`. `mlflow.pyfunc.load_model("models:/<name>@<env>")` and
`mlflow models serve` both work; the platform's own server (`aip serve`) reads the folder directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc.model import PythonModel


class AipModel(PythonModel):
    def load_context(self, context: Any) -> None:
        from pipelines.artifacts import load

        self.predictor = load(Path(context.artifacts["aip_model"]))

    # MLflow reads predict's type hints: a DataFrame in and out is the one form it accepts without a
    # warning; the signature logged with the model still describes the columns.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
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
