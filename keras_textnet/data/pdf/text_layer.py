"""A page's text layer as ``pdftotext -bbox-layout`` gives it, in PDF points.

:class:`_PPage` holds the words (text, box ``(x0, y0, x1, y1)`` in points, the
line they are on, the flags the ignore rules set) and the lines (the block
they are in, their words). :func:`_merge_touching_words` joins the words that
poppler split at a baseline jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _PWord:
    text: str
    box: tuple[float, float, float, float]      # points
    line: int
    diagonal: bool = False
    symbol_font: bool = False


@dataclass
class _PLine:
    block: int
    words: list[int] = field(default_factory=list)


@dataclass
class _PPage:
    width: float
    height: float
    words: list[_PWord]
    lines: list[_PLine]
    num_blocks: int


def _word_key(w: _PWord) -> tuple:
    return (w.text, *(round(v, 1) for v in w.box))


def _merge_touching_words(page: _PPage) -> _PPage:
    """Joins words of a line whose boxes touch or overlap along the line.

    Poppler starts a new word where the baseline or the font size jumps even
    without a space: the raised "A" of the LaTeX logo gives "L", "A", "TEX".
    Words closer than 0.08 of the line height (a real space is over 0.1 em,
    poppler's own word-break) are one word on the page.
    """
    words: list[_PWord] = []
    lines: list[_PLine] = []
    for ln in page.lines:
        ws = [page.words[i] for i in ln.words]
        vertical = (len(ws) >= 2
                    and abs(ws[-1].box[1] - ws[0].box[1]) > abs(ws[-1].box[0] - ws[0].box[0]))
        a0, a1 = (1, 3) if vertical else (0, 2)      # along-the-line coordinates
        c0, c1 = (0, 2) if vertical else (1, 3)
        merged: list[_PWord] = []
        for w in ws:
            prev = merged[-1] if merged else None
            if prev is not None:
                cross = min(prev.box[c1] - prev.box[c0], w.box[c1] - w.box[c0])
                forward = w.box[a1] > prev.box[a1]
                gap = w.box[a0] - prev.box[a1]
                if forward and gap < 0.08 * cross:
                    box = (min(prev.box[0], w.box[0]), min(prev.box[1], w.box[1]),
                           max(prev.box[2], w.box[2]), max(prev.box[3], w.box[3]))
                    merged[-1] = _PWord(prev.text + w.text, box, len(lines),
                                        prev.diagonal or w.diagonal,
                                        prev.symbol_font or w.symbol_font)
                    continue
            merged.append(_PWord(w.text, w.box, len(lines), w.diagonal, w.symbol_font))
        first = len(words)
        lines.append(_PLine(block=ln.block, words=list(range(first, first + len(merged)))))
        words.extend(merged)
    return _PPage(width=page.width, height=page.height, words=words, lines=lines,
                  num_blocks=page.num_blocks)
