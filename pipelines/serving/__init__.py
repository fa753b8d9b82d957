"""The model server (`aip serve`): TensorFlow Serving's REST and gRPC APIs over the MLflow registry.

Each model's `stable` version is the one the environment alias points at; a `canary` version can be
loaded beside it and given a share of the traffic through the admin API (docs/serving.md), which is
what `aip deploy` drives. Importing this package is cheap: the HTTP stack, torch, MLflow and the
gRPC protos (TensorFlow) are imported when the server starts.
"""

from pipelines.serving._logging import quiet_stderr
from pipelines.serving._openapi import openapi_document
from pipelines.serving.errors import Code, ServeError, ServingError
from pipelines.serving.server import ServeOptions, build_service, run_server

__all__ = [
    "Code",
    "ServeError",
    "ServeOptions",
    "ServingError",
    "build_service",
    "openapi_document",
    "quiet_stderr",
    "run_server",
]
