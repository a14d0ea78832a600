"""REST client: TF Serving's documented request and response JSON, no server needed."""

import http.server
import json
import sys
import threading

import numpy as np
import pytest

from tf_esgan.serving import client

MASK = np.array([[[0, 3], [3, 0]]], np.int32)  # [B=1, 2, 2]


def test_row_format_request_is_the_documented_json():
    body = client.predict_request({"mask": MASK}, signature_name="from_mask")
    assert json.dumps(body, sort_keys=True) == (
        '{"instances": [{"mask": [[0, 3], [3, 0]]}], "signature_name": "from_mask"}')


def test_columnar_request_keeps_the_batch_and_float32_values_exactly():
    condition = np.array([[[[0.1], [2.0]]], [[[0.0], [1.5]]]], np.float32)  # [2, 1, 2, 1]
    body = client.predict_request({"skeleton_map": condition}, format="inputs")
    assert body["signature_name"] == "serving_default" and list(body) == ["signature_name", "inputs"]
    sent = json.loads(json.dumps(body))["inputs"]["skeleton_map"]
    assert np.asarray(sent).shape == (2, 1, 2, 1)
    np.testing.assert_array_equal(np.asarray(sent, np.float32), condition)  # 0.1 round-trips


def test_row_request_rejects_mixed_batch_sizes():
    with pytest.raises(ValueError, match="one batch size"):
        client.predict_request({"a": np.zeros((2, 1)), "b": np.zeros((3, 1))})


def test_urls():
    assert client.predict_url("localhost:8501", "esgan_generator") == \
        "http://localhost:8501/v1/models/esgan_generator:predict"
    assert client.predict_url("https://host/", "segnet", 3) == "https://host/v1/models/segnet/versions/3:predict"


def test_parses_documented_response_shapes():
    single = client.parse_predict_response({"predictions": [[[[1, 2, 3]]], [[[4, 5, 6]]]]}, ("image",),
                                           {"image": np.uint8})
    assert single["image"].dtype == np.uint8 and single["image"].shape == (2, 1, 1, 3)
    assert single["image"][1, 0, 0].tolist() == [4, 5, 6]
    rows = client.parse_predict_response(
        {"predictions": [{"nucleus_probability": [[0.5]], "distance": [[0.25]]},
                         {"nucleus_probability": [[1.0]], "distance": [[0.0]]}]},
        ("nucleus_probability", "distance"))
    assert rows["distance"].shape == (2, 1, 1) and rows["nucleus_probability"][0, 0, 0] == 0.5
    columnar = client.parse_predict_response({"outputs": {"nucleus_probability": [[[0.5]]],
                                                          "distance": [[[0.25]]]}},
                                             ("nucleus_probability", "distance"))
    assert columnar["distance"][0, 0, 0] == 0.25
    assert client.parse_predict_response({"outputs": [[7]]}, ("image",))["image"].tolist() == [[7]]
    with pytest.raises(client.ServingError, match="must be 256x256"):
        client.parse_predict_response({"error": "mask: height and width must be 256x256"}, ("image",))


class _FakeServing(http.server.BaseHTTPRequestHandler):
    """Answers like TF Serving: 200 with predictions, or 400 with {"error": ...}."""

    received = []

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, request))
        if request["signature_name"] == "from_mask":
            status, answer = 200, {"predictions": [[[[255, 0, 128]]]]}
        else:
            status, answer = 400, {"error": "skeleton_map: height and width must be 64x64"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_rest_round_trip_against_a_fake_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeServing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"127.0.0.1:{server.server_port}"
        outputs = client.rest_predict(address, "esgan_generator", {"mask": MASK}, output_names=("image",),
                                      signature_name="from_mask", version=2, dtypes={"image": np.uint8})
        assert outputs["image"].tolist() == [[[[255, 0, 128]]]]
        path, request = _FakeServing.received[-1]
        assert path == "/v1/models/esgan_generator/versions/2:predict"
        assert request == {"signature_name": "from_mask", "instances": [{"mask": [[0, 3], [3, 0]]}]}
        with pytest.raises(client.ServingError, match="64x64"):
            client.rest_predict(address, "esgan_generator", {"skeleton_map": np.zeros((1, 2, 2, 1))},
                                output_names=("image",))
    finally:
        server.shutdown()
        server.server_close()


def test_grpc_without_the_optional_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    with pytest.raises(ImportError, match="tensorflow-serving-api"):
        client.grpc_predict("localhost:8500", "esgan_generator", {"mask": MASK})
