"""The keras-textnet command: help, data subcommands, clear errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from keras_textnet.cli import main
from keras_textnet.data.annotation import AnnotationSet


def _annotations(tmp_path, write_png):
    img = np.full((60, 120, 3), 255, np.uint8)
    img[10:20, 10:50] = 0
    img[30:42, 60:110] = 30
    write_png("a.png", img)
    doc = {"images": [{"file": "a.png", "width": 120, "height": 60, "words": [
        {"box": [10, 10, 50, 20], "text": "hello", "ignore": False, "line": 0},
        {"box": [60, 30, 110, 42], "text": "wörld", "ignore": False, "line": 1}]}]}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "keras_textnet.cli", "data", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for name in ("synth", "from-pdf", "from-icdar", "validate", "to-tfrecord", "show",
                 "pipeline-preview"):
        assert name in out
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0


def test_python_dash_m_runs_the_command():
    for module in ("keras_textnet", "keras_textnet.cli"):
        out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                             text=True, check=True).stdout
        assert out.startswith("keras-textnet ")


def test_validate_ok_and_counts(tmp_path, write_png, capsys):
    path = _annotations(tmp_path, write_png)
    assert main(["data", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK, 1 images, 2 words (0 ignore, 1 more outside the default charset), 2 lines" in out


def test_validate_error_is_one_clear_line(tmp_path, write_png, capsys):
    path = _annotations(tmp_path, write_png)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["images"][0]["words"][1]["box"] = [60, 30, 130, 42]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["data", "validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "image 'a.png', word 1, field 'box'" in err and "outside the 120x60 image" in err


def test_to_tfrecord_and_show(tmp_path, write_png):
    path = _annotations(tmp_path, write_png)
    assert main(["data", "to-tfrecord", str(path), "--out", str(tmp_path / "tfr" / "x"),
                 "--shards", "2"]) == 0
    assert len(list((tmp_path / "tfr").glob("x-*-of-00002.tfrecord"))) == 2
    assert main(["data", "show", str(path), "--out", str(tmp_path / "show"),
                 "--sheet", str(tmp_path / "sheet.png")]) == 0
    assert (tmp_path / "show" / "a.png").exists() and (tmp_path / "sheet.png").exists()


def test_from_icdar_writes_relative_paths(tmp_path, write_png):
    write_png("imgs/img_1.png", size=(50, 80))
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt_img_1.txt").write_text("1,2,30,2,30,20,1,20,Hello\n",
                                                  encoding="utf-8")
    out = tmp_path / "out" / "icdar.json"
    assert main(["data", "from-icdar", "2015", str(tmp_path / "gt"), str(tmp_path / "imgs"),
                 "--out", str(out)]) == 0
    ann = AnnotationSet.load(out)
    assert ann.images[0].file == "../imgs/img_1.png"
    assert ann.images[0].words[0].text == "Hello"


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as info:
        main(["data", "synth", "--out", "x", "--page-size", "big"])
    assert info.value.code == 2
