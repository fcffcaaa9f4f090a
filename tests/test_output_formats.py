"""The output formats of `read --format`: page layout, hOCR, ALTO, TSV, text, JSON, searchable PDF.

Predictions here are written by hand (no model): each format must carry every
word at its box.
"""

import csv
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from keras_textnet.output_formats import (TSV_COLUMNS, WRITERS, AltoWriter, HocrWriter,
                                          JsonWriter, PageLayout, SearchablePdfWriter,
                                          TextWriter, TsvWriter)
from keras_textnet.output_formats.alto_writer import ALTO_NAMESPACE
from keras_textnet.output_formats.hocr_writer import XHTML_NAMESPACE


def prediction(page=1, dx=0.0):
    """Two columns: a title over two lines on the left, one line on the right."""
    lines = [([20.2, 30, 200, 50], ["Hello", "big", "world"]),
             ([20, 56.6, 150, 76], ["second", "line"]),
             ([250, 30, 380, 50], ["far", "away"])]
    out = {"file": f"doc_p{page:04d}.png", "source": "in/doc.pdf", "page": page, "dpi": 100.0,
           "width": 400, "height": 300, "words": [], "lines": []}
    for i, (box, texts) in enumerate(lines):
        box = [box[0] + dx, box[1], box[2] + dx, box[3]]
        out["lines"].append({"box": box, "text": " ".join(texts), "score": 0.9 - 0.1 * i,
                             "angle": 0.0})
        step = (box[2] - box[0]) / len(texts)
        for k, text in enumerate(texts):
            out["words"].append({"box": [round(box[0] + k * step + (3 if k else 0), 1), box[1],
                                         round(box[0] + (k + 1) * step - 2, 1), box[3]],
                                 "text": text, "score": 0.9 - 0.1 * i, "line": i})
    return out


PAGES = [prediction(1), prediction(2, dx=5.3), prediction(3, dx=-7.7)]


def _close(a, b, tol):
    return all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))


def _written(writer_class, pages=PAGES, **kwargs):
    writer = writer_class(**kwargs)
    for p in pages:
        writer.add_page(p, np.full((p["height"], p["width"], 3), 255, np.uint8))
    return writer.finish()


# ---------------------------------------------------------------------------
def test_page_layout_reading_order_blocks_and_odd_words():
    layout = PageLayout.from_prediction(PAGES[0])
    assert [[ln.text for ln in b.lines] for b in layout.blocks] == [
        ["Hello big world", "second line"], ["far away"]]
    assert layout.blocks[0].box == (20, 30, 200, 76)
    odd = dict(PAGES[0], words=PAGES[0]["words"][:5] + [
        {"box": [300, 250, 350, 270], "text": "stray", "score": 0.5}])  # no 'line'
    layout = PageLayout.from_prediction(odd)
    texts = [[w.text for w in ln.words] for ln in layout.lines]
    assert texts == [["Hello", "big", "world"], ["second", "line"], ["stray"]]  # 'far away'
    assert PageLayout.from_prediction({"width": 10, "height": 10, "words": [],
                                       "lines": []}).blocks == []


def test_hocr_parses_with_one_word_element_per_word_at_its_box():
    root = ET.fromstring(_written(HocrWriter))
    ns = {"h": XHTML_NAMESPACE}
    pages = root.findall(".//h:div[@class='ocr_page']", ns)
    assert len(pages) == 3
    for page, pred in zip(pages, PAGES):
        assert "bbox 0 0 400 300" in page.get("title") and '"in/doc.pdf"' in page.get("title")
        words = page.findall(".//h:span[@class='ocrx_word']", ns)
        assert len(page.findall(".//h:span[@class='ocr_line']", ns)) == 3
        assert sorted(w.text for w in words) == sorted(w["text"] for w in pred["words"])
        by_text = {w["text"]: w for w in pred["words"]}
        for el in words:
            m = re.match(r"bbox (\d+) (\d+) (\d+) (\d+); x_wconf (\d+)$", el.get("title"))
            assert m, el.get("title")
            expected = by_text[el.text]
            assert _close(m.groups()[:4], expected["box"], 1.0)
            assert int(m.group(5)) == round(100 * expected["score"])
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


