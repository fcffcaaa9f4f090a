"""Exports (cheap smokes of every format on the tiny preset): SavedModel, TFLite, ONNX.

Each format is exported once per module from one small untrained model whose
score threshold is 0, so every page yields detections to compare. The full
parity runs (bigger pages, fp16/int8, a trained model, saved_model_cli) are in
``test_export_parity.py`` (slow).
"""

import re

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.charset import Charset
from keras_textnet.export import outputs as output_helpers
from keras_textnet.export.model_source import (
    ExportError,
    load_model,
    pure_tf_pooling,
    with_inference_settings,
)
from keras_textnet.export.parity import compare_page, summarize
from keras_textnet.export.runtimes import keras_runner

SIZE = (96, 128)


@pytest.fixture(scope="module")
def tiny():
    # with the line-end ops the shipped model reads with, so every format must run them
    return load_model(None, preset="tiny", detections_per_image=8, max_text_length=16,
                      score_threshold=0.0, rpn_post_nms_topk=64, read_padding=0.4,
                      read_word_ends=3.0)


@pytest.fixture(scope="module")
def run_tiny(tiny):
    """Keras's outputs for the tiny model: one traced function for the module's tests."""
    return keras_runner(tiny)


@pytest.fixture(scope="module")
def page():
    rng = np.random.default_rng(0)
    image = np.full((1, *SIZE, 3), 255, np.uint8)
    image[0, 20:40, 10:110] = rng.integers(0, 120, (20, 100, 3))
    image[0, 60:72, 30:90] = 0
    return image


@pytest.fixture(scope="module")
def tflite_dir(tiny, tmp_path_factory):
    from keras_textnet.export.tflite import export_tflite

    out = tmp_path_factory.mktemp("tflite")
    export_tflite(tiny, out, input_size=SIZE, variants=("fp32", "int8"), report=False)
    return out


def _assert_same(reference, candidate, tol=1e-3):
    assert int(reference["count"][0]) == int(candidate["count"][0]) > 0
    n = int(reference["count"][0])
    np.testing.assert_allclose(candidate["boxes"][0, :n], reference["boxes"][0, :n], atol=tol)
    np.testing.assert_array_equal(candidate["char_ids"][0, :n], reference["char_ids"][0, :n])
    np.testing.assert_array_equal(candidate["lengths"][0, :n], reference["lengths"][0, :n])


# ------------------------------------------------------------------ TFLite
def test_tflite_is_builtin_only_and_matches_keras(run_tiny, tflite_dir, page):
    from keras_textnet.export.runtimes import tflite_runner
    from keras_textnet.export.tflite import non_builtin_ops, op_names

    path = tflite_dir / "textnet_fp32.tflite"
    flatbuffer = path.read_bytes()
    names = op_names(flatbuffer)
    assert non_builtin_ops(flatbuffer) == []
    assert "NON_MAX_SUPPRESSION_V4" in names and "CONV_2D" in names
    assert not any(n.startswith("CUSTOM") or "FLEX" in n.upper() for n in names)
    got = tflite_runner(path)(page)
    assert set(got) == set(output_helpers.output_names())
    _assert_same(run_tiny(page), got)


def test_tflite_reader_gives_prediction_json_for_any_image(tflite_dir):
    from keras_textnet.export.tflite import TFLiteTextNet

    reader = TFLiteTextNet(tflite_dir / "textnet_fp32.tflite")
    assert reader.input_size == SIZE and reader.charset == Charset()
    grey = np.full((200, 150), 200, np.uint8)  # larger than the input, grey
    result = reader.predict_image(grey, file="grey.png")
    assert (result["file"], result["width"], result["height"]) == ("grey.png", 150, 200)
    for line in result["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= 150 and 0 <= y0 < y1 <= 200


def test_litert_example_reads_as_the_library_runs_the_model(tflite_dir, page):
    """export/litert_example.py: the tensors of keras_textnet's LiteRT runner, decoded."""
    from keras_textnet.export.tflite import TFLiteTextNet

    example = _export_recipe("litert_example")
    path = tflite_dir / "textnet_fp32.tflite"
    reader = example.LiteRTReader(path)
    library = TFLiteTextNet(path)
    assert reader.input_size == library.input_size == SIZE
    image = page[0, :80, :100]  # smaller than the input: letterboxed without a resize
    got = reader.read(image)
    batch, _ = output_helpers.letterbox(image, SIZE)
    tensors = library.run(batch)
    n = int(tensors["count"][0])
    expected = [library.charset.decode(tensors["char_ids"][0, d, :tensors["lengths"][0, d]])
                for d in range(n)]
    assert n > 0 and (got["width"], got["height"]) == (100, 80)
    assert sorted(line["text"] for line in got["lines"]) == sorted(t for t in expected
                                                                   if t.strip())
    assert example.main([str(path), str(_write_png(tflite_dir / "page.png", image))]) == 0


def _write_png(path, image):
    import cv2

    cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1]))
    return path


