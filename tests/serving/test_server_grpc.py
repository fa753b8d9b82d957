"""The gRPC front with TF Serving's real client stubs (PredictionServiceStub, ModelServiceStub).

Needs the `grpc` extra (tensorflow-serving-api, which pulls TensorFlow); CI installs it."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip(
    "tensorflow_serving.apis.prediction_service_pb2_grpc",
    reason="the gRPC front needs the `grpc` extra: pip install -e '.[grpc]' (tensorflow-serving-api)",
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.apis.get_model_metadata_pb2 import SignatureDefMap

from tests.support.serve import MODEL, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def grpc_server(served_repo, tmp_path_factory):
    server = start_server(served_repo, tmp_path_factory.mktemp("grpc"), "--enable-fault-injection", grpc=True)
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def channel(grpc_server):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.grpc_port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


def tensor(values: np.ndarray) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
    proto.tensor_shape.dim.add().size = len(values)
    proto.float_val.extend(values.astype(np.float32).tolist())
    return proto


def predict_request(rows: list[dict[str, float]], **spec) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = spec.pop("name", MODEL)
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, key, value)
    for name in rows[0]:
        request.inputs[name].CopyFrom(tensor(np.array([r[name] for r in rows])))
    return request


def as_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    shape = [d.size for d in proto.tensor_shape.dim]
    return np.frombuffer(proto.tensor_content, dtype=np.float32).reshape(shape)


def test_predict_over_grpc_matches_rest(grpc_server, channel, tumor_rows):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    response, call = stub.Predict.with_call(predict_request(tumor_rows[:4]), timeout=30)
    assert response.model_spec.name == MODEL and response.model_spec.version.value == 1
    labels = [v.decode() for v in response.outputs["label"].string_val]
    proba = as_array(response.outputs["probabilities"])
    rest = grpc_server.predict(tumor_rows[:4]).json()["predictions"]
    assert labels == [p["label"] for p in rest]
    np.testing.assert_allclose(proba, [p["probabilities"] for p in rest], atol=1e-6)
    assert dict(call.trailing_metadata())["x-model-label"] == "stable"


def test_the_tensorflow_client_helpers_read_the_outputs(channel, tumor_rows):
    import tensorflow as tf

    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.version_label = "stable"
    for name in tumor_rows[0]:
        request.inputs[name].CopyFrom(
            tf.make_tensor_proto([[r[name]] for r in tumor_rows[:3]], dtype=tf.float64)
        )
    response = stub.Predict(request, timeout=30)
    assert tf.make_ndarray(response.outputs["probabilities"]).shape == (3, 2)
    assert tf.make_ndarray(response.outputs["label"]).shape == (3,)


def test_classify_over_grpc(channel, tumor_rows):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = MODEL
    example = request.input.example_list.examples.add()
    for name, value in tumor_rows[0].items():
        example.features.feature[name].float_list.value.append(value)
    result = stub.Classify(request, timeout=30).result
    classes = result.classifications[0].classes
    assert [c.label for c in classes] == ["benign", "malignant"]
    assert sum(c.score for c in classes) == pytest.approx(1, abs=1e-5)


def test_metadata_and_model_status_over_grpc(channel, tumor_rows):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = MODEL
    request.metadata_field.append("signature_def")
    signatures = SignatureDefMap()
    stub.GetModelMetadata(request, timeout=30).metadata["signature_def"].Unpack(signatures)
    signature = signatures.signature_def["serving_default"]
    assert set(signature.inputs) == set(tumor_rows[0])
    assert signature.outputs["label"].dtype == types_pb2.DT_STRING

    models = model_service_pb2_grpc.ModelServiceStub(channel)
    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = MODEL
    statuses = models.GetModelStatus(status_request, timeout=30).model_version_status
    assert [(s.version, s.state) for s in statuses] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
    ]


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"name": "nope"}, grpc.StatusCode.NOT_FOUND, "Servable not found"),
        ({"version": 9}, grpc.StatusCode.NOT_FOUND, "Specific"),
        ({"version_label": "beta"}, grpc.StatusCode.INVALID_ARGUMENT, "unknown version label"),
        ({"signature_name": "other"}, grpc.StatusCode.INVALID_ARGUMENT, "signature_name"),
    ],
)
def test_grpc_errors_use_tf_serving_codes(channel, tumor_rows, change, code, message):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(predict_request(tumor_rows[:1], **change), timeout=30)
    assert exc.value.code() == code
    assert message in exc.value.details()


def test_bad_tensors_are_invalid_arguments(channel, tumor_rows):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_request(tumor_rows[:2])
    del request.inputs["mean radius"]
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(request, timeout=30)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "mean radius" in exc.value.details()
    request = predict_request(tumor_rows[:2])
    request.inputs["mean radius"].tensor_shape.dim[0].size = 3
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(request, timeout=30)
    assert "needs 3 values" in exc.value.details()
    request = predict_request(tumor_rows[:2])
    request.inputs["mean radius"].dtype = types_pb2.DT_BOOL
    with pytest.raises(grpc.RpcError) as exc:
        stub.Predict(request, timeout=30)
    assert "not supported" in exc.value.details()
    assert stub.Predict(predict_request(tumor_rows[:1]), timeout=30).outputs["label"].string_val
