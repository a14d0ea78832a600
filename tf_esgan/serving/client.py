"""Clients for the served models: TF Serving's REST predict API, and gRPC.

    python -m tf_esgan.cli.serving_client --mask=mask.png --out=generated.png                # REST, from_mask
    python -m tf_esgan.cli.serving_client --skeleton_map=map.npy --out=generated.png        # REST, serving_default
    python -m tf_esgan.cli.serving_client --protocol=grpc --server=localhost:8500 --mask=mask.png --out=x.png

REST (https://www.tensorflow.org/tfx/serving/api_rest): POST
`/v1/models/<name>[/versions/<v>]:predict` with {"signature_name": ..., "instances": [...]}
(row format: one object {input: value} per batch element) or {"signature_name": ...,
"inputs": {input: batched value}} (columnar). The answer is {"predictions": [...]} (row;
one value per element, or one object per element when there are several outputs) or
{"outputs": value-or-object} (columnar); failures are {"error": "..."}. Numeric tensors
are plain JSON numbers (the {"b64": ...} form is only for DT_STRING).
gRPC needs the optional `tensorflow-serving-api` package (imported only when used).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

FORMATS = ("instances", "inputs")


class ServingError(RuntimeError):
    """The server answered with an error (bad input, unknown model, ...)."""


def predict_url(server: str, model_name: str, version: int | None = None) -> str:
    """`http://<server>/v1/models/<model_name>[/versions/<version>]:predict`."""
    base = server if server.startswith(("http://", "https://")) else f"http://{server}"
    versioned = f"/versions/{int(version)}" if version is not None else ""
    return f"{base.rstrip('/')}/v1/models/{model_name}{versioned}:predict"


def predict_request(inputs: Mapping[str, np.ndarray], *, signature_name: str = "serving_default",
                    format: str = "instances") -> dict:
    """The JSON body of a predict request.

    Args:
      inputs: input name -> batched array [B, ...] (all with the same B).
      signature_name: the SavedModel signature to run.
      format: "instances" (row format) or "inputs" (columnar).
    """
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {format!r}")
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    if not arrays:
        raise ValueError("inputs: at least one named input is required")
    sizes = {name: array.shape[0] if array.ndim else None for name, array in arrays.items()}
    if format == "instances" and (None in sizes.values() or len(set(sizes.values())) != 1):
        raise ValueError(f"inputs: row format needs batched arrays of one batch size, got {sizes}")
    body: dict[str, Any] = {"signature_name": signature_name}
    if format == "inputs":
        body["inputs"] = {name: array.tolist() for name, array in arrays.items()}
    else:
        batch = next(iter(sizes.values()))
        body["instances"] = [{name: array[index].tolist() for name, array in arrays.items()}
                             for index in range(batch)]
    return body


def parse_predict_response(body: Mapping[str, Any], output_names: tuple[str, ...],
                           dtypes: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Output name -> batched array from a predict answer (row or columnar).

    Args:
      body: the decoded JSON answer.
      output_names: the signature's outputs (a single output comes back unnamed).
      dtypes: optional output name -> numpy dtype (JSON numbers carry none).
    Raises:
      ServingError for {"error": ...}; ValueError for an answer of another shape.
    """
    if "error" in body:
        raise ServingError(str(body["error"]))
    if "predictions" in body:
        rows = body["predictions"]
        if len(output_names) == 1 and not (rows and isinstance(rows[0], dict)):
            arrays = {output_names[0]: rows}
        else:
            arrays = {name: [row[name] for row in rows] for name in output_names}
    elif "outputs" in body:
        outputs = body["outputs"]
        arrays = outputs if isinstance(outputs, dict) else {output_names[0]: outputs}
        if set(arrays) != set(output_names):
            raise ValueError(f"response: expected outputs {sorted(output_names)}, got {sorted(arrays)}")
    else:
        raise ValueError(f"response: expected 'predictions', 'outputs' or 'error', got {sorted(body)}")
    dtypes = dtypes or {}
    return {name: np.asarray(value, dtype=dtypes.get(name)) for name, value in arrays.items()}


def rest_predict(server: str, model_name: str, inputs: Mapping[str, np.ndarray], *,
                 output_names: tuple[str, ...], signature_name: str = "serving_default",
                 version: int | None = None, format: str = "instances",
                 dtypes: Mapping[str, Any] | None = None, timeout: float = 60.0) -> dict[str, np.ndarray]:
    """POSTs a predict request and parses the answer (see the two functions above)."""
    data = json.dumps(predict_request(inputs, signature_name=signature_name, format=format)).encode()
    request = urllib.request.Request(predict_url(server, model_name, version), data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as error:  # TF Serving puts {"error": ...} in 4xx/5xx bodies
        body = json.loads(error.read() or b"{}") or {"error": f"HTTP {error.code}"}
    return parse_predict_response(body, output_names, dtypes)


def grpc_predict(server: str, model_name: str, inputs: Mapping[str, np.ndarray], *,
                 signature_name: str = "serving_default", version: int | None = None,
                 timeout: float = 60.0) -> dict[str, np.ndarray]:
    """Predict over gRPC (port 8500 by default); needs `tensorflow-serving-api`."""
    try:
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError as error:
        raise ImportError(
            "the gRPC client needs the optional package `tensorflow-serving-api` (pip install "
            "'tensorflow-serving-api==2.*', matching the tensorflow version); the REST client "
            "(--protocol=rest) needs nothing extra") from error
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
    # Generated images exceed gRPC's default 4 MB message limit at batch 8 x 256^2.
    limit = 256 * 1024 * 1024
    with grpc.insecure_channel(server, options=[("grpc.max_send_message_length", limit),
                                                ("grpc.max_receive_message_length", limit)]) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
