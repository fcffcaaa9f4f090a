"""Tests of keras_textnet.data.pdf on small PDFs written by matplotlib."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from keras_textnet.data.annotation import AnnotationSet  # noqa: E402
from keras_textnet.data.pdf import (HeldOutPDFError, PDFError,  # noqa: E402
                                    PopplerNotFoundError, held_out_package,
                                    normalize_pdf_text, parse_page_spec, pdf_to_annotations)
from keras_textnet.data.pdf import held_out  # noqa: E402

# poppler-utils and qpdf are installed by the README's test command; without them these
# tests fail (they are not skipped).

DPI = 150
W_IN, H_IN = 6.0, 5.0


def _figure():
    fig = plt.figure(figsize=(W_IN, H_IN))
    return fig


def _text(fig, x_pt, y_pt, s, **kw):
    """Text with its baseline-left at (x_pt, y_pt) points from the top-left corner."""
    kw.setdefault("fontsize", 14)
    fig.text(x_pt / (W_IN * 72), 1 - y_pt / (H_IN * 72), s, ha="left", va="baseline", **kw)


def _write_pdf(path: Path, pages) -> Path:
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for draw in pages:
            fig = _figure()
            draw(fig)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def _page_main(fig):
    _text(fig, 30, 40, "Hello world again")
    _text(fig, 30, 80, "Second line of text")
    _text(fig, 30, 120, "naïve costs €5, ﬁne")
    _text(fig, 30, 160, "... ; --")
    _text(fig, 30, 190, "tiny words", fontsize=3)
    _text(fig, 30, 230, "Underlined", fontsize=14)
    # A rule through the baseline, much longer than the word.
    fig.add_artist(plt.Line2D([10 / (W_IN * 72), 200 / (W_IN * 72)],
                              [1 - 231 / (H_IN * 72)] * 2, color="black", linewidth=1.0))
    _text(fig, 230, 230, "Underlined", fontsize=14)          # same word, no rule
    # White text on a dark bar, and red text.
    fig.add_artist(Rectangle((25 / (W_IN * 72), 1 - 290 / (H_IN * 72)), 170 / (W_IN * 72),
                             35 / (H_IN * 72), color="#202060"))
    _text(fig, 30, 280, "Inverted", color="white")
    _text(fig, 230, 280, "Crimson", color="#c00000")
    _text(fig, 380, 300, "Vertical labels here", rotation=90)
    _text(fig, 230, 340, "Slanted", rotation=30)
    _text(fig, W_IN * 72 - 25, 350, "Overflowing")                # runs off the page


def _page_empty(fig):
    fig.add_artist(Rectangle((0.2, 0.2), 0.3, 0.3, color="gray"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdfds")
    pdf = _write_pdf(root / "sample.pdf", [_page_main, _page_empty])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = pdf_to_annotations([pdf], root / "out", dpi=DPI, progress=False)
    return pdf, root / "out", ann, caught


def _ink_box(gray: np.ndarray, box, pad: int = 3):
    """Independent oracle: bounding box of pixels darker/lighter than the region's mode."""
    x0, y0, x1, y1 = box
    ys, xs = slice(max(y0 - pad, 0), y1 + pad), slice(max(x0 - pad, 0), x1 + pad)
    reg = gray[ys, xs].astype(int)
    bg = np.bincount(reg.ravel()).argmax()
    ink = np.abs(reg - bg) > 0.5 * np.abs(reg - bg).max()
    rr, cc = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return (xs.start + cc[0], ys.start + rr[0], xs.start + cc[-1] + 1, ys.start + rr[-1] + 1)


def _words(rec):
    return {w.text: w for w in rec.words}


def test_pages_records_and_json_round_trip(built):
    pdf, out, ann, caught = built
    assert len(ann.images) == 1                              # page 2 has no text layer
    rec = ann.images[0]
    assert rec.file == "images/sample_p0001.png" and rec.doc == "sample"
    assert (out / rec.file).is_file()
    assert (rec.width, rec.height) == (round(W_IN * DPI), round(H_IN * DPI))
    assert any("without a text layer" in str(w.message) for w in caught)
    assert ann.extra["pdf_dataset"]["skipped_no_text"] == 1
    loaded = AnnotationSet.load(out / "annotations.json")    # validates boxes and sizes
    assert [w.text for w in loaded.images[0].words] == [w.text for w in rec.words]
    assert loaded.images[0].words[0].box == rec.words[0].box