def test_alto_parses_with_one_string_per_word_at_its_box():
    root = ET.fromstring(_written(AltoWriter))
    ns = {"a": ALTO_NAMESPACE}
    assert root.find("a:Description/a:MeasurementUnit", ns).text == "pixel"
    pages = root.findall("a:Layout/a:Page", ns)
    assert [p.get("PHYSICAL_IMG_NR") for p in pages] == ["1", "2", "3"]
    for page, pred in zip(pages, PAGES):
        assert (page.get("WIDTH"), page.get("HEIGHT")) == ("400", "300")
        strings = page.findall("a:PrintSpace/a:TextBlock/a:TextLine/a:String", ns)
        assert len(strings) == len(pred["words"])
        by_text = {w["text"]: w for w in pred["words"]}
        for s in strings:
            x, y, w, h = (int(s.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
            expected = by_text[s.get("CONTENT")]
            assert _close((x, y, x + w, y + h), expected["box"], 1.0)
            assert float(s.get("WC")) == pytest.approx(expected["score"], abs=1e-4)
        assert len(page.findall(".//a:SP", ns)) == len(pred["words"]) - len(pred["lines"])


def test_tsv_has_tesseracts_columns_and_every_word_at_its_box():
    text = _written(TsvWriter).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert tuple(text.splitlines()[0].split("\t")) == TSV_COLUMNS == (
        "level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top",
        "width", "height", "conf", "text")
    assert [r["page_num"] for r in rows if r["level"] == "1"] == ["1", "2", "3"]
    for p, pred in enumerate(PAGES, start=1):
        words = [r for r in rows if r["level"] == "5" and r["page_num"] == str(p)]
        assert [r["text"] for r in words] == [w["text"] for w in pred["words"]]  # reading order
        for r, w in zip(words, pred["words"]):
            left, top, width, height = (int(r[k]) for k in ("left", "top", "width", "height"))
            assert _close((left, top, left + width, top + height), w["box"], 1.0)
            assert float(r["conf"]) == pytest.approx(100 * w["score"])
            assert int(r["word_num"]) >= 1 and int(r["line_num"]) >= 1
    assert all(r["conf"] == "-1" and r["text"] == "" for r in rows if r["level"] != "5")


def test_text_in_reading_order_pages_separated_by_form_feed():
    pages = _written(TextWriter).decode("utf-8").split("\f")
    assert pages == ["Hello big world\nsecond line\nfar away\n"] * 3
    empty = dict(PAGES[0], words=[], lines=[])
    assert _written(TextWriter, [empty]) == b""


def test_json_one_page_is_the_page_more_are_a_prediction_file():
    assert json.loads(_written(JsonWriter, PAGES[:1]))["file"] == "doc_p0001.png"
    doc = json.loads(_written(JsonWriter))
    assert [im["page"] for im in doc["images"]] == [1, 2, 3]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_searchable_pdf_puts_every_word_on_its_box():
    path_bytes = _written(SearchablePdfWriter)
    res = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=path_bytes,
                         capture_output=True, check=True)
    html = res.stdout.decode("utf-8")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S)
    assert len(pages) == 3
    scale = 100 / 72  # points -> pixels at the pages' 100 dpi
    for (w, h, body), pred in zip(pages, PAGES):
        assert _close((float(w) * scale, float(h) * scale), (400, 300), 0.01)
        found = [(m.group(5), [float(v) * scale for v in m.groups()[:4]]) for m in re.finditer(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            body)]
        assert [t for t, _ in found] == [w["text"] for w in pred["words"]]
        for (_, box), word in zip(found, pred["words"]):
            assert _close(box, word["box"], 2.0), (box, word)
    text = subprocess.run(["pdftotext", "-layout", "-f", "2", "-l", "2", "-", "-"],
                          input=path_bytes, capture_output=True, check=True).stdout.decode()
    assert "Hello big world" in text and "second line" in text  # copy-paste has the spaces


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_searchable_pdf_page_size_and_rotated_words():
    pred = dict(PAGES[0])
    pred.pop("dpi")  # no resolution: default_dpi sets the page size
    quad = [[100, 150], [200, 130], [204, 150], [104, 170]]  # rotated about 11 degrees
    pred["words"] = pred["words"] + [{"box": [100, 130, 204, 170], "text": "tilted",
                                      "score": 0.5, "quad": quad}]
    data = _written(SearchablePdfWriter, [pred], default_dpi=300)
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()
    assert '<page width="96.000000" height="72.000000">' in html  # 400 x 300 px at 300 dpi
    # poppler cuts diagonal text into pieces; together they span the word's corners
    pieces = sorted((float(m.group(1)) * 300 / 72, float(m.group(2)) * 300 / 72,
                     float(m.group(3)) * 300 / 72, float(m.group(4)) * 300 / 72, m.group(5))
                    for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                         r'yMax="([\d.]+)">([^<]*)</word>', html)
                    if float(m.group(2)) * 300 / 72 > 100)
    assert "".join(p[4] for p in pieces) == "tilted"
    union = (min(p[0] for p in pieces), min(p[1] for p in pieces),
             max(p[2] for p in pieces), max(p[3] for p in pieces))
    assert _close(union, [100, 130, 204, 170], 6.0), union  # poppler: rough for rotations
    with pytest.raises(ValueError, match="needs the page image"):
        SearchablePdfWriter().add_page(pred, None)


def test_every_format_has_a_writer():
    assert list(WRITERS) == ["text", "json", "hocr", "alto", "tsv", "pdf"]
    for name, cls in WRITERS.items():
        assert cls.name == name and cls.extension.startswith(".")
