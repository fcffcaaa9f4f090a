"""The Tesseract yardstick: TSV parsing, and a real run (CI installs tesseract-ocr)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from keras_textnet.evaluation.tesseract import (TesseractError, parse_tsv, run_tesseract,
                                                tesseract_version)

TSV = "\n".join([
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
    "1\t1\t0\t0\t0\t0\t0\t0\t400\t200\t-1\t",
    "4\t1\t1\t1\t1\t0\t10\t10\t200\t20\t-1\t",
    "5\t1\t1\t1\t1\t1\t60\t10\t50\t20\t91.5\tworld",
    "5\t1\t1\t1\t1\t2\t10\t12\t40\t18\t96\tHello",
    "5\t1\t1\t1\t1\t3\t120\t10\t5\t20\t95\t ",
    "5\t1\t1\t1\t2\t1\t10\t50\t30\t20\t80\t\"quoted",
    "5\t1\t2\t1\t1\t1\t10\t90\t0\t20\t80\tzero",
])


def test_parse_tsv_words_and_lines():
    page = parse_tsv(TSV, "p.png", 400, 200)
    assert [w["text"] for w in page["words"]] == ["world", "Hello", '"quoted']
    assert page["words"][1]["box"] == [10, 12, 50, 30] and page["words"][0]["score"] == 0.915
    assert [ln["text"] for ln in page["lines"]] == ["Hello world", '"quoted']
    assert page["lines"][0]["box"] == [10, 10, 110, 30]
    assert (page["file"], page["width"], page["height"]) == ("p.png", 400, 200)


def _font():
    import matplotlib

    return ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf", 36)


def test_run_tesseract_reads_a_clean_line(tmp_path):
    assert tesseract_version() is not None, "tesseract-ocr is a test dependency (.ci/run)"
    im = Image.new("RGB", (640, 120), "white")
    ImageDraw.Draw(im).text((20, 30), "Invoice number 4711", fill="black", font=_font())
    page = run_tesseract(np.asarray(im), file="line.png")
    assert " ".join(w["text"] for w in page["words"]) == "Invoice number 4711"
    assert all(0 <= w["box"][0] < w["box"][2] <= 640 for w in page["words"])
    im.save(tmp_path / "line.png")
    assert run_tesseract(tmp_path / "line.png")["file"] == "line.png"
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises((TesseractError, OSError)):
        run_tesseract(tmp_path / "bad.png")