def test_texts_are_recovered_and_normalized(built):
    words = _words(built[2].images[0])
    for t in ("Hello", "world", "again", "Second", "line", "of", "text", "costs", "Underlined",
              "Inverted", "Crimson"):
        assert t in words and not words[t].ignore, t
    assert "fine" in words and not words["fine"].ignore      # the "ﬁ" ligature, NFKC
    assert words["naïve"].ignore and words["naïve"].extra["ignore_reason"] == "charset"
    assert words["€5,"].ignore


def test_boxes_are_tight_to_the_ink(built):
    _, out, ann, _ = built
    import cv2
    rec = ann.images[0]
    gray = cv2.imread(str(out / rec.file), cv2.IMREAD_GRAYSCALE)
    checked = 0
    for w in rec.words:
        if w.ignore or w.text == "Underlined":
            continue
        oracle = _ink_box(gray, w.box)
        assert np.abs(np.subtract(oracle, w.box)).max() <= 1, (w.text, w.box, oracle)
        checked += 1
    assert checked >= 10


def test_rules_are_not_part_of_a_word(built):
    rec = built[2].images[0]
    ruled, plain = [w for w in rec.words if w.text == "Underlined"]
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = ruled.box, plain.box
    assert abs((ax1 - ax0) - (bx1 - bx0)) <= 1
    assert abs((ay1 - ay0) - (by1 - by0)) <= 1
    assert not ruled.ignore


def test_ignore_rules(built):
    rec = built[2].images[0]
    reason = {w.text: w.extra.get("ignore_reason") for w in rec.words}
    assert reason["..."] == "punctuation" and reason[";"] == "punctuation"
    assert reason["--"] == "punctuation"
    assert reason["tiny"] == "tiny" and reason["words"] == "tiny"
    for t in ("Vertical", "labels", "here"):
        assert any(w.text == t and w.extra.get("ignore_reason") == "rotated" for w in rec.words), t
    slanted = [w for w in rec.words if w.extra.get("ignore_reason") == "diagonal"]
    assert slanted, "the 30-degree text must be ignored as diagonal"
    assert reason["Inverted"] is None and reason["Crimson"] is None
    cut = [w for w in rec.words if w.text.startswith("Ov")]          # poppler drops the rest
    assert cut and all(w.extra["ignore_reason"] == "off_page" for w in cut)


def test_lines_group_words(built):
    rec = built[2].images[0]
    by_text = {ln.text: (i, ln) for i, ln in enumerate(rec.lines)}
    i, line = by_text["Hello world again"]
    members = [w for w in rec.words if w.line == i]
    assert [w.text for w in members] == ["Hello", "world", "again"]
    b = np.array([w.box for w in members])
    assert line.box == (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    assert not line.ignore
    assert by_text["Vertical labels here"][1].ignore          # rotated
    assert by_text["naïve costs €5, fine"][1].ignore         # outside the charset
    assert by_text["... ; --"][1].ignore                     # all words ignored
    assert all(w.line is not None and 0 <= w.line < len(rec.lines) for w in rec.words)


def test_normalize_pdf_text():
    assert normalize_pdf_text("\u201cﬁne\u201d\u2014it\u2019s \u2212 1") == '"fine"-it\'s - 1'


def test_parse_page_spec():
    assert parse_page_spec("1-3,5", 9) == [1, 2, 3, 5]
    assert parse_page_spec("8-", 9) == [8, 9]
    assert parse_page_spec([2, 2, 1], 9) == [2, 1]
    assert parse_page_spec((2, 4), 9) == [2, 3, 4]             # the CLI passes (first, last)
    with pytest.raises(ValueError, match="cannot read"):
        parse_page_spec("a-b", 9)
    with pytest.raises(PDFError, match="asks for page 12"):
        parse_page_spec("10-12", 9, where="doc.pdf")


def test_pages_and_max_pages(tmp_path):
    pdf = _write_pdf(tmp_path / "three.pdf", [_page_main] * 3)
    ann = pdf_to_annotations(pdf, tmp_path / "o1", pages="2-3", progress=False)
    assert [r.extra["page"] for r in ann.images] == [2, 3]
    ann = pdf_to_annotations(pdf, tmp_path / "o2", max_pages_per_pdf=2, progress=False,
                             pages=lambda path, n: range(1, n + 1))
    assert [r.file for r in ann.images] == ["images/three_p0001.png", "images/three_p0003.png"]
    with pytest.raises(PDFError, match=r"three\.pdf.*asks for page 5 .* 3 page"):
        pdf_to_annotations(pdf, tmp_path / "o3", pages="1-5", progress=False)


def test_held_out_path_rule_and_refusal(tmp_path, built):
    assert held_out_package("/usr/share/doc/octave-doc/octave.pdf") == "octave-doc"
    assert held_out_package("/usr/share/doc/r-doc-pdf/R-intro.pdf.gz") == "r-doc-pdf"
    assert held_out_package(built[0]) is None
    copy = tmp_path / "octave-doc" / "manual.pdf"
    copy.parent.mkdir()
    shutil.copy(built[0], copy)
    with pytest.raises(HeldOutPDFError, match="octave-doc") as err:
        pdf_to_annotations([copy], tmp_path / "out", progress=False)
    assert err.value.package == "octave-doc" and "manual.pdf" in str(err.value)
    ann = pdf_to_annotations([copy], tmp_path / "eval", progress=False, allow_held_out=True,
                             pages="1")
    assert len(ann.images) == 1


def test_held_out_fingerprint(tmp_path, built, monkeypatch):
    # A renamed copy of a held-out package's file is caught by size + SHA-1.
    original = tmp_path / "pkgfile.pdf"
    shutil.copy(built[0], original)
    renamed = tmp_path / "innocent.pdf"
    shutil.copy(built[0], renamed)
    index = {original.stat().st_size: [(str(original), "nauty-doc")]}
    monkeypatch.setattr(held_out, "_held_out_fingerprints", lambda: index)
    monkeypatch.setattr(held_out, "_dpkg_owners", lambda paths: {})
    assert held_out_package(renamed) == "nauty-doc"


def test_error_messages(tmp_path, monkeypatch):
    bad = tmp_path / "notes.pdf"
    bad.write_text("just some text, not a PDF\n")
    with pytest.raises(PDFError, match=r"notes\.pdf: is not a PDF"):
        pdf_to_annotations([bad], tmp_path / "o", progress=False)
    with pytest.raises(PDFError, match=r"missing\.pdf: no such file"):
        pdf_to_annotations([tmp_path / "missing.pdf"], tmp_path / "o", progress=False)
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name: None if name == "pdftoppm" else real_which(name))
    with pytest.raises(PopplerNotFoundError, match="apt-get install poppler-utils"):
        pdf_to_annotations([bad], tmp_path / "o", progress=False)