def test_quantized_variant_keeps_only_weights_quantized(tflite_dir):
    from ai_edge_litert import schema_py_generated as schema

    from keras_textnet.export.tflite import _exact_int16

    def constants(path):
        model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
        graph = model.subgraphs[0]
        return {t.name: (t, bytes(model.buffers[t.buffer].data)) for t in graph.tensors
                if model.buffers[t.buffer].data is not None and
                len(model.buffers[t.buffer].data)}

    fp32 = constants(tflite_dir / "textnet_fp32.tflite")
    int8 = constants(tflite_dir / "textnet_int8.tflite")
    anchors = [name for name, (t, _) in fp32.items() if list(t.shape)[-1:] == [4] and
               t.shape[0] > 1000]
    assert len(anchors) == 1  # the (A, 4) anchor table
    tensor, data = int8[anchors[0]]
    assert tensor.type == schema.TensorType.INT16  # not int8: stored exactly
    decoded = np.frombuffer(data, np.int16) * tensor.quantization.scale[0]
    np.testing.assert_array_equal(decoded, np.frombuffer(fp32[anchors[0]][1], np.float32))
    weights = [t for t, _ in int8.values() if t.type == schema.TensorType.INT8]
    assert len(weights) > 10  # the weights stay int8
    assert _exact_int16(np.array([0.125, -820.125, 1800.0])) is not None
    assert _exact_int16(np.array([0.1])) is None and _exact_int16(np.array([1e6])) is None


def test_gpu_report_classifies_ops_and_finds_the_conv_block(tflite_dir):
    from keras_textnet.export.gpu_report import gpu_delegate_report

    report = gpu_delegate_report(tflite_dir / "textnet_fp32.tflite")
    by_op = {op: (count, supported) for op, count, supported, *_ in report.op_table()}
    for op in ("TOPK_V2", "NON_MAX_SUPPRESSION_V4", "WHERE"):
        assert by_op[op][1] == 0, op  # never on the GPU
    assert by_op["CONV_2D"][0] == by_op["CONV_2D"][1]  # every convolution can be
    assert report.supported_flop_share >= 0.9
    block = set(report.first_block())
    nodes = {n.index: n for n in report.nodes}
    assert all(nodes[i].supported for i in block)
    topk = min(n.index for n in report.nodes if n.op == "TOPK_V2")
    # the backbone / FPN / RPN convolutions (all before the top-k) form the first block
    early_convs = [n.index for n in report.nodes if n.op == "CONV_2D" and n.index < topk]
    assert len(early_convs) >= 10 and set(early_convs) <= block
    text = report.to_markdown()
    assert "FLOPs in ops the GPU delegate supports" in text and "TOPK_V2" in text


def test_tflite_refuses_bad_settings(tiny, tmp_path):
    from keras_textnet.export.tflite import export_tflite

    with pytest.raises(ExportError, match="multiples of 32"):
        export_tflite(tiny, tmp_path, input_size=(100, 128))
    with pytest.raises(ExportError, match="variant"):
        export_tflite(tiny, tmp_path, input_size=SIZE, variants=("fp8",))


# -------------------------------------------------------------- SavedModel
@pytest.fixture(scope="module")
def serving(tiny, tmp_path_factory):
    from keras_textnet.export.saved_model import export_saved_model

    root = tmp_path_factory.mktemp("serving")
    path = export_saved_model(tiny, root, name="reader", version=3)
    return path, tf.saved_model.load(str(path))


