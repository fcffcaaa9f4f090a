"""One PDF page: its text layer and its rendering made into words and lines.

:func:`_process_page` reads the page's text layer (twice: with and without
``-nodiag``, and the fonts from ``pdftohtml``), flags diagonal and symbol-font
words, joins touching words, renders the page into ``images_dir``, tightens
every word box to the ink (:mod:`keras_textnet.data.pdf.ink`) and names the
ignored words (:mod:`keras_textnet.data.pdf.ignore_rules`).

Box convention: ``(x0, y0, x1, y1)`` in the pixels of the PNG as stored,
``x1`` / ``y1`` exclusive, axis-aligned, tight to the ink.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from keras_textnet.charset import Charset
from keras_textnet.data.annotation import ImageRecord, Line, Word
from keras_textnet.data.pdf.ignore_rules import (_flag_diagonal, _flag_symbol_fonts,
                                                 _is_vertical_line, _line_ignored,
                                                 _rotated_blocks, _word_ignore_reasons,
                                                 normalize_pdf_text, unlisted_glyph_words)
from keras_textnet.data.pdf.ink import _pixel_box, tighten_to_ink
from keras_textnet.data.pdf.poppler import (_PDFInfo, _pdftotext_page, _render_page,
                                            _symbol_font_runs)
from keras_textnet.data.pdf.text_layer import _merge_touching_words, _PPage, _word_key


def _annotate_page(image: np.ndarray, page: _PPage, dpi: float,
                   charset: Charset) -> tuple[list[Word], list[Line]]:
    """Words and lines of one rendered page (rules: :mod:`~keras_textnet.data.pdf.ink`,
    :mod:`~keras_textnet.data.pdf.ignore_rules`).

    Args:
        image: ``(height, width, 3)`` or ``(height, width)`` uint8 rendering of the page.
        page: the parsed text layer.
        dpi: the rendering resolution (points are scaled by ``dpi / 72``).
        charset: words with other characters are ignore.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    scale = dpi / 72.0
    margin = max(1, round(2 * dpi / 150))
    n = len(page.words)
    boxes = np.array([_pixel_box(w.box, scale, width, height) for w in page.words],
                     np.int64).reshape(-1, 4)
    on_page = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    raw = np.asarray([w.box for w in page.words], np.float64).reshape(-1, 4) * scale
    cut = ((raw[:, 0] < 0.5) | (raw[:, 1] < 0.5) | (raw[:, 2] > width - 0.5)
           | (raw[:, 3] > height - 0.5))                 # runs off the page edge
    rot_blocks = _rotated_blocks(page)
    line_rotated = [ln.block in rot_blocks for ln in page.lines]
    line_vertical = [rot and _is_vertical_line(page, ln)
                     for ln, rot in zip(page.lines, line_rotated)]

    final = boxes.copy()
    texts = [normalize_pdf_text(w.text) for w in page.words]
    ink_found = np.zeros(n, bool)
    status = ["no_ink"] * n
    fill = np.zeros(n)
    for li, ln in enumerate(page.lines):
        idx = [i for i in ln.words if on_page[i]]
        if not idx:
            continue
        lb = boxes[idx]
        lx0, ly0, lx1, ly1 = lb[:, 0].min(), lb[:, 1].min(), lb[:, 2].max(), lb[:, 3].max()
        cross = (lx1 - lx0) if line_vertical[li] else (ly1 - ly0)
        pad = max(margin, int(round(0.3 * cross)))
        for i in idx:
            x0, y0, x1, y1 = boxes[i]
            if line_vertical[li]:
                allowed = (lx0 - margin, y0 - margin, lx1 + margin, y1 + margin)
            else:
                allowed = (x0 - margin, ly0 - margin, x1 + margin, ly1 + margin)
            allowed = (max(0, allowed[0]), max(0, allowed[1]), min(width, allowed[2]),
                       min(height, allowed[3]))
            found = tighten_to_ink(image, boxes, i, allowed, pad)
            status[i], fill[i] = found.status, found.fill
            if found.box is not None:
                final[i] = found.box
                ink_found[i] = True

    unlisted = unlisted_glyph_words(image, page, final, ink_found, line_rotated)
    reason = _word_ignore_reasons(page, texts, final, ink_found, status, fill, cut,
                                  line_rotated, line_vertical, charset, unlisted)

    words: list[Word] = []
    lines: list[Line] = []
    for li, ln in enumerate(page.lines):
        idx = [i for i in ln.words if on_page[i]]
        if not idx:
            continue
        line_id = len(lines)
        for i in idx:
            extra = {"ignore_reason": reason[i]} if reason[i] else {}
            words.append(Word(box=tuple(int(v) for v in final[i]), text=texts[i],
                              ignore=reason[i] is not None, line=line_id, extra=extra))
        fb = final[idx]
        text = " ".join(texts[i] for i in idx)
        ignore = _line_ignored([reason[i] for i in idx], text, charset)
        lines.append(Line(box=(int(fb[:, 0].min()), int(fb[:, 1].min()),
                               int(fb[:, 2].max()), int(fb[:, 3].max())),
                          text=text, ignore=ignore))
    return words, lines


@dataclass
class _PageResult:
    record: ImageRecord | None
    seconds: float
    reasons: dict[str, int]


def _process_page(pdf: _PDFInfo, page: int, dpi: float, images_dir: Path, charset: Charset,
                  grayscale: bool) -> _PageResult:
    t0 = time.perf_counter()
    layer = _pdftotext_page(pdf, page, nodiag=False)
    if not layer.words:
        return _PageResult(None, time.perf_counter() - t0, {})
    kept = {_word_key(w) for w in _pdftotext_page(pdf, page, nodiag=True).words}
    _flag_diagonal(layer, kept)
    _flag_symbol_fonts(layer, _symbol_font_runs(pdf, page))
    layer = _merge_touching_words(layer)
    name = f"{pdf.stem}_p{page:04d}.png"
    image = _render_page(pdf, page, dpi, grayscale)
    if not cv2.imwrite(str(images_dir / name), image, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"cannot write {images_dir / name}")
    h, w = image.shape[:2]
    expect = (layer.width * dpi / 72, layer.height * dpi / 72)
    # A page with /Rotate 90 or 270 reports its unrotated size; its words are rotated.
    if (max(abs(expect[0] - w), abs(expect[1] - h)) > 2
            and max(abs(expect[1] - w), abs(expect[0] - h)) > 2):
        warnings.warn(f"{pdf.source}: page {page} renders at {w}x{h} px but its text layer "
                      f"is {layer.width:g}x{layer.height:g} pt ({expect[0]:.0f}x{expect[1]:.0f} px)"
                      f"; word boxes may be misplaced.", stacklevel=3)
    words, lines = _annotate_page(image, layer, dpi, charset)
    reasons: dict[str, int] = {}
    for wd in words:
        r = wd.extra.get("ignore_reason", "kept")
        reasons[r] = reasons.get(r, 0) + 1
    rec = ImageRecord(file=f"images/{name}", width=w, height=h, words=words, lines=lines,
                      doc=pdf.stem, extra={"page": page})
    return _PageResult(rec, time.perf_counter() - t0, reasons)
