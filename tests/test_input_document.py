"""Inputs of read/predict: PDFs, multi-page TIFFs, folders, stdin, distinct names, bad files."""

import io
import shutil

import numpy as np
import pytest

from document_samples import make_pdf, make_tiff
from keras_textnet.input_document import (DocumentReadError, InputDocument, distinct_names,
                                          distinct_stems, expand_inputs)

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None or
                                   shutil.which("pdfinfo") is None,
                                   reason="poppler-utils (pdftoppm, pdfinfo) not installed")


@needs_poppler
def test_pdf_every_page_at_dpi(tmp_path):
    doc = InputDocument(str(make_pdf(tmp_path / "report.pdf")), dpi=100)
    assert doc.open() == 3 and doc.kind == "pdf"
    pages = list(doc.pages())
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.file for p in pages] == ["report_p0001.png", "report_p0002.png",
                                       "report_p0003.png"]
    for p in pages:
        assert p.error is None and p.dpi == 100
        assert p.image.shape == (300, 400, 3)  # 216 x 288 pt at 100 dpi
        # the bar is 36 pt (50 px) per page number wide, from x = 36 pt (50 px)
        dark = np.where(p.image[90, :, 0] < 128)[0]  # the bar: y 75-100 px
        assert abs(dark.min() - 50) <= 1 and abs(dark.max() + 1 - 50 - 50 * p.number) <= 1


def test_multipage_tiff_every_page(tmp_path):
    doc = InputDocument(str(make_tiff(tmp_path / "scan.tiff", dpi=300)))
    assert doc.open() == 3 and doc.kind == "image"
    pages = list(doc.pages())
    assert [(p.number, p.file, p.dpi) for p in pages] == [
        (1, "scan_p0001.png", 300.0), (2, "scan_p0002.png", 300.0), (3, "scan_p0003.png", 300.0)]
    assert [int(p.image[0, 0, 0]) for p in pages] == [50, 100, 150]


def test_single_page_image_keeps_its_name(tmp_path, write_png):
    doc = InputDocument(str(write_png("page.png")))
    assert doc.open() == 1
    (page,) = doc.pages()
    assert page.file == "page.png" and page.dpi is None and page.image.shape == (40, 60, 3)


def test_distinct_names_and_stems(tmp_path):
    assert distinct_names(["x/a/page.png", "y/a/page.png", "b/page.png", "other.png"]) == [
        "x/a/page.png", "y/a/page.png", "b/page.png", "other.png"]
    assert distinct_names(["p.png", "p.png", "-"]) == ["p.png", "p.png-2", "stdin"]
    assert distinct_stems(["a/doc.pdf", "b/doc.pdf", "scan.tif", "scan.pdf", "x.png"]) == [
        "a/doc", "b/doc", "scan.tif", "scan.pdf", "x"]


@needs_poppler
def test_expand_folders_sorted_with_pdfs_and_distinct_page_names(tmp_path, write_png, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        make_pdf(tmp_path / folder / "doc.pdf", pages=2)
    write_png("a/z.png")
    (tmp_path / "a" / "notes.txt").write_text("not an input")
    (tmp_path / "empty").mkdir()
    docs = expand_inputs([str(tmp_path / "a"), str(tmp_path / "b" / "doc.pdf"),
                          str(tmp_path / "empty")])
    assert "no image or PDF files in folder" in capsys.readouterr().err
    assert [d.name for d in docs] == ["a/doc.pdf", "z.png", "b/doc.pdf"]
    files = []
    for d in docs:
        d.open()
        files += [p.file for p in d.pages()]
    assert files == ["a/doc_p0001.png", "a/doc_p0002.png", "z.png", "b/doc_p0001.png",
                     "b/doc_p0002.png"]
    assert len(set(files)) == len(files)


@needs_poppler
def test_stdin_pdf_and_image(tmp_path, write_png):
    pdf = make_pdf(tmp_path / "in.pdf", pages=2).read_bytes()
    (doc,) = expand_inputs(["-"], dpi=72, stdin=io.BytesIO(pdf))
    assert doc.open() == 2 and doc.name == "stdin" and doc.source == "-"
    assert [(p.file, p.image.shape) for p in doc.pages()] == [
        ("stdin_p0001.png", (216, 288, 3)), ("stdin_p0002.png", (216, 288, 3))]
    (doc,) = expand_inputs(["-"], stdin=io.BytesIO(write_png("x.png").read_bytes()))
    assert doc.open() == 1 and [p.file for p in doc.pages()] == ["stdin"]
    with pytest.raises(ValueError, match="only once"):
        expand_inputs(["-", "-"], stdin=io.BytesIO(b""))
    (doc,) = expand_inputs(["-"], stdin=io.BytesIO(b""))
    with pytest.raises(DocumentReadError, match="nothing was read from standard input"):
        doc.open()


@needs_poppler
@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"hello, I am text", "is not a PDF"),
    (b"%PDF-1.4\n1 0 obj garbage", "not a readable PDF"),
])
def test_bad_pdfs_are_one_clear_line(bad_file_error, content, message):
    text = bad_file_error("bad.pdf", content, lambda path: InputDocument(str(path)).open(),
                          DocumentReadError, message)
    assert "\n" not in text


def test_missing_and_folder_and_bad_dpi(tmp_path):
    with pytest.raises(DocumentReadError, match="no such file"):
        InputDocument(str(tmp_path / "missing.pdf")).open()
    with pytest.raises(DocumentReadError, match="is a folder"):
        InputDocument(str(tmp_path)).open()
    with pytest.raises(ValueError, match="dpi must be in"):
        InputDocument("x.pdf", dpi=0)


@needs_poppler
def test_huge_pdf_page_is_a_page_error(tmp_path):
    doc = InputDocument(str(make_pdf(tmp_path / "big.pdf", pages=2)), dpi=300,
                        max_pixels=1_000_000)
    pages = list(doc.pages())
    assert [p.image for p in pages] == [None, None]
    assert "big.pdf, page 2: at 300 dpi the page is 1200x900 pixels" in pages[1].error
    assert "lower --dpi" in pages[1].error