def test_saved_model_layout_and_both_signatures_match_the_predictor(tiny, serving):
    import cv2

    from keras_textnet.predictor import TextNetPredictor

    path, loaded = serving
    assert path.parts[-2:] == ("reader", "3") and (path / "saved_model.pb").exists()
    assert output_helpers.read_model_info(path / "assets.extra")["format"] == "saved_model"
    assert set(loaded.signatures) == {"serving_default", "serve_images"}
    rng = np.random.default_rng(1)
    image = np.full((70, 90, 3), 250, np.uint8)  # not a multiple of 32: padded in the graph
    image[10:30, 5:80] = rng.integers(0, 100, (20, 75, 3))
    _, png = cv2.imencode(".png", image[..., ::-1])
    encoded = loaded.signatures["serving_default"](images=tf.constant([png.tobytes()] * 2))
    pixels = loaded.signatures["serve_images"](images=tf.constant(image[None]))
    predictor = TextNetPredictor(tiny)
    padded, scale = predictor._prepare(image)
    with pure_tf_pooling():
        reference = predictor._run(padded[None])
    n = int(reference["count"][0])
    assert n > 0 and encoded["count"].numpy().tolist() == [n, n]
    expected = np.clip(reference["boxes"][0, :n] / np.array(scale * 2), 0, [70, 90, 70, 90])
    for out in (encoded, pixels):
        np.testing.assert_allclose(out["boxes"].numpy()[0, :n], expected, atol=1e-3)
        texts = [t.decode() for t in out["transcriptions"].numpy()[0, :n]]
        assert texts == [tiny.charset.decode(reference["char_ids"][0, d, :reference["lengths"][
            0, d]]) for d in range(n)]
        assert out["image_size"].numpy()[0].tolist() == [70, 90]