def test_gzipped_pdf_and_skip_bad_pdfs(tmp_path, built):
    import gzip
    gz = tmp_path / "packed.pdf.gz"
    gz.write_bytes(gzip.compress(built[0].read_bytes()))
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf at all")
    with pytest.warns(UserWarning, match=r"broken\.pdf: is not a PDF"):
        ann = pdf_to_annotations([bad, gz], tmp_path / "o", pages="1", progress=False,
                                 skip_bad_pdfs=True)
    assert [r.file for r in ann.images] == ["images/packed_p0001.png"]
    assert ann.images[0].doc == "packed"
    assert ann.extra["pdf_dataset"]["skipped_errors"] == 1


def test_encrypted_pdf(tmp_path, built):
    import subprocess
    locked = tmp_path / "locked.pdf"
    subprocess.run(["qpdf", "--encrypt", "secret", "secret", "256", "--", str(built[0]),
                    str(locked)], check=True)
    with pytest.raises(PDFError, match=r"locked\.pdf: is encrypted with a password"):
        pdf_to_annotations([locked], tmp_path / "o", progress=False)
    # Encrypted with an owner password only (copying forbidden): poppler reads it.
    owner = tmp_path / "owner.pdf"
    subprocess.run(["qpdf", "--encrypt", "", "owner", "256", "--extract=n", "--",
                    str(built[0]), str(owner)], check=True)
    with pytest.warns(UserWarning, match="pdftohtml cannot read it"):
        ann = pdf_to_annotations([owner], tmp_path / "o2", pages="1", progress=False)
    assert len(ann) == 1


def _layer(words):
    """A parsed text layer: ``words`` is a list of lines of (text, box in points)."""
    from keras_textnet.data.pdf.text_layer import _PLine, _PPage, _PWord
    ws, lines = [], []
    for k, line in enumerate(words):
        lines.append(_PLine(block=k, words=list(range(len(ws), len(ws) + len(line)))))
        ws.extend(_PWord(t, b, k) for t, b in line)
    return _PPage(width=600, height=800, words=ws, lines=lines, num_blocks=len(words))


def test_touching_words_are_joined():
    from keras_textnet.data.pdf.text_layer import _merge_touching_words
    # Poppler's "L", "A", "TEX3", "News" of the LaTeX logo (points).
    page = _layer([[("L", (43.7, 80.2, 57.9, 102.3)), ("A", (49.7, 80.3, 64.1, 98.7)),
                    ("TEX3", (60.7, 80.2, 114.7, 107.6)), ("News", (122.2, 80.2, 174.9, 102.3))]])
    merged = _merge_touching_words(page)
    assert [w.text for w in merged.words] == ["LATEX3", "News"]
    assert merged.words[0].box == (43.7, 80.2, 114.7, 107.6)
    assert merged.lines[0].words == [0, 1]


