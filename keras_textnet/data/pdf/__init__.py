"""Real-PDF datasets: pages of PDFs with a text layer, rendered, with word and line truth.

Each page is rendered by poppler (``pdftoppm``, media box, annotations hidden)
and its text layer is read with ``pdftotext -bbox-layout`` (page / flow / block
/ line / word, in PDF points, scaled by ``dpi / 72``). Poppler's word boxes
span the font's ascent and descent and the glyphs' advance widths; every word
box is **tightened to the ink** of the rendered page, the convention of
``shared/FORMATS.md`` (and of Tesseract's word boxes). Words of one line whose
boxes touch (poppler splits "LaTeX" into "L", "A", "TEX" at the baseline jumps)
are joined first.

Box convention: ``(x0, y0, x1, y1)`` in the pixels of the PNG as stored,
``x1`` / ``y1`` exclusive, axis-aligned, tight to the ink.

One module for each part:

* :mod:`~keras_textnet.data.pdf.poppler`: the poppler tools (``pdfinfo``,
  ``pdftotext``, ``pdftohtml``, ``pdftoppm``) and their errors;
* :mod:`~keras_textnet.data.pdf.text_layer`: the parsed text layer, touching
  words joined;
* :mod:`~keras_textnet.data.pdf.held_out`: the held-out guard;
* :mod:`~keras_textnet.data.pdf.ink`: word boxes tightened to the ink;
* :mod:`~keras_textnet.data.pdf.ignore_rules`: which words and lines are
  ignore, and why (the reason is kept in a word's ``ignore_reason`` field);
* :mod:`~keras_textnet.data.pdf.page`: one page made into words and lines;
* :mod:`~keras_textnet.data.pdf.dataset`: :func:`pdf_to_annotations`, the
  dataset builder.

Held-out documents
------------------
The PDFs of the Debian packages in :data:`HELD_OUT_PACKAGES` are kept for the
project's independent evaluation. :func:`pdf_to_annotations` refuses them with
:class:`HeldOutPDFError` unless ``allow_held_out=True``; **that flag exists only
for building the independent evaluation set** and must never be used to build
training or validation data.

Example::

    from keras_textnet.data.pdf import pdf_to_annotations
    ann = pdf_to_annotations(["manual.pdf"], "data_cache/manual", dpi=150,
                             pages="1-5")
    ann.images[0].words[0].box      # (x0, y0, x1, y1), tight to the ink
"""

from keras_textnet.data.pdf.dataset import PageSelector, parse_page_spec, pdf_to_annotations
from keras_textnet.data.pdf.held_out import (HELD_OUT_PACKAGES, HeldOutPDFError,
                                             held_out_package, held_out_packages)
from keras_textnet.data.pdf.ignore_rules import (IGNORE_REASONS, MAX_INK_OVERLAP,
                                                 MIN_X_HEIGHT_PX, SYMBOL_FONT_PATTERN,
                                                 TYPOGRAPHIC_TO_ASCII, estimate_x_height,
                                                 is_punctuation_only, normalize_pdf_text)
from keras_textnet.data.pdf.ink import MIN_CONTRAST, InkBox, tighten_to_ink
from keras_textnet.data.pdf.poppler import PDFError, PopplerNotFoundError, pdf_text

__all__ = ["HELD_OUT_PACKAGES", "pdf_text", "IGNORE_REASONS", "MAX_INK_OVERLAP", "MIN_CONTRAST",
           "MIN_X_HEIGHT_PX", "SYMBOL_FONT_PATTERN", "TYPOGRAPHIC_TO_ASCII", "HeldOutPDFError",
           "InkBox", "PDFError", "PageSelector", "PopplerNotFoundError", "estimate_x_height",
           "held_out_package", "held_out_packages", "is_punctuation_only", "normalize_pdf_text",
           "parse_page_spec", "pdf_to_annotations", "tighten_to_ink"]