def test_saved_model_refuses_corrupt_input_and_keeps_serving(serving):
    import cv2

    _, loaded = serving
    serve = loaded.signatures["serving_default"]
    _, png = cv2.imencode(".png", np.full((40, 40, 3), 255, np.uint8))
    good = png.tobytes()
    for bad, message in ((b"hello, not an image", "images[1] is not a PNG or JPEG"),
                         (b"", "images[1] is not a PNG or JPEG"),
                         (good[:60], "PNG")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
            serve(images=tf.constant([good, bad]))
    assert serve(images=tf.constant([good]))["count"].shape == (1,)  # still serving


def _export_recipe(name):
    """A script of the top-level ``export/`` folder, loaded as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "export" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serving_client_reads_what_the_signature_returns(tiny, serving):
    """export/serving_client.py on the SavedModel's own answer, as TF Serving's REST gives it."""
    import base64
    import json

    import cv2

    client = _export_recipe("serving_client")
    _, loaded = serving
    image = np.full((70, 90, 3), 250, np.uint8)
    image[10:30, 5:80] = np.random.default_rng(1).integers(0, 100, (20, 75, 3))
    _, png = cv2.imencode(".png", image[..., ::-1])
    request = json.loads(client.build_request([png.tobytes()]))
    files = [base64.b64decode(v["b64"]) for v in request["inputs"]["images"]]
    out = loaded.signatures[request["signature_name"]](images=tf.constant(files))
    answer = {"outputs": {k: np.vectorize(bytes.decode, otypes=[object])(v.numpy()).tolist()
                          if v.dtype == tf.string else v.numpy().tolist()
                          for k, v in out.items()}}
    page, = client.parse_response(json.dumps(answer))
    n = int(out["count"][0])
    texts = [t.decode() for t in out["transcriptions"].numpy()[0, :n] if t.decode().strip()]
    assert n > 0 and (page["width"], page["height"]) == (90, 70)
    assert sorted(line["text"] for line in page["lines"]) == sorted(texts)
    for line in page["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 <= x1 <= 90 and 0 <= y0 <= y1 <= 70


# -------------------------------------------------------------------- ONNX
def test_onnx_matches_keras_at_two_sizes(tiny, run_tiny, tmp_path, page):
    from keras_textnet.export.onnx import OnnxTextNet, export_onnx

    path = export_onnx(tiny, tmp_path)
    reader = OnnxTextNet(path)
    assert reader.output_names == sorted(output_helpers.output_names())
    _assert_same(run_tiny(page), reader.run(page))
    wide = np.concatenate([page, page[:, :, :64]], axis=2)  # 96 x 192: dynamic input size
    _assert_same(run_tiny(wide), reader.run(wide))


# ------------------------------------------------------- helpers, CLI, parity
def test_letterbox_fits_and_decode_maps_back():
    image = np.zeros((300, 200, 3), np.uint8)
    batch, scale = output_helpers.letterbox(image, (150, 160))
    assert batch.shape == (1, 150, 160, 3) and scale == (0.5, 0.5)
    assert (batch[0, :, 100:] == 255).all()  # white padding on the right
    small, same = output_helpers.letterbox(np.zeros((20, 30, 3), np.uint8), (64, 64))
    assert same == (1.0, 1.0) and (small[0, 20:] == 255).all()  # never enlarged
    charset = Charset()
    ids = np.zeros((1, 2, 8), np.int32)
    ids[0, 0, :5] = charset.encode("ab cd")
    positions = np.zeros((1, 2, 8), np.int32)
    positions[0, 0, :5] = [1, 3, 5, 7, 9]
    out = {"count": np.array([1]), "scores": np.array([[0.9, 0.0]], np.float32),
           "lengths": np.array([[5, 0]]), "char_ids": ids, "positions": positions,
           "num_steps": np.array([[10, 0]]), "angles": np.zeros((1, 2), np.float32),
           "text_scores": np.array([[0.8, 0.0]], np.float32),
           "boxes": np.array([[[10.0, 20.0, 30.0, 220.0], [0, 0, 0, 0]]], np.float32)}
    page = output_helpers.decode_page(out, scale, (300, 200), charset, file="p.png")
    assert [w["text"] for w in page["words"]] == ["ab", "cd"]
    assert page["lines"][0]["box"] == [40.0, 20.0, 200.0, 60.0]  # clipped to the image
    with pytest.raises(ValueError, match="lack"):
        output_helpers.decode_page({"count": np.array([0])}, scale, (300, 200), charset)
    with pytest.raises(ValueError, match="uint8"):
        output_helpers.letterbox(np.zeros((10, 10)), (32, 32))


def test_parity_matches_lines_by_iou():
    def run(boxes, texts):
        charset = Charset()
        ids = np.zeros((1, 4, 8), np.int32)
        lengths = np.zeros((1, 4), np.int32)
        for d, t in enumerate(texts):
            ids[0, d, :len(t)] = charset.encode(t)
            lengths[0, d] = len(t)
        padded = np.zeros((1, 4, 4), np.float32)
        padded[0, :len(boxes)] = boxes
        return {"count": np.array([len(boxes)]), "boxes": padded, "char_ids": ids,
                "lengths": lengths}

    ref = run([[0, 0, 10, 100], [20, 0, 30, 100]], ["abc", "def"])
    same = compare_page(ref, run([[20, 0, 30, 100.5], [0, 0, 10, 100]], ["def", "abc"]),
                        Charset())
    assert same.exact and same.max_box_diff == 0.5
    other = compare_page(ref, run([[0, 0, 10, 100]], ["abd"]), Charset())
    assert (other.same_count, other.matched, other.identical_text) == (False, 1, 0)
    total = summarize([same, other])
    assert total["pages_exact"] == 1 and total["identical_text"] == 2


def test_inference_settings_keep_weights(tiny, run_tiny, page):
    fewer = with_inference_settings(tiny, detections_per_image=4)
    assert fewer.detections_per_image == 4
    full, cut = run_tiny(page), keras_runner(fewer)(page)
    np.testing.assert_allclose(cut["boxes"][0], full["boxes"][0, :4], atol=1e-4)
    with pytest.raises(ExportError, match="cannot change at export"):
        with_inference_settings(tiny, fpn_channels=8)
    with pytest.raises(ExportError, match="preset"):
        load_model(None)
    with pytest.raises(ExportError, match="unknown preset"):
        load_model(None, preset="huge")


def test_cli_export_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from keras_textnet.cli import main

    monkeypatch.setenv("KERAS_TEXTNET_MODEL", str(tmp_path / "missing.keras"))
    assert main(["export", "--format", "onnx", "--out", str(tmp_path)]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["export", "--format", "tflite", "--model", str(tmp_path / "none.keras"),
                 "--out", str(tmp_path)]) == 2
    assert "model file not found" in capsys.readouterr().err
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"")
    assert main(["export", "--format", "onnx", "--model", str(weights), "--out",
                 str(tmp_path)]) == 2
    assert "needs the preset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--format", "tflite", "--preset", "tiny", "--input-size", "100x100",
              "--out", str(tmp_path)])
    assert "multiples of 32" in capsys.readouterr().err
