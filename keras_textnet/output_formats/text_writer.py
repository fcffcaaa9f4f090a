"""Plain text: each page's lines in reading order, pages separated by a form feed."""

from __future__ import annotations

from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.reading_order import reading_order


def page_text(prediction: dict) -> str:
    """The lines of one image's prediction, in reading order, one per line."""
    lines = prediction.get("lines") or []
    order = reading_order([line["box"] for line in lines])
    return "\n".join(lines[i]["text"] for i in order)


class TextWriter(DocumentWriter):
    """The text of every page in reading order (recursive XY-cut over the lines).

    A page's text ends with a newline when it has any; pages are separated by
    a form feed (``\\f``), as Tesseract's text output. A page that could not be
    read is an empty page.
    """

    name = "text"
    extension = ".txt"
    keeps_errors = True

    def finish(self) -> bytes:
        texts = [page_text(p) for p in self.pages]
        return "\f".join(t + "\n" if t else "" for t in texts).encode("utf-8")


__all__ = ["TextWriter", "page_text"]
