"""A searchable PDF: each page image with an invisible text layer over its words."""

from __future__ import annotations

import io
import math

import numpy as np

from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.output_formats.page_layout import PageLayout
from keras_textnet.version import __version__

#: The text layer's font: a PDF standard font (nothing embedded; never drawn).
FONT = "Helvetica"


def _word_frame(word, scale: float, page_height: float):
    """Baseline start, unit direction along and across the word (PDF points, y up),
    its length and height; from its corners when rotated, else from its box."""
    if word.quad is not None and len(word.quad) == 4:
        (tlx, tly), (trx, try_), _, (blx, bly) = ((float(x), float(y)) for x, y in word.quad)
    else:
        x0, y0, x1, y1 = word.box
        tlx, tly, trx, try_, blx, bly = x0, y0, x1, y0, x0, y1
    length = math.hypot(trx - tlx, try_ - tly) * scale
    height = math.hypot(blx - tlx, bly - tly) * scale
    if length <= 0 or height <= 0:
        return None
    ux, uy = (trx - tlx) * scale / length, -(try_ - tly) * scale / length  # along, y up
    vx, vy = -uy, ux                                                       # across, upwards
    return (blx * scale, page_height - bly * scale), (ux, uy), (vx, vy), length, height


class SearchablePdfWriter(DocumentWriter):
    """A PDF whose pages are the page images with the words as invisible text.

    Each page is ``width * 72 / dpi`` by ``height * 72 / dpi`` points, ``dpi``
    being the page's (the PDF render resolution, the one an image states) or
    ``default_dpi``. The image fills the page (greyscale when it has no
    colour, losslessly compressed). Every word is written in text render mode
    3 (invisible) in :data:`FONT`, sized so its ascent-to-descent spans the
    word box's height and stretched horizontally (``Tz``) so its advance spans
    the box's width; rotated words follow their corners. So ``pdftotext
    -bbox`` finds each word at its box (times ``72 / dpi``), and selecting,
    copying and searching work in any viewer. Words of a line are separated
    by a space, lines follow the reading order.

    Text outside the PDF standard fonts' encoding (Windows-1252) becomes ``?``.
    """

    name = "pdf"
    extension = ".pdf"

    def __init__(self, default_dpi: float = 150.0):
        super().__init__(default_dpi)
        from reportlab.pdfgen import canvas

        self._buffer = io.BytesIO()
        self._canvas = canvas.Canvas(self._buffer, pageCompression=1)
        self._canvas.setCreator(f"keras-textnet {__version__}")
        self._canvas.setProducer(f"keras-textnet {__version__} (ReportLab)")

    def add_page(self, prediction: dict, image: np.ndarray | None = None) -> None:
        from PIL import Image
        from reportlab.lib.utils import ImageReader
        from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

        if image is None:
            raise ValueError(f"{prediction.get('file')}: the searchable PDF needs the page image")
        super().add_page(prediction, image)
        c = self._canvas
        if len(self.pages) == 1:
            c.setTitle(str(prediction.get("source") or prediction.get("file") or ""))
        dpi = float(prediction.get("dpi") or self.default_dpi)
        scale = 72.0 / dpi
        h, w = image.shape[:2]
        page_w, page_h = w * scale, h * scale
        c.setPageSize((page_w, page_h))
        grey = bool(np.array_equal(image[..., 0], image[..., 1])
                    and np.array_equal(image[..., 0], image[..., 2]))
        picture = Image.fromarray(image[..., 0] if grey else image)
        c.drawImage(ImageReader(picture), 0, 0, width=page_w, height=page_h)

        face = getFont(FONT).face
        ascent, descent = face.ascent / 1000.0, -face.descent / 1000.0
        layout = PageLayout.from_prediction({**prediction, "width": w, "height": h})
        for line in layout.lines:
            for k, word in enumerate(line.words):
                text = word.text.encode("cp1252", "replace").decode("cp1252")
                frame = _word_frame(word, scale, page_h)
                if frame is None or not text.strip():
                    continue
                (bx, by), (ux, uy), (vx, vy), length, height = frame
                size = height / (ascent + descent)
                advance = stringWidth(text, FONT, size)
                if advance <= 0:
                    continue
                t = c.beginText()
                t.setTextRenderMode(3)
                t.setFont(FONT, size)
                t.setHorizScale(100.0 * length / advance)
                t.setTextTransform(ux, uy, vx, vy, bx + vx * descent * size,
                                   by + vy * descent * size)
                t.textOut(text + (" " if k + 1 < len(line.words) else ""))
                c.drawText(t)
        c.showPage()

    def finish(self) -> bytes:
        if not self.pages:
            raise ValueError("a PDF needs at least one page")
        self._canvas.save()
        return self._buffer.getvalue()


__all__ = ["FONT", "SearchablePdfWriter"]
