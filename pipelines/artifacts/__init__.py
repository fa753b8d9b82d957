"""The on-disk model format shared by training, evaluation and the model server.

An artifact is a folder::

    aip-model.json      manifest: format version, kind, task, labels (index order), preprocessing
    model.safetensors   the weights (a state dict; never pickle)
    config.json         text only: the encoder's transformers config (rebuilt without base weights)
    tokenizer.json ...  text only: the tokenizer files

`load(path)` returns a `Predictor`. Importing this package is cheap: torch and transformers are
imported when an artifact is saved or loaded.
"""

from pipelines.artifacts.errors import ArtifactError
from pipelines.artifacts.manifest import FORMAT_VERSION, MANIFEST_FILE, WEIGHTS_FILE, Manifest
from pipelines.artifacts.predictor import Predictor, load
from pipelines.artifacts.writer import save_tabular, save_text

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "WEIGHTS_FILE",
    "ArtifactError",
    "Manifest",
    "Predictor",
    "load",
    "save_tabular",
    "save_text",
]
