"""`keras-textnet read` / `predict` on documents: PDFs, TIFFs, folders, stdin, every --format.

A stub predictor stands in for the network (its words depend only on the page
size), except in the one end-to-end test with the shipped model.
"""

import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from document_samples import make_pdf, make_tiff
from keras_textnet.cli import main

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None or
                                   shutil.which("pdftotext") is None,
                                   reason="poppler-utils (pdftoppm, pdftotext) not installed")
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples"


class StubPredictor:
    """Two lines of words at fixed fractions of the page; records the pages it saw."""

    def __init__(self):
        self.seen = []
        self.planned = None

    def plan(self, pages):
        self.planned = pages

    def predict_image(self, image, file=None):
        self.seen.append((file, image.shape))
        h, w = image.shape[:2]
        lines, words = [], []
        for i, texts in enumerate((["Total", "due"], ["page", f"{w}x{h}"])):
            y0, y1 = round(h * (0.2 + 0.3 * i), 1), round(h * (0.3 + 0.3 * i), 1)
            x0, x1 = round(0.1 * w, 1), round(0.9 * w, 1)
            lines.append({"box": [x0, y0, x1, y1], "text": " ".join(texts), "score": 0.9,
                          "angle": 0.0})
            mid = round((x0 + x1) / 2, 1)
            words += [{"box": [x0, y0, mid - 3, y1], "text": texts[0], "score": 0.9, "line": i},
                      {"box": [mid + 3, y0, x1, y1], "text": texts[1], "score": 0.8, "line": i}]
        return {"file": file, "width": w, "height": h, "words": words, "lines": lines}


@pytest.fixture
def stub(monkeypatch):
    predictor = StubPredictor()
    monkeypatch.setattr("keras_textnet.cli.inference._predictor", lambda args: predictor)
    return predictor


def _run(capsys, *argv):
    status = main(["read", *map(str, argv), "--quiet"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@needs_poppler
def test_pdf_and_tiff_give_every_page_with_source_and_number(tmp_path, stub, capsys):
    pdf = make_pdf(tmp_path / "report.pdf")
    tif = make_tiff(tmp_path / "scan.tif", size=(90, 120), dpi=200)
    for path, names, dpi in ((pdf, "report", 150.0), (tif, "scan", 200.0)):
        status, out, _ = _run(capsys, path, "--format", "json")
        assert status == 0
        pages = json.loads(out)["images"]
        assert [p["page"] for p in pages] == [1, 2, 3]
        assert stub.planned == 3                 # the predictor was told what comes
        assert [p["file"] for p in pages] == [f"{names}_p000{i}.png" for i in (1, 2, 3)]
        assert {p["source"] for p in pages} == {str(path)} and {p["dpi"] for p in pages} == {dpi}
    assert stub.seen[0][1] == (450, 600, 3)  # 216 x 288 pt at the default 150 dpi
    status, _, _ = _run(capsys, pdf, "--dpi", "72", "--format", "json")
    assert stub.seen[-1][1] == (216, 288, 3)


@needs_poppler
def test_every_format_carries_the_jsons_words_and_boxes(tmp_path, stub, capsys):
    pdf = make_pdf(tmp_path / "doc.pdf")
    assert _run(capsys, pdf, "--json", "--out", tmp_path / "doc.json")[0] == 0
    pages = json.loads((tmp_path / "doc.json").read_text())["images"]
    words = [w for p in pages for w in p["words"]]

    def close(box, expected, tol):
        return all(abs(a - b) <= tol for a, b in zip(box, expected))

    for fmt in ("hocr", "alto", "tsv", "pdf", "text"):
        out = tmp_path / f"doc.{fmt}"
        status, _, _ = _run(capsys, pdf, "--format", fmt, "--out", out)
        assert status == 0 and out.exists()
        if fmt == "hocr":
            found = [(el.text, [int(v) for v in el.get("title").split(";")[0].split()[1:]])
                     for el in ET.parse(out).iter() if el.get("class") == "ocrx_word"]
            assert len(ET.parse(out).getroot().findall(".//*[@class='ocr_page']")) == 3
        elif fmt == "alto":
            found = [(el.get("CONTENT"), [int(el.get("HPOS")), int(el.get("VPOS")),
                                          int(el.get("HPOS")) + int(el.get("WIDTH")),
                                          int(el.get("VPOS")) + int(el.get("HEIGHT"))])
                     for el in ET.parse(out).iter() if el.tag.endswith("}String")]
        elif fmt == "tsv":
            rows = [r.split("\t") for r in out.read_text().splitlines()[1:]]
            found = [(r[11], [int(r[6]), int(r[7]), int(r[6]) + int(r[8]),
                              int(r[7]) + int(r[9])]) for r in rows if r[0] == "5"]
            assert [r[1] for r in rows if r[0] == "1"] == ["1", "2", "3"]
        elif fmt == "pdf":
            html = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True,
                                  text=True, check=True).stdout
            assert html.count("<page ") == 3
            found = [(m.group(5), [float(v) * 150 / 72 for v in m.groups()[:4]]) for m in
                     re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                 r'yMax="([\d.]+)">([^<]*)</word>', html)]
        else:
            assert out.read_text().split("\f") == ["Total due\npage 600x450\n"] * 3
            continue
        assert [t for t, _ in found] == [w["text"] for w in words], fmt
        tolerance = 2.0 if fmt == "pdf" else 1.0
        for (_, box), word in zip(found, words):
            assert close(box, word["box"], tolerance), (fmt, box, word)


