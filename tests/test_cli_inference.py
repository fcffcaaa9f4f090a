"""keras-textnet predict, read and evaluate: outputs, statuses, bad inputs."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from keras_textnet.cli import main
from keras_textnet.cli.inference import page_text


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from keras_textnet.models.text_net import TextNet

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    TextNet.from_preset("tiny", detections_per_image=8, max_text_length=16).save(path)
    return path


def _page():
    img = np.full((90, 140, 3), 255, np.uint8)
    img[20:32, 10:120] = 0
    return img


def _bad_inputs(folder):
    """Every awkward input of the issue; returns (good names, bad names)."""
    Image.fromarray(_page()).save(folder / "rgb.png")
    Image.fromarray(_page()[..., 0]).save(folder / "grey.png")
    Image.fromarray(np.dstack([_page(), np.full((90, 140), 200, np.uint8)])).save(
        folder / "rgba.png")
    Image.fromarray((_page()[..., 0].astype(np.uint16) * 257)).save(folder / "deep.png")
    Image.fromarray(_page()).convert("CMYK").save(folder / "cmyk.jpg")
    (folder / "text.png").write_text("this is not an image")
    (folder / "empty.png").write_bytes(b"")
    buf = io.BytesIO()
    Image.fromarray(_page()).save(buf, format="PNG")
    (folder / "truncated.png").write_bytes(buf.getvalue()[:60])
    return (["cmyk.jpg", "deep.png", "grey.png", "rgb.png", "rgba.png"],
            ["empty.png", "text.png", "truncated.png"])


def test_predict_keeps_good_images_and_reports_bad_ones(tmp_path, model_file, capsys):
    good, bad = _bad_inputs(tmp_path)
    out = tmp_path / "preds" / "p.json"
    status = main(["predict", str(tmp_path), str(tmp_path / "missing.png"), "--model",
                   str(model_file), "--out", str(out), "--quiet"])
    assert status == 1
    doc = json.loads(out.read_text())
    entries = {e["file"]: e for e in doc["images"]}
    assert sorted(entries) == sorted(good + bad + ["missing.png"])
    for name in good:
        assert "error" not in entries[name], entries[name]
        assert entries[name]["width"] == 140 and entries[name]["height"] == 90
        assert isinstance(entries[name]["words"], list)
    for name in bad + ["missing.png"]:
        assert entries[name]["words"] == [] and name in entries[name]["error"]
    err = capsys.readouterr().err
    assert "4 of 9 image(s) could not be read" in err


def test_read_prints_text_json_and_draws(tmp_path, model_file, capsys):
    Image.fromarray(_page()).save(tmp_path / "page.png")
    assert main(["read", str(tmp_path / "page.png"), "--model", str(model_file), "--json",
                 "--draw", str(tmp_path / "drawn.png")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["file"] == "page.png" and {"words", "lines"} <= set(doc)
    assert Image.open(tmp_path / "drawn.png").size == (140, 90)


@pytest.mark.parametrize("name, content, message", [
    ("text.png", b"hello", "not an image"),
    ("empty.png", b"", "empty"),
])
def test_read_bad_input_is_one_clear_line(tmp_path, model_file, capsys, name, content, message):
    (tmp_path / name).write_bytes(content)
    assert main(["read", str(tmp_path / name), "--model", str(model_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-textnet: error:") and name in err and err.count("\n") == 0
    assert message in err.lower()


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    Image.fromarray(_page()).save(tmp_path / "page.png")
    assert main(["read", str(tmp_path / "page.png"), "--model", str(tmp_path / "no.keras")]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_page_text_follows_reading_order():
    prediction = {"lines": [{"box": [330, 80, 600, 100], "text": "right"},
                            {"box": [20, 80, 290, 100], "text": "left"},
                            {"box": [20, 10, 600, 40], "text": "Title"}]}
    assert page_text(prediction) == "Title\nleft\nright"
    assert page_text({"words": [], "lines": []}) == ""


# ---------------------------------------------------------------------------
def _gt(tmp_path):
    doc = {"images": [
        {"file": "a.png", "width": 200, "height": 100, "doc": "report", "words": [
            {"box": [10, 10, 60, 30], "text": "Hello", "pdf_box": [8, 8, 62, 34]},
            {"box": [70, 10, 120, 30], "text": "world"},
            {"box": [10, 50, 60, 70], "text": "###", "ignore": True}]},
        {"file": "b.png", "width": 200, "height": 100, "doc": "letter", "words": [
            {"box": [10, 10, 60, 30], "text": "Dear", "pdf_box": [10, 10, 60, 30]}]}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    return path


def _preds(tmp_path, words_a, words_b):
    path = tmp_path / "preds.json"
    path.write_text(json.dumps({"images": [{"file": "a.png", "words": words_a},
                                           {"file": "b.png", "words": words_b}]}))
    return path


def test_evaluate_known_answers(tmp_path, capsys):
    gt = _gt(tmp_path)
    preds = _preds(tmp_path,
                   [{"box": [10, 10, 60, 30], "text": "hello"},     # case: normalized only
                    {"box": [70, 10, 120, 30], "text": "world"},    # exact
                    {"box": [12, 52, 58, 68], "text": "junk"}],     # in the ignore region
                   [{"box": [100, 60, 150, 80], "text": "Dear"}])   # shifted: a miss
    out = tmp_path / "scores.json"
    assert main(["evaluate", str(gt), "--predictions", str(preds), "--json", str(out),
                 "--level", "words"]) == 0
    text = capsys.readouterr().out
    assert "report" in text and "letter" in text
    scores = json.loads(out.read_text())["words"]
    assert scores["counts"]["gt"] == 3 and scores["counts"]["matched"] == 2
    assert scores["detection"]["precision"] == pytest.approx(2 / 3)
    assert scores["detection"]["recall"] == pytest.approx(2 / 3)
    assert scores["e2e_exact"]["recall"] == pytest.approx(1 / 3)
    assert scores["e2e_normalized"]["recall"] == pytest.approx(2 / 3)
    assert scores["by_doc"]["report"]["detection"]["f"] == pytest.approx(1.0)
    assert scores["by_doc"]["letter"]["detection"]["f"] == 0.0


def test_evaluate_gt_box_key(tmp_path, capsys):
    gt = _gt(tmp_path)
    preds = _preds(tmp_path, [{"box": [8, 8, 62, 34], "text": "Hello"}],
                   [{"box": [10, 10, 60, 30], "text": "Dear"}])
    out = tmp_path / "scores.json"
    # 'world' lacks pdf_box and is not ignored: a clear error.
    assert main(["evaluate", str(gt), "--predictions", str(preds), "--gt-box-key",
                 "pdf_box"]) == 2
    assert "word 1 ('world') has no 'pdf_box' field" in capsys.readouterr().err
    doc = json.loads(gt.read_text())
    doc["images"][0]["words"].pop(1)
    gt.write_text(json.dumps(doc))
    assert main(["evaluate", str(gt), "--predictions", str(preds), "--gt-box-key", "pdf_box",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["words"]["e2e_exact"]["f"] == pytest.approx(1.0)
    assert main(["evaluate", str(gt), "--predictions", str(preds), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["words"]["detection"]["f"] == pytest.approx(1.0)


def _two_pages_with_one_word(tmp_path):
    """a.png and b.png, and their annotation file: one word, "bar", on each."""
    Image.fromarray(_page()).save(tmp_path / "a.png")
    Image.fromarray(_page()).save(tmp_path / "b.png")
    gt = _gt(tmp_path)
    doc = json.loads(gt.read_text())
    for im in doc["images"]:
        im["width"], im["height"] = 140, 90
        im["words"] = [{"box": [10, 20, 120, 32], "text": "bar"}]
    gt.write_text(json.dumps(doc))
    return gt


def test_evaluate_from_a_model(tmp_path, model_file, capsys):
    gt = _two_pages_with_one_word(tmp_path)
    saved = tmp_path / "model_preds.json"
    assert main(["evaluate", str(gt), "--model", str(model_file), "--level", "both",
                 "--save-predictions", str(saved), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Evaluation (words" in out and "Evaluation (lines" in out
    assert [e["file"] for e in json.loads(saved.read_text())["images"]] == ["a.png", "b.png"]
    assert main(["evaluate", str(gt), "--model", str(model_file), "--predictions",
                 str(saved)]) == 2
    assert "either --predictions" in capsys.readouterr().err


def test_evaluate_without_model_or_predictions_uses_the_default_model(
        tmp_path, model_file, capsys, monkeypatch):
    """Like read and predict: $KERAS_TEXTNET_MODEL, else the shipped model (issue 12, part 6)."""
    gt = _two_pages_with_one_word(tmp_path)
    monkeypatch.setenv("KERAS_TEXTNET_MODEL", str(model_file))
    saved = tmp_path / "default_preds.json"
    assert main(["evaluate", str(gt), "--save-predictions", str(saved), "--quiet"]) == 0
    assert "Evaluation (words" in capsys.readouterr().out
    assert len(json.loads(saved.read_text())["images"]) == 2
    monkeypatch.setenv("KERAS_TEXTNET_MODEL", str(tmp_path / "missing.keras"))
    assert main(["evaluate", str(gt), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.keras does not exist" in err
