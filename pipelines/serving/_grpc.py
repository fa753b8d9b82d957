"""The gRPC front: TF Serving's PredictionService (Predict, Classify, GetModelMetadata) and
ModelService (GetModelStatus), on the `tensorflow-serving-api` protos (the `grpc` extra), and the
standard health service `grpc.health.v1.Health` (what a Kubernetes `grpc:` probe calls): SERVING for
the server ("") and for each served model's name once its version is loaded, NOT_SERVING from the
moment shutdown starts (draining).

Tensors: a text model takes one `text` tensor (DT_STRING, shape [n]); a tabular model takes one
tensor per feature (DT_FLOAT/DT_DOUBLE/ints, shape [n] or [n, 1]). Outputs: `label` (DT_STRING [n])
and `probabilities` (DT_FLOAT [n, classes]).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from typing import TYPE_CHECKING, Any

import numpy as np

import pipelines.serving.protocol as req
from pipelines.serving._logging import event, quiet_stderr
from pipelines.serving._service import Call, Service
from pipelines.serving.errors import Code, ServeError, ServingError

if TYPE_CHECKING:
    import grpc

__all__ = ["GrpcFront", "start_grpc"]

_WORKERS = 64  # threads answering RPCs; each waits on the batcher, so most of them sleep
_STATE_ENUM = {"START": 10, "LOADING": 20, "AVAILABLE": 30, "UNLOADING": 40, "END": 50}


class _Protos:
    """The protos, imported once gRPC is enabled (this imports TensorFlow: seconds)."""

    def __init__(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            with quiet_stderr():  # TensorFlow's C++ start-up banner would break the JSON log lines
                from tensorflow.core.example import example_pb2
                from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
                from tensorflow.core.protobuf import meta_graph_pb2
                from tensorflow_serving.apis import (
                    classification_pb2,
                    get_model_metadata_pb2,
                    get_model_status_pb2,
                    model_service_pb2_grpc,
                    predict_pb2,
                    prediction_service_pb2_grpc,
                )
        except ImportError as exc:
            raise ServeError(
                f"gRPC needs the `grpc` extra (tensorflow-serving-api): pip install -e '.[grpc]', "
                f"or start with --grpc-port 0 ({exc})"
            ) from None
        self.example = example_pb2
        self.tensor = tensor_pb2
        self.shape = tensor_shape_pb2
        self.types = types_pb2
        self.meta_graph = meta_graph_pb2
        self.classification = classification_pb2
        self.metadata = get_model_metadata_pb2
        self.status = get_model_status_pb2
        self.predict = predict_pb2
        self.model_service_grpc = model_service_pb2_grpc
        self.prediction_service_grpc = prediction_service_pb2_grpc


def _spec(request: Any) -> tuple[str, str | None, str | None]:
    spec = request.model_spec
    if not spec.name:
        raise ServingError(Code.INVALID_ARGUMENT, "model_spec.name is required")
    if spec.signature_name not in ("", req.SIGNATURE):
        raise ServingError(Code.INVALID_ARGUMENT, f"unknown signature_name {spec.signature_name!r}")
    version = str(spec.version.value) if spec.HasField("version") else None
    label = spec.version_label if spec.HasField("version_label") else None
    return spec.name, version, label


class _Fronts:
    def __init__(self, service: Service, protos: _Protos) -> None:
        self.service = service
        self.p = protos

    # ---- plumbing ----------------------------------------------------------------------
    def _serve(
        self, context: grpc.ServicerContext, method: str, model: str, fn: Callable[[dict[str, Any]], Any]
    ) -> Any:
        import grpc

        started = time.perf_counter()
        metadata = dict(context.invocation_metadata())
        info: dict[str, Any] = {
            "request_id": metadata.get("x-request-id") or uuid.uuid4().hex,
            "model": model,
        }
        code_name, message = "OK", ""
        try:
            return fn(info)
        except ServingError as exc:
            code_name, message = exc.code.grpc, exc.message
        except Exception as exc:
            event("internal_error", logging.ERROR, api=method, error=f"{type(exc).__name__}: {exc}")
            code_name, message = "INTERNAL", f"internal error: {type(exc).__name__}"
        finally:
            event(
                "request",
                method="gRPC",
                path=method,
                status=code_name,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                **info,
            )
        context.abort(getattr(grpc.StatusCode, code_name), message)

    def _auth(self, context: grpc.ServicerContext) -> None:
        self.service.check_auth(dict(context.invocation_metadata()).get("authorization"))

    def _run_call(self, call: Call, parse: Callable[[], req.ModelInput]) -> np.ndarray:
        try:
            if call.extra_latency:
                time.sleep(call.extra_latency)
            if (injected := call.injected_error()) is not None:
                raise injected
            model_input = parse()
            future = call.slot.submit(call.target, model_input.payload, model_input.rows)
            proba: np.ndarray = future.result()
            call.classes = [call.target.labels[i] for i in proba.argmax(axis=1)]
            call.code = 200
            return proba
        except ServingError as exc:
            call.code = exc.code.http
            raise
        finally:
            self.service.end(call)

    def _response_spec(self, response: Any, name: str, version: str) -> None:
        response.model_spec.name = name
        response.model_spec.version.value = int(version)
        response.model_spec.signature_name = req.SIGNATURE

    # ---- tensors -----------------------------------------------------------------------
    def _values(self, name: str, tensor: Any) -> list[Any]:
        t = self.p.types
        dims = [d.size for d in tensor.tensor_shape.dim]
        if len(dims) > 2 or (len(dims) == 2 and dims[1] != 1):
            raise ServingError(
                Code.INVALID_ARGUMENT, f"input {name!r}: expected shape [n] or [n, 1], got {dims}"
            )
        values: list[Any]
        if tensor.dtype == t.DT_STRING:
            try:
                values = [v.decode("utf-8") for v in tensor.string_val]
            except UnicodeDecodeError:
                raise ServingError(Code.INVALID_ARGUMENT, f"input {name!r}: strings must be UTF-8") from None
        elif tensor.dtype in (t.DT_FLOAT, t.DT_DOUBLE, t.DT_INT32, t.DT_INT64):
            if tensor.tensor_content:
                np_type = {t.DT_FLOAT: np.float32, t.DT_DOUBLE: np.float64, t.DT_INT32: np.int32}.get(
                    tensor.dtype, np.int64
                )
                if len(tensor.tensor_content) % np.dtype(np_type).itemsize:
                    raise ServingError(
                        Code.INVALID_ARGUMENT, f"input {name!r}: tensor_content has a bad size"
                    )
                values = np.frombuffer(tensor.tensor_content, dtype=np_type).tolist()
            else:
                values = list(
                    tensor.float_val or tensor.double_val or tensor.int_val or tensor.int64_val  # one is set
                )
        else:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"input {name!r}: dtype {t.DataType.Name(tensor.dtype)} not supported "
                "(DT_STRING for text, DT_FLOAT/DT_DOUBLE/ints for features)",
            )
        expected = int(np.prod(dims)) if dims else 1
        if expected != len(values):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"input {name!r}: shape {dims} needs {expected} values, got {len(values)}",
            )
        return values

    def _outputs(self, response: Any, proba: np.ndarray, labels: list[str]) -> None:
        t = self.p.types
        n, k = proba.shape
        label = response.outputs["label"]
        label.dtype = t.DT_STRING
        label.tensor_shape.dim.add().size = n
        label.string_val.extend(labels[i].encode() for i in proba.argmax(axis=1))
        probabilities = response.outputs["probabilities"]
        probabilities.dtype = t.DT_FLOAT
        probabilities.tensor_shape.dim.add().size = n
        probabilities.tensor_shape.dim.add().size = k
        probabilities.tensor_content = proba.astype(np.float32).tobytes()

    # ---- RPCs --------------------------------------------------------------------------
    def predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run(info: dict[str, Any]) -> Any:
            self._auth(context)
            name, version, label = _spec(request)
            call = self.service.begin(name, version, label, "predict")
            target = call.target
            info.update(version=target.version, label=call.label, api="grpc:predict")
            context.set_trailing_metadata(
                (("x-model-version", target.version), ("x-model-label", call.label))
            )

            def parse() -> req.ModelInput:
                columns = {key: self._values(key, tensor) for key, tensor in request.inputs.items()}
                return req.parse_predict({"inputs": columns}, target.kind, target.feature_names)

            proba = self._run_call(call, parse)
            response = self.p.predict.PredictResponse()
            self._response_spec(response, name, target.version)
            self._outputs(response, proba, target.labels)
            return response

        return self._serve(context, "Predict", request.model_spec.name, run)

    def classify(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run(info: dict[str, Any]) -> Any:
            self._auth(context)
            name, version, label = _spec(request)
            call = self.service.begin(name, version, label, "classify")
            target = call.target
            info.update(version=target.version, label=call.label, api="grpc:classify")
            context.set_trailing_metadata(
                (("x-model-version", target.version), ("x-model-label", call.label))
            )

            def parse() -> req.ModelInput:
                which = request.input.WhichOneof("kind")
                if which == "example_list":
                    examples, context_example = request.input.example_list.examples, None
                elif which == "example_list_with_context":
                    lists = request.input.example_list_with_context
                    examples, context_example = lists.examples, lists.context
                else:
                    raise ServingError(
                        Code.INVALID_ARGUMENT, "input needs example_list or example_list_with_context"
                    )
                body: dict[str, Any] = {"examples": [self._example(e) for e in examples]}
                if context_example is not None:
                    body["context"] = self._example(context_example)
                return req.parse_classify(body, target.kind, target.feature_names)

            proba = self._run_call(call, parse)
            response = self.p.classification.ClassificationResponse()
            self._response_spec(response, name, target.version)
            for row in proba:
                classes = response.result.classifications.add()
                for class_label, score in zip(target.labels, row, strict=True):
                    classes.classes.add(label=class_label, score=float(score))
            return response

        return self._serve(context, "Classify", request.model_spec.name, run)

    def _example(self, example: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            values = list(getattr(feature, kind).value) if kind else []
            if len(values) != 1:
                raise ServingError(Code.INVALID_ARGUMENT, f"feature {key!r}: expected exactly one value")
            value = values[0]
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    raise ServingError(
                        Code.INVALID_ARGUMENT, f"feature {key!r}: bytes must be UTF-8"
                    ) from None
            out[key] = value
        return out

    def metadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run(info: dict[str, Any]) -> Any:
            from pipelines.serving._rest import signature

            name, version, label = _spec(request)
            if "signature_def" not in request.metadata_field:
                raise ServingError(Code.INVALID_ARGUMENT, "metadata_field must include 'signature_def'")
            slot = self.service.manager.slot(name)
            with slot.lock:
                target, _ = slot._pick(version, label)
            sig = signature(target)
            p = self.p
            signature_def = p.meta_graph.SignatureDef(method_name=sig["method_name"])
            for field_name in ("inputs", "outputs"):
                for key, spec in sig[field_name].items():
                    tensor_info = getattr(signature_def, field_name)[key]
                    tensor_info.name = spec["name"]
                    tensor_info.dtype = p.types.DataType.Value(spec["dtype"])
                    for dim in spec["tensor_shape"]["dim"]:
                        tensor_info.tensor_shape.dim.add().size = int(dim["size"])
            sig_map = p.metadata.SignatureDefMap()
            sig_map.signature_def[req.SIGNATURE].CopyFrom(signature_def)
            response = p.metadata.GetModelMetadataResponse()
            self._response_spec(response, name, target.version)
            response.metadata["signature_def"].Pack(sig_map)
            return response

        return self._serve(context, "GetModelMetadata", request.model_spec.name, run)

    def model_status(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run(info: dict[str, Any]) -> Any:
            name, version, label = _spec(request)
            response = self.p.status.GetModelStatusResponse()
            for status in self.service.status(name, version, label):
                item = response.model_version_status.add()
                item.version = int(status["version"])
                item.state = _STATE_ENUM[status["state"]]
                item.status.error_code = 0 if status["status"]["error_code"] == "OK" else 2  # OK, UNKNOWN
                item.status.error_message = status["status"]["error_message"]
            return response

        return self._serve(context, "GetModelStatus", request.model_spec.name, run)


class GrpcFront:
    """The running gRPC server and its health servicer."""

    def __init__(self, server: grpc.Server, health: Any) -> None:
        self.server = server
        self.health = health

    def drain(self) -> None:
        """Every health status NOT_SERVING from now on (shutdown started)."""
        self.health.enter_graceful_shutdown()

    def stop(self, grace: float | None) -> Any:
        self.drain()
        return self.server.stop(grace)


def _health(service: Service) -> Any:
    from grpc_health.v1 import health, health_pb2

    servicer = health.HealthServicer(experimental_non_blocking=True)
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    ready, _ = service.manager.ready()
    servicer.set("", serving if ready else not_serving)
    for name, slot in service.manager.slots.items():
        with slot.lock:
            loaded = slot.stable is not None and slot.status[slot.stable.version].state == "AVAILABLE"
        servicer.set(name, serving if loaded else not_serving)
    for name in ("tensorflow.serving.PredictionService", "tensorflow.serving.ModelService"):
        servicer.set(name, serving if ready else not_serving)
    return servicer


def start_grpc(service: Service, host: str, port: int) -> GrpcFront:
    """Start the gRPC server on host:port in background threads (the models are loaded already);
    returns it (call .stop(grace))."""
    import grpc
    from grpc_health.v1 import health_pb2_grpc

    protos = _Protos()
    fronts = _Fronts(service, protos)
    options = [
        ("grpc.max_receive_message_length", service.max_body_bytes),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="grpc"), options=options
    )

    prediction = type(
        "PredictionService",
        (protos.prediction_service_grpc.PredictionServiceServicer,),
        {
            "Predict": lambda self, r, c: fronts.predict(r, c),
            "Classify": lambda self, r, c: fronts.classify(r, c),
            "GetModelMetadata": lambda self, r, c: fronts.metadata(r, c),
        },
    )
    models = type(
        "ModelService",
        (protos.model_service_grpc.ModelServiceServicer,),
        {"GetModelStatus": lambda self, r, c: fronts.model_status(r, c)},
    )
    protos.prediction_service_grpc.add_PredictionServiceServicer_to_server(prediction(), server)
    protos.model_service_grpc.add_ModelServiceServicer_to_server(models(), server)
    health = _health(service)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if server.add_insecure_port(address) == 0:
        raise ServeError(f"gRPC: cannot bind {address} (port in use?); choose another --grpc-port or 0")
    server.start()
    event("grpc_started", address=address)
    return GrpcFront(server, health)