def test_same_named_inputs_in_different_folders_stay_apart(tmp_path, stub, capsys):
    for folder, value in (("a", 0), ("b", 128)):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((60, 80, 3), value, np.uint8)).save(tmp_path / folder / "p.png")
    inputs = [tmp_path / "a" / "p.png", tmp_path / "b" / "p.png"]
    for fmt, ext in (("hocr", ".hocr"), ("json", ".json"), ("alto", ".xml"), ("tsv", ".tsv"),
                     ("text", ".txt"), ("pdf", ".pdf")):
        out = tmp_path / f"out_{fmt}"
        status, _, _ = _run(capsys, *inputs, "--format", fmt, "--out", out)
        assert status == 0
        assert sorted(p.name for p in out.iterdir()) == [f"a_p{ext}", f"b_p{ext}"]
    docs = [json.loads((tmp_path / "out_json" / f"{k}_p.json").read_text()) for k in "ab"]
    assert [d["file"] for d in docs] == ["a/p.png", "b/p.png"]
    assert [d["source"] for d in docs] == [str(p) for p in inputs]
    # predict: one prediction file whose names stay distinct, so it loads for evaluate
    from keras_textnet.evaluation.protocol import load_predictions

    assert main(["predict", *map(str, inputs), "--out", str(tmp_path / "preds.json"),
                 "--quiet"]) == 0
    assert [r.file for r in load_predictions(tmp_path / "preds.json").images] == [
        "a/p.png", "b/p.png"]


@needs_poppler
def test_stdin_and_folder_inputs(tmp_path, stub, capsys, monkeypatch):
    pdf = make_pdf(tmp_path / "in" / "doc.pdf", pages=2)
    Image.fromarray(np.full((60, 80, 3), 255, np.uint8)).save(tmp_path / "in" / "a.png")

    class Stdin:
        buffer = io.BytesIO(pdf.read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin)
    status, out, _ = _run(capsys, "-", "--format", "json")
    assert status == 0
    assert [(p["file"], p["source"], p["page"]) for p in json.loads(out)["images"]] == [
        ("stdin_p0001.png", "-", 1), ("stdin_p0002.png", "-", 2)]
    status, _, _ = _run(capsys, tmp_path / "in", "--format", "tsv", "--out", tmp_path / "o")
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.tsv", "doc.tsv"]


