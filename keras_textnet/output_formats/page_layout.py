"""One page's prediction as blocks of lines of words, in reading order, on whole pixels.

The OCR document formats (hOCR, ALTO, Tesseract TSV, the searchable PDF's
text layer) nest words in lines in blocks. A prediction (``FORMATS.md``) has
lines, and words that name their line by index (``"line"``). This module:

* orders the lines with :func:`keras_textnet.reading_order.reading_order`
  (recursive XY-cut: columns left to right, each top to bottom);
* keeps each line's words in their order in the prediction (the text order);
  a word without a valid ``line`` becomes a line of its own; a line left
  without words (all of them cut away at the image border) is left out, as
  those formats cannot hold an empty line;
* groups consecutive lines into blocks: a line joins the previous line's
  block when it lies below it (its top at least half a line height lower),
  overlaps it horizontally and the vertical gap between them is at most one
  line height (the smaller of the two). A column jump, a new row of a table or
  a paragraph gap starts a new block.

Box convention: ``(x0, y0, x1, y1)`` in the image's own pixels, ``x1`` / ``y1``
exclusive, rounded to whole pixels (so within half a pixel of the
prediction's boxes) and at least one pixel wide and tall. A line's box is the
union of its predicted box and its words' boxes, a block's the union of its
lines' boxes, so every box contains those nested in it.

>>> layout = PageLayout.from_prediction({"width": 200, "height": 100, "lines": [
...     {"box": [10, 10, 90, 22], "text": "Hello world", "score": 0.9}], "words": [
...     {"box": [10, 10, 45.4, 22], "text": "Hello", "score": 0.9, "line": 0},
...     {"box": [52.6, 10, 90, 22], "text": "world", "score": 0.9, "line": 0}]})
>>> [[w.box for w in line.words] for block in layout.blocks for line in block.lines]
[[(10, 10, 45, 22), (53, 10, 90, 22)]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from keras_textnet.reading_order import reading_order

Box = tuple[int, int, int, int]


@dataclass
class LayoutWord:
    """A word: its box, text, score in [0, 1], and its four corners when rotated."""

    box: Box
    text: str
    score: float
    quad: list[list[float]] | None = None


@dataclass
class LayoutLine:
    """A text line: its box, text, score, angle (degrees, counter-clockwise) and words."""

    box: Box
    text: str
    score: float
    angle: float = 0.0
    words: list[LayoutWord] = field(default_factory=list)


@dataclass
class LayoutBlock:
    """Consecutive lines read together (a paragraph, a column piece, a table cell)."""

    box: Box
    lines: list[LayoutLine] = field(default_factory=list)


def pixel_box(box, width: int | None = None, height: int | None = None) -> Box:
    """``box`` rounded to whole pixels, at least 1 px wide and tall, inside the image."""
    x0, y0, x1, y1 = (int(math.floor(float(v) + 0.5)) for v in box)
    if width:
        x0, x1 = min(max(x0, 0), width - 1), min(max(x1, 1), width)
    if height:
        y0, y1 = min(max(y0, 0), height - 1), min(max(y1, 1), height)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _union(boxes) -> Box:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _same_block(prev: Box, box: Box) -> bool:
    height = max(1, min(prev[3] - prev[1], box[3] - box[1]))
    below = box[1] >= prev[1] + 0.5 * height
    overlaps = min(prev[2], box[2]) > max(prev[0], box[0])
    return below and overlaps and box[1] - prev[3] <= height


class PageLayout:
    """A page's words in lines in blocks, in reading order (see the module docstring).

    Args:
        width, height: the page image's size in pixels.
        blocks: the page's :class:`LayoutBlock` s in reading order.
    """

    def __init__(self, width: int, height: int, blocks: list[LayoutBlock]):
        self.width = int(width)
        self.height = int(height)
        self.blocks = blocks

    @property
    def lines(self) -> list[LayoutLine]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def words(self) -> list[LayoutWord]:
        return [word for line in self.lines for word in line.words]

    @classmethod
    def from_prediction(cls, prediction: dict) -> "PageLayout":
        """The layout of one image's prediction (``FORMATS.md``: ``words``, ``lines``)."""
        width, height = int(prediction.get("width") or 0), int(prediction.get("height") or 0)
        raw_lines = list(prediction.get("lines") or [])
        lines = [LayoutLine(box=pixel_box(ln["box"], width, height), text=str(ln["text"]),
                            score=float(ln.get("score", 1.0)),
                            angle=float(ln.get("angle", 0.0) or 0.0)) for ln in raw_lines]
        boxes = [ln["box"] for ln in raw_lines]
        for w in prediction.get("words") or []:
            word = LayoutWord(box=pixel_box(w["box"], width, height), text=str(w["text"]),
                              score=float(w.get("score", 1.0)), quad=w.get("quad"))
            index = w.get("line")
            if isinstance(index, int) and not isinstance(index, bool) and \
                    0 <= index < len(raw_lines):
                lines[index].words.append(word)
            else:
                lines.append(LayoutLine(box=word.box, text=word.text, score=word.score,
                                        words=[word]))
                boxes.append(w["box"])
        blocks: list[LayoutBlock] = []
        for i in reading_order(boxes):
            line = lines[i]
            if not line.words:
                continue
            line.box = _union([line.box] + [w.box for w in line.words])
            if blocks and _same_block(blocks[-1].lines[-1].box, line.box):
                blocks[-1].lines.append(line)
            else:
                blocks.append(LayoutBlock(box=line.box, lines=[line]))
        for block in blocks:
            block.box = _union(line.box for line in block.lines)
        return cls(width or max((b.box[2] for b in blocks), default=1),
                   height or max((b.box[3] for b in blocks), default=1), blocks)


__all__ = ["LayoutBlock", "LayoutLine", "LayoutWord", "PageLayout", "pixel_box"]