def test_diagonal_flags_survive_the_nodiag_bug():
    from keras_textnet.data.pdf.ignore_rules import _flag_diagonal
    from keras_textnet.data.pdf.text_layer import _word_key
    frag = [[("Di", (177.4, 179.0, 188.2, 197.6))], [("a", (188.2, 177.4, 194.6, 191.3))],
            [("go", (194.6, 169.9, 207.6, 187.7))]]
    label = [[("0.5", (300.0, 100.0, 312.0, 112.0))]]
    text = [[("Some", (50.0, 300.0, 80.0, 312.0)), ("words", (84.0, 300.0, 120.0, 312.0))]]
    page = _layer(frag + label + text)
    # -nodiag dropped only the fragments: trust it.
    _flag_diagonal(page, {_word_key(w) for w in page.words[3:]})
    assert [w.diagonal for w in page.words] == [True] * 3 + [False] * 3
    # -nodiag dropped everything (poppler bug): only the diagonal chain counts.
    page = _layer(frag + label + text)
    _flag_diagonal(page, set())
    assert [w.diagonal for w in page.words] == [True] * 3 + [False] * 3


def test_symbol_fonts_are_flagged():
    from keras_textnet.data.pdf.ignore_rules import (SYMBOL_FONT_PATTERN, _flag_symbol_fonts,
                                                     _font_name)
    for name in ("FZEOVR+TeX-feymr10", "AORFQD+Emmentaler-20", "MarVoSym", "wasy10", "MSBM10",
                 "ZapfDingbats", "tipa10"):
        assert SYMBOL_FONT_PATTERN.search(_font_name(name)), name
    for name in ("BIBFZC+CMR10", "LMRoman10-Regular", "DejaVuSans", "NimbusSans", "Fetamont"):
        assert not SYMBOL_FONT_PATTERN.search(_font_name(name)), name
    page = _layer([[("create", (179.0, 145.0, 213.0, 154.0)), ("a", (215.0, 145.0, 219.0, 154.0)),
                    ("e", (216.5, 142.6, 223.8, 155.5)), ("symbol", (227.0, 145.0, 258.0, 154.0))]])
    _flag_symbol_fonts(page, np.array([[216.5, 142.6, 223.8, 155.5]]))   # the euro glyph
    assert [w.symbol_font for w in page.words] == [False, False, True, False]


def _two_words_page(between: str, color=(0, 0, 0)):
    """A 200x60 page with two 'words' (ink blocks) at x 20-70 and 80-130, rows 20-34,
    and ``between`` drawn: "underscore" (rows 36-37 in the gap only), "baseline
    underscore" (words of serifed letters, an underscore on their feet), "underline"
    (rows 36-37 under both words and the gap), "rule" (a table rule from top to
    bottom in the gap) or "space" (nothing)."""
    image = np.full((60, 200, 3), 255, np.uint8)
    image[20:35, 20:70] = color
    image[20:35, 80:130] = color
    if between == "underscore":
        image[36:38, 71:80] = color
    elif between == "underline":
        image[36:38, 20:130] = color
    elif between == "rule":
        image[0:60, 74:76] = color
    elif between == "baseline underscore":      # letters with serifed feet, as in Courier
        image[20:35, 20:130] = 255
        for x in range(20, 130, 8):
            if not 70 <= x < 80:
                image[20:35, x:x + 3] = color
                image[33:35, x - 2:x + 5] = color
        image[33:35, 72:78] = color
    final = np.array([[20, 20, 70, 35], [80, 20, 130, 35]])
    return image, _layer([[("close", (0, 0, 1, 1)), ("output", (1, 0, 2, 1))]]), final


@pytest.mark.parametrize("between, color, flagged", [
    ("underscore", (0, 0, 0), {0, 1}), ("underscore", (200, 40, 0), {0, 1}),   # black, blue
    ("baseline underscore", (0, 0, 0), {0, 1}),
    ("space", (0, 0, 0), set()), ("underline", (0, 0, 0), set()), ("rule", (0, 0, 0), set())])
def test_ink_between_words_that_the_text_layer_does_not_list(between, color, flagged):
    from keras_textnet.data.pdf.ignore_rules import unlisted_glyph_words
    image, page, final = _two_words_page(between, color)
    assert unlisted_glyph_words(image, page, final, np.array([True, True]), [False]) == flagged