@needs_poppler
def test_a_bad_input_among_good_ones_is_reported_and_the_rest_written(tmp_path, stub, capsys):
    make_pdf(tmp_path / "good.pdf", pages=2)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nothing else")
    status, _, err = _run(capsys, tmp_path / "good.pdf", tmp_path / "bad.pdf", "--format",
                          "hocr", "--out", tmp_path / "out")
    assert status == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.hocr"]
    assert "bad.pdf: not a readable PDF" in err and "Traceback" not in err


@needs_poppler
@pytest.mark.parametrize("argv, message", [
    (["--dpi", "0"], "--dpi must be a number from 10 to 1200"),
    (["--dpi", "many"], "--dpi must be a number from 10 to 1200"),
    (["--format", "docx"], "unknown --format 'docx'; choose from text, json, hocr, alto, tsv"),
    (["--format", "pdf"], "--format pdf writes a file: give --out FILE.pdf"),
    (["--json", "--format", "hocr"], "--json and --format hocr disagree"),
    (["--draw", "x.png"], "--draw draws one page; the input(s) have 3"),
    (["UNREADABLE"], "unreadable.pdf: not a readable PDF"),
    (["ENCRYPTED"], "is not a PDF"),
])
def test_bad_values_are_one_clear_line(tmp_path, stub, capsys, argv, message):
    pdf = make_pdf(tmp_path / "doc.pdf")
    (tmp_path / "unreadable.pdf").write_bytes(b"%PDF-1.7\n%garbage\n")
    (tmp_path / "text.pdf").write_bytes(b"just some text")
    argv = [{"UNREADABLE": str(tmp_path / "unreadable.pdf"),
             "ENCRYPTED": str(tmp_path / "text.pdf")}.get(a, a) for a in argv]
    inputs = [] if argv[0].endswith(".pdf") else [pdf]
    status, out, err = _run(capsys, *inputs, *argv)
    assert status == 2 and out == ""
    err = err.strip()
    assert err.startswith("keras-textnet: error:") and err.count("\n") == 0, err
    assert message in err and "Traceback" not in err
    assert stub.seen == []  # nothing was read


@needs_poppler
def test_predict_reads_pdf_pages(tmp_path, stub, capsys):
    pdf = make_pdf(tmp_path / "doc.pdf", pages=2)
    assert main(["predict", str(pdf), "--dpi", "100", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(e["file"], e["page"], e["dpi"], e["width"]) for e in doc["images"]] == [
        ("doc_p0001.png", 1, 100.0, 400), ("doc_p0002.png", 2, 100.0, 400)]


# ---------------------------------------------------------------------------
@needs_poppler
def test_shipped_model_end_to_end_searchable_pdf(tmp_path):
    """The shipped model reads a PDF of the example page; its text layer lands on the words."""
    from reportlab.pdfgen import canvas

    from keras_textnet.pretrained import default_model_path

    if not Path(default_model_path()).exists():
        pytest.skip("no shipped model")
    image = EXAMPLE / "page.png"
    w, h = Image.open(image).size
    pdf = tmp_path / "example.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(w * 72 / 150, h * 72 / 150))  # 150 dpi: same pixels
    c.drawImage(str(image), 0, 0, w * 72 / 150, h * 72 / 150)
    c.showPage()
    c.save()
    out = tmp_path / "searchable.pdf"
    assert main(["read", str(pdf), "--format", "pdf", "--out", str(out), "--quiet"]) == 0
    html = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    found = [([float(v) * 150 / 72 for v in m.groups()[:4]], m.group(5)) for m in re.finditer(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    gt = [wd for wd in json.loads((EXAMPLE / "page.json").read_text())["images"][0]["words"]
          if not wd.get("ignore")]
    located = sum(any(iou(wd["box"], box) >= 0.5 for box, _ in found) for wd in gt)
    exact = sum(any(iou(wd["box"], box) >= 0.5 and text == wd["text"] for box, text in found)
                for wd in gt)
    assert located >= 0.6 * len(gt) and exact >= 0.3 * len(gt), (located, exact, len(gt))
