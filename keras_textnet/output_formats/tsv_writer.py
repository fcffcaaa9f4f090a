"""Tesseract's TSV: one row per page, block, paragraph, line and word."""

from __future__ import annotations

from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.output_formats.page_layout import PageLayout

#: Tesseract's columns, in order.
TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left",
               "top", "width", "height", "conf", "text")


def _row(level, page, block, par, line, word, box, conf, text) -> str:
    x0, y0, x1, y1 = box
    text = " ".join(str(text).split())  # no tab or newline inside a cell
    return "\t".join(str(v) for v in (level, page, block, par, line, word, x0, y0, x1 - x0,
                                      y1 - y0, conf, text))


class TsvWriter(DocumentWriter):
    """Tesseract-compatible TSV (``tesseract IMAGE out tsv``).

    The header names :data:`TSV_COLUMNS`; then, per page, rows of level 1
    (page), 2 (block), 3 (paragraph: one per block), 4 (line) and 5 (word).
    ``page_num`` counts the document's pages from 1; ``block_num`` counts
    within the page, ``par_num`` within the block, ``line_num`` within the
    paragraph and ``word_num`` within the line, each from 1 (0 on rows above
    its level). ``left``, ``top``, ``width``, ``height`` are whole image pixels;
    ``conf`` is the word's score times 100, and -1 on rows that are not words,
    whose ``text`` is empty.
    """

    name = "tsv"
    extension = ".tsv"

    def finish(self) -> bytes:
        rows = ["\t".join(TSV_COLUMNS)]
        for p, prediction in enumerate(self.pages, start=1):
            layout = PageLayout.from_prediction(prediction)
            rows.append(_row(1, p, 0, 0, 0, 0, (0, 0, layout.width, layout.height), -1, ""))
            for b, block in enumerate(layout.blocks, start=1):
                rows.append(_row(2, p, b, 0, 0, 0, block.box, -1, ""))
                rows.append(_row(3, p, b, 1, 0, 0, block.box, -1, ""))
                for n, line in enumerate(block.lines, start=1):
                    rows.append(_row(4, p, b, 1, n, 0, line.box, -1, ""))
                    for k, word in enumerate(line.words, start=1):
                        rows.append(_row(5, p, b, 1, n, k, word.box,
                                         f"{100 * word.score:.6f}", word.text))
        return ("\n".join(rows) + "\n").encode("utf-8")


__all__ = ["TSV_COLUMNS", "TsvWriter"]
