"""The deployment recipes of the top-level ``export/`` folder, without a server or a model.

``export/serving_client.py`` builds its request and reads answers here, one of them
from a local HTTP server standing in for TF Serving; ``export/litert_example.py``
letterboxes and decodes fake tensors. Both run on real exports in ``test_export.py``.
"""

import base64
import http.server
import importlib.util
import json
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "export"


def _recipe(name):
    spec = importlib.util.spec_from_file_location(name, EXPORT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def client():
    return _recipe("serving_client")


@pytest.fixture(scope="module")
def litert():
    return _recipe("litert_example")


def _columnar_answer(pages):
    """A TF Serving columnar answer for ``pages``: lists of (text, (y0, x0, y1, x1), score)."""
    d = 4  # detections_per_image: rows past count are padding
    outputs = {"boxes": [], "scores": [], "count": [], "transcriptions": [], "angles": [],
               "text_scores": [], "char_ids": [], "lengths": [], "positions": [],
               "num_steps": [], "image_size": []}
    for lines in pages:
        pad = d - len(lines)
        outputs["boxes"].append([list(box) for _, box, _ in lines] + [[0.0] * 4] * pad)
        outputs["scores"].append([s for *_, s in lines] + [0.0] * pad)
        outputs["count"].append(len(lines))
        outputs["transcriptions"].append([t for t, *_ in lines] + [""] * pad)
        outputs["text_scores"].append([0.9] * len(lines) + [0.0] * pad)
        outputs["image_size"].append([100, 200])
        for name in ("angles", "lengths", "num_steps"):
            outputs[name].append([0] * d)
        for name in ("char_ids", "positions"):
            outputs[name].append([[0] * 3] * d)
    return {"outputs": outputs}


PAGE = [("second line", (40.0, 10.0, 52.0, 90.0), 0.8),
        ("first line", (10.0, 12.5, 22.0, 80.0), 0.9),
        ("   ", (60.0, 10.0, 70.0, 20.0), 0.7)]  # blank: left out


def test_client_request_is_the_columnar_predict_body(client):
    body = json.loads(client.build_request([b"\x89PNG one", b"\xff\xd8\xff two"]))
    assert body["signature_name"] == "serving_default"
    assert [base64.b64decode(v["b64"]) for v in body["inputs"]["images"]] == \
        [b"\x89PNG one", b"\xff\xd8\xff two"]
    assert client.predict_url() == "http://localhost:8501/v1/models/textnet:predict"
    assert client.predict_url("http://h:1/", "m", 3) == "http://h:1/v1/models/m/versions/3:predict"


def test_client_reads_the_signatures_outputs(client):
    from keras_textnet.export.saved_model import SERVING_OUTPUTS

    assert set(client.OUTPUTS_READ) <= set(SERVING_OUTPUTS)
    assert client.SIGNATURE == "serving_default"
    answer = _columnar_answer([PAGE, []])
    assert set(answer["outputs"]) == set(SERVING_OUTPUTS)
    pages = client.parse_response(json.dumps(answer))
    assert [p["lines"] for p in pages[1:]] == [[]]
    assert (pages[0]["width"], pages[0]["height"]) == (200, 100)
    assert [line["text"] for line in pages[0]["lines"]] == ["first line", "second line"]
    assert pages[0]["lines"][0]["box"] == [12.5, 10.0, 80.0, 22.0]  # x0, y0, x1, y1
    assert [line["text"] for line in client.parse_response(json.dumps(answer),
                                                           min_score=0.85)[0]["lines"]] == \
        ["first line"]
    rows = [{k: v[i] for k, v in answer["outputs"].items()} for i in range(2)]
    assert client.parse_response(json.dumps({"predictions": rows})) == pages
    b64 = _columnar_answer([PAGE[:1]])
    b64["outputs"]["transcriptions"][0][0] = {"b64": base64.b64encode(b"second line").decode()}
    assert client.parse_response(json.dumps(b64))[0]["lines"][0]["text"] == "second line"


@pytest.mark.parametrize("body, message", [
    ('{"error": "Servable not found for request: Latest(textnet)"}', "Servable not found"),
    ("<html>bad gateway</html>", "not JSON"),
    ('{"outputs": {"count": [1]}}', "lacks the outputs"),
    ('{"something": 1}', "neither outputs nor predictions"),
])
def test_client_says_what_a_bad_answer_is(client, body, message):
    with pytest.raises(client.ServingError, match=message):
        client.parse_response(body)


class _FakeServing(http.server.BaseHTTPRequestHandler):
    """Answers every POST with ``answer`` (and ``status``), keeping what it was sent."""

    answer, status, seen = b"", 200, []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        type(self).seen.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeServing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeServing.seen = []
    yield server, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_client_command_against_a_local_server(client, fake_server, tmp_path, capsys):
    _, address = fake_server
    pages = [tmp_path / "a.png", tmp_path / "b.jpg"]
    for i, page in enumerate(pages):
        page.write_bytes(b"image %d" % i)
    _FakeServing.answer, _FakeServing.status = json.dumps(_columnar_answer([PAGE, PAGE[1:2]])
                                                          ).encode(), 200
    assert client.main([*map(str, pages), "--server", address, "--model", "reader"]) == 0
    assert capsys.readouterr().out == "first line\nsecond line\f\nfirst line\n"
    (path, body), = _FakeServing.seen
    assert path == "/v1/models/reader:predict"
    assert [base64.b64decode(v["b64"]) for v in body["inputs"]["images"]] == \
        [b"image 0", b"image 1"]
    assert client.main([str(pages[0]), "--server", address, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["file"] == str(pages[0]) and len(printed["lines"]) == 2

    _FakeServing.answer = b'{"error": "keras_textnet: images[0] is not a PNG or JPEG file"}'
    _FakeServing.status = 400
    assert client.main([str(pages[0]), "--server", address]) == 1
    err = capsys.readouterr().err
    assert "HTTP 400" in err and "is not a PNG or JPEG file" in err and err.count("\n") == 1
    assert client.main([str(tmp_path / "missing.png"), "--server", address]) == 2


def test_client_says_when_no_server_answers(client, tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "a.png").write_bytes(b"x")
    assert client.main([str(tmp_path / "a.png"), "--server", f"http://127.0.0.1:{port}"]) == 1
    assert "cannot reach the server" in capsys.readouterr().err


# ------------------------------------------------------------------ LiteRT example
def test_litert_letterbox_is_the_librarys(litert):
    from keras_textnet.export.outputs import letterbox

    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
    ours, scale = litert.letterbox(small, (96, 128))
    theirs, their_scale = letterbox(small, (96, 128))
    np.testing.assert_array_equal(ours, theirs)  # no resize: the same bytes
    assert scale == their_scale == (1.0, 1.0)
    large = rng.integers(0, 255, (300, 200, 3), dtype=np.uint8)
    ours, scale = litert.letterbox(large, (96, 128))
    theirs, their_scale = letterbox(large, (96, 128))
    assert ours.shape == theirs.shape == (1, 96, 128, 3) and scale == their_scale
    difference = np.abs(ours.astype(int) - theirs.astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.05  # OpenCV's INTER_AREA, rounded
    assert (ours[0, :, 64:] == 255).all()  # white padding on the right


def test_litert_decodes_tensors_into_lines(litert):
    characters = " abc"
    outputs = {"count": np.array([3]), "scores": np.array([[0.9, 0.8, 0.7, 0.0]]),
               "text_scores": np.array([[0.5, 0.6, 0.7, 0.0]]),
               "lengths": np.array([[3, 1, 2, 0]]),
               "char_ids": np.array([[[2, 1, 3], [1, 0, 0], [4, 4, 0], [0, 0, 0]]]),
               "boxes": np.array([[[40, 10, 50, 90], [0, 0, 5, 5], [10, 20, 20, 300],
                                   [0, 0, 0, 0]]], np.float32)}
    lines = litert.decode_lines(outputs, (0.5, 0.5), (100, 150), characters)
    assert [line["text"] for line in lines] == ["cc", "a b"]  # top to bottom, blank left out
    assert lines[0]["box"] == [40.0, 20.0, 150.0, 40.0]  # scaled back, clipped to the width
    assert [line["text"] for line in litert.decode_lines(outputs, (1, 1), (100, 150),
                                                        characters, min_score=0.85)] == ["a b"]


def test_litert_example_needs_model_info(litert, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_info.json"):
        litert.load_model_info(tmp_path / "model.tflite")


def test_export_readme_names_every_file_and_the_library():
    readme = (EXPORT / "README.md").read_text(encoding="utf-8")
    files = [p.name for p in sorted(EXPORT.iterdir()) if p.is_file() and p.name != "README.md"]
    assert {"serving_client.py", "litert_example.py", "models.config"} <= set(files)
    missing = [f for f in files if f"`{f}`" not in readme]
    assert not missing, f"export/README.md does not explain {missing}"
    assert "keras_textnet/export/" in readme
