"""Word boxes tight to the ink: the predictor's last step (NumPy and OpenCV, no TensorFlow).

The network finds **lines** and reads them; each word's place along its line
comes from the columns where CTC emitted its characters
(:mod:`keras_textnet.evaluation.line_words`), and each word first gets the
line's full height. Ground truth, and every user who crops a word, expects a
word's box tight to its own ink: "on" and "a" are x-height tall, not line
tall, and a word ends where its last letter ends, not half a character
pitch later.

This module corrects both from the page's pixels, inside each line the
network found, so it can only move a word's edges within its line:

1. The line's crop is binarised with Otsu's threshold (dark or light text,
   whichever is the minority), isolated specks are dropped (a pixel needs an
   ink neighbour), and each column is "inked" or blank.
2. The boundary between two neighbouring words, placed half-way between
   their CTC margins, moves to the nearest run of blank columns within a
   character pitch or so: the gap that separates the words on the page.
3. Each word is cut to the first and last inked column and row of its span.

Words of rotated lines (their ``quad``) are left as they are, and so is any
word whose span holds no ink (the estimate is better than nothing there).

>>> import numpy as np
>>> page = np.full((40, 200, 3), 255, np.uint8)
>>> page[12:30, 10:50] = 0; page[18:30, 70:120] = 0     # "Ab" and "on": x-height
>>> lines = [{"box": [5.0, 5.0, 125.0, 35.0], "angle": 0.0}]
>>> words = [{"box": [5.0, 5.0, 62.0, 35.0], "line": 0}, {"box": [62.0, 5.0, 125.0, 35.0],
...          "line": 0}]
>>> [w["box"] for w in tighten_words(page, lines, words)]
[[10.0, 12.0, 50.0, 30.0], [70.0, 18.0, 120.0, 30.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from keras_textnet.luminance import gray_image

#: How far (in line heights) a word boundary may move to reach a blank gap.
MAX_SHIFT = 0.8
#: Two neighbouring words whose places along the line (from the CTC positions) are
#: further apart than this many line heights keep those places: the boundary between
#: them is not moved to a blank gap half-way, which in an index or a table of contents
#: lies among the leader dots the recognizer does not read (``state. ....... 393``)
#: and gave both words the dots on their side. On our real validation pages, 1.0
#: raised word detection F 0.947 -> 0.955 and e2e F 0.8685 -> 0.8750 (clean) and
#: 0.8241 -> 0.8287 (degraded); 0.5 gained half of that, 1.5 and 2.5 as much as 1.0.
WIDE_GAP = 1.0
#: Margin (in line heights) around the line's box in which ink is looked for:
#: the detector's line box may clip an ascender or a descender by a pixel or two.
MARGIN = 0.08


def ink_mask(crop: np.ndarray) -> np.ndarray | None:
    """Boolean ink mask of a grey line crop, or None when it holds no contrast.

    Otsu's threshold splits the crop in two; the class with fewer pixels is
    the ink (so light text on a dark band works too). Pixels without an ink
    neighbour (8-connected) are noise and dropped.
    """
    import cv2

    if crop.size == 0 or int(crop.max()) - int(crop.min()) < 24:
        return None
    threshold, binary = cv2.threshold(np.ascontiguousarray(crop), 0, 1,
                                      cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0
    if ink.mean() > 0.5:
        ink = ~ink
    neighbours = cv2.filter2D(ink.astype(np.uint8), -1, np.ones((3, 3), np.float32),
                              borderType=cv2.BORDER_CONSTANT)
    ink &= neighbours >= 2   # itself and at least one neighbour
    return ink if ink.any() else None


#: Least share of a line's box that must be ink (after specks are dropped) for the
#: line to be text. On our real validation pages 99.9% of the lines found hold
#: more than 5% ink (median 19% clean, 27% degraded); what the detector finds in
#: salt-and-pepper noise holds under 3%: specks without an ink neighbour.
MIN_LINE_INK = 0.04


def ink_fraction(gray: np.ndarray, box) -> float:
    """Share of ``box`` (``[x0, y0, x1, y1]``) of a grey page that is ink (:func:`ink_mask`).

    0.0 when the box holds no contrast or lies outside the page.
    """
    height, width = gray.shape[:2]
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    ink = ink_mask(gray[y0:y1, x0:x1])
    return 0.0 if ink is None else float(ink.mean())


#: Thin marks a recognizer may read into blank paper at a line's ends: the
#: predictor reads each line ``read_padding`` line heights wider than found.
PHANTOM_MARKS = frozenset("-.,:;'`|!_~Iil1")
#: A mark at a line's end is phantom when no ink lies within this many line
#: heights of where CTC placed it (0.05 / 0.1 / 0.15 / 0.25 gave clean e2e F
#: 0.837 / 0.840 / 0.841 / 0.840 from 0.836, degraded 0.794 / 0.795 / 0.796 /
#: 0.790 from 0.782, on our real validation pages).
PHANTOM_REACH = 0.15


def drop_phantom_ends(gray: np.ndarray, box, text: str, positions, num_columns: int
                      ) -> tuple[str, np.ndarray]:
    """``text`` and ``positions`` without a thin mark read over blank paper at either end.

    Args:
        gray: the page, grey ``(H, W)`` uint8.
        box: ``[x0, y0, x1, y1]``: the upright box the line was read from (image pixels).
        text: the line as read; ``positions``: the column (of ``num_columns``) where
            CTC emitted each of its characters.

    The first and the last character, when one of :data:`PHANTOM_MARKS`, is dropped
    (with the space next to it) if the line's crop holds no ink within
    :data:`PHANTOM_REACH` line heights of its column. A mark that is printed is
    inked there and stays.

    >>> page = np.full((20, 100), 255, np.uint8); page[5:15, 40:80] = 0
    >>> drop_phantom_ends(page, [0, 0, 100, 20], "-word", [10, 60, 62, 64, 66], 100)[0]
    'word'
    """
    positions = np.asarray(positions)
    n = len(text)
    if n < 2 or not (text[0] in PHANTOM_MARKS or text[-1] in PHANTOM_MARKS):
        return text, positions
    height, width = gray.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    a, b = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), width)
    top, bottom = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), height)
    if b - a < 2 or bottom - top < 2:
        return text, positions
    ink = ink_mask(gray[top:bottom, a:b])
    if ink is None:
        return text, positions
    columns = ink.any(axis=0)
    reach = PHANTOM_REACH * (y1 - y0)

    def blank_at(k: int) -> bool:
        x = x0 + (float(positions[k]) + 0.5) / max(num_columns, 1) * (x1 - x0) - a
        lo, hi = int(max(x - reach, 0)), int(min(x + reach + 1, len(columns)))
        return hi > lo and not columns[lo:hi].any()

    keep = np.ones(n, bool)
    if text[0] in PHANTOM_MARKS and blank_at(0):
        keep[0] = False
        keep[1] = text[1] != " "
    if text[-1] in PHANTOM_MARKS and blank_at(n - 1):
        keep[n - 1] = False
        keep[n - 2] &= text[n - 2] != " "
    if keep.all() or not keep.any():
        return text, positions
    return "".join(c for c, k in zip(text, keep) if k), positions[keep]


def _blank_runs(inked: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of the runs of False in a boolean vector."""
    padded = np.concatenate([[True], inked, [True]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _snap_boundary(runs, boundary: float, reach: float) -> tuple[float, float] | None:
    """The blank run nearest ``boundary`` within ``reach``: ``(end of left, start of right)``."""
    best, best_cost = None, None
    for a, b in runs:
        cost = 0.0 if a <= boundary <= b else min(abs(boundary - a), abs(boundary - b))
        if cost > reach:
            continue
        cost -= 0.25 * (b - a)          # among near gaps, prefer the wider (a word space)
        if best_cost is None or cost < best_cost:
            best, best_cost = (a, b), cost
    return None if best is None else (float(best[0]), float(best[1]))


def tighten_words(image: np.ndarray, lines: Sequence[Mapping[str, Any]],
                  words: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Moves every axis-aligned word's box to its ink, within its line (in place; returned).

    Neighbouring words meet at the blank gap nearest the middle of their
    boundary (within :data:`MAX_SHIFT` line heights), unless they lie more than
    :data:`WIDE_GAP` line heights apart: then each keeps its own place.

    Args:
        image: the page, ``(H, W)`` or ``(H, W, 3)`` uint8, in the pixels of the boxes.
        lines: prediction-JSON lines (``box`` ``[x0, y0, x1, y1]``, ``angle`` degrees).
        words: prediction-JSON words (``box``, ``line`` = index into ``lines``), in
            reading order within each line.
    """
    gray = gray_image(np.asarray(image))
    height, width = gray.shape[:2]
    by_line: dict[int, list[dict[str, Any]]] = {}
    for word in words:
        line = word.get("line")
        if isinstance(line, int) and 0 <= line < len(lines) and "quad" not in word:
            by_line.setdefault(line, []).append(word)
    for index, members in by_line.items():
        line = lines[index]
        if abs(float(line.get("angle", 0.0) or 0.0)) > 1.0:
            continue
        lx0, ly0, lx1, ly1 = (float(v) for v in line["box"])
        margin = MARGIN * (ly1 - ly0)
        cx0, cx1 = max(int(np.floor(lx0)), 0), min(int(np.ceil(lx1)), width)
        cy0 = max(int(np.floor(ly0 - margin)), 0)
        cy1 = min(int(np.ceil(ly1 + margin)), height)
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            continue
        ink = ink_mask(gray[cy0:cy1, cx0:cx1])
        if ink is None:
            continue
        columns = ink.any(axis=0)
        runs = _blank_runs(columns)
        reach = MAX_SHIFT * (ly1 - ly0)
        members = sorted(members, key=lambda w: w["box"][0])
        spans = [[float(w["box"][0]) - cx0, float(w["box"][2]) - cx0] for w in members]
        for left, right in zip(spans, spans[1:]):
            if right[0] - left[1] > WIDE_GAP * (ly1 - ly0):
                continue
            gap = _snap_boundary(runs, (left[1] + right[0]) / 2, reach)
            if gap is not None and left[0] < gap[0] and gap[1] < right[1]:
                left[1], right[0] = gap
        for word, (s0, s1) in zip(members, spans):
            a, b = max(int(round(s0)), 0), min(int(round(s1)), ink.shape[1])
            if b <= a:
                continue
            cols = np.flatnonzero(columns[a:b])
            if cols.size == 0:
                continue
            rows = np.flatnonzero(ink[:, a:b].any(axis=1))
            x0, x1 = cx0 + a + cols[0], cx0 + a + cols[-1] + 1
            y0, y1 = cy0 + rows[0], cy0 + rows[-1] + 1
            word["box"] = [float(x0), float(y0), float(x1), float(y1)]
    return list(words)


#: A comma inside a word followed by a blank run of columns at least this many line
#: heights wide ends a word: the recognizer ran two words together and missed the
#: space (``min(x,y)`` for ``min(x, y)``, ``graph.style,52`` in an index). On our real
#: validation pages, with the weights shipped on 2026-12-07, 0.15 / 0.2 / 0.25 / 0.3 /
#: 0.4 gave word e2e F 0.9124 / 0.9126 / 0.9126 / 0.9107 / 0.9089 from 0.9078 clean
#: (0.8613 / 0.8613 / 0.8611 / 0.8595 / 0.8581 from 0.8572 degraded); a letter's own
#: gap is narrower than 0.25 of the line's height in 99% of the words read right.
SPACED_COMMA_GAP = 0.25
#: ... and that run must lie within this many character pitches (the word's inked
#: width over its length) of where the comma falls, in proportion, along the word.
SPACED_COMMA_REACH = 1.5


def split_spaced_commas(image: np.ndarray, lines: Sequence[dict[str, Any]],
                        words: Sequence[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Splits a word after each comma that a space follows on the page; returns ``(lines, words)``.

    For each upright word with a comma inside it, the word's ink is measured
    in its line's rows: a blank run of columns at least :data:`SPACED_COMMA_GAP`
    line heights wide, within :data:`SPACED_COMMA_REACH` character pitches of
    the comma, is the space the recognizer missed. The word becomes its pieces,
    each boxed tight to its own ink, and the line's text says the space.
    Numbers (``1,000``) have no such gap after their comma and stay whole.
    Unchanged inputs come back as they were (the same lists).

    >>> page = np.full((30, 160, 3), 255, np.uint8)
    >>> for x in (10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 73, 78, 83, 88):  # letter strokes
    ...     page[8:22, x:x + 2] = 0
    >>> page[18:24, 61:63] = 0                                   # the comma
    >>> lines = [{"box": [10.0, 8.0, 90.0, 24.0], "text": "min(x,y)", "angle": 0.0}]
    >>> words = [{"box": [10.0, 8.0, 90.0, 24.0], "text": "min(x,y)", "line": 0}]
    >>> lines, words = split_spaced_commas(page, lines, words)
    >>> lines[0]["text"], [(w["text"], w["box"]) for w in words]
    ('min(x, y)', [('min(x,', [10.0, 8.0, 63.0, 24.0]), ('y)', [73.0, 8.0, 90.0, 22.0])])
    """
    gray = gray_image(np.asarray(image))
    height, width = gray.shape[:2]
    out: list[dict[str, Any]] = []
    changed: dict[int, list[tuple[str, str]]] = {}
    for word in words:
        pieces = None
        text, index = word.get("text") or "", word.get("line")
        if ("," in text[:-1] and "quad" not in word and isinstance(index, int)
                and 0 <= index < len(lines)
                and abs(float(lines[index].get("angle", 0.0) or 0.0)) <= 1.0):
            pieces = _split_word(gray, lines[index]["box"], word, width, height)
        if pieces is None:
            out.append(word)
            continue
        out.extend(pieces)
        changed.setdefault(index, []).append((text, " ".join(p["text"] for p in pieces)))
    if not changed:
        return lines, words
    from keras_textnet.line_joining import retext_lines

    return retext_lines(lines, out, changed), out


def _split_word(gray, line_box, word, width: int, height: int) -> list[dict] | None:
    """``word``'s pieces at the commas a blank gap follows, or None."""
    text = word["text"]
    y0, y1 = max(int(np.floor(line_box[1])), 0), min(int(np.ceil(line_box[3])), height)
    x0, x1 = max(int(np.floor(word["box"][0])), 0), min(int(np.ceil(word["box"][2])), width)
    line_height = float(line_box[3]) - float(line_box[1])
    if y1 - y0 < 2 or x1 - x0 < 2 or line_height <= 0:
        return None
    ink = ink_mask(gray[y0:y1, x0:x1])
    if ink is None:
        return None
    columns = ink.any(axis=0)
    inked = np.flatnonzero(columns)
    if inked.size < 2:
        return None
    a, b = int(inked[0]), int(inked[-1]) + 1
    gaps = [(a + s, a + e) for s, e in _blank_runs(columns[a:b])
            if e - s >= SPACED_COMMA_GAP * line_height]
    if not gaps:
        return None
    pitch = (b - a) / len(text)
    cuts, last_gap = [], -1
    for k, ch in enumerate(text[:-1]):
        if ch != ",":
            continue
        where = a + (k + 1) * pitch
        near = [(abs((s + e) / 2 - where), g) for g, (s, e) in enumerate(gaps)
                if g > last_gap and abs((s + e) / 2 - where) <= SPACED_COMMA_REACH * pitch]
        if near:
            last_gap = min(near)[1]
            cuts.append((k + 1, gaps[last_gap]))
    if not cuts:
        return None
    pieces, start_char, start_col = [], 0, a
    for end_char, (gap_start, gap_end) in [*cuts, (len(text), (b, b))]:
        rows = np.flatnonzero(ink[:, start_col:gap_start].any(axis=1))
        cols = np.flatnonzero(columns[start_col:gap_start])
        if rows.size == 0 or cols.size == 0:
            return None
        pieces.append({**word, "text": text[start_char:end_char],
                       "box": [float(x0 + start_col + cols[0]), float(y0 + rows[0]),
                               float(x0 + start_col + cols[-1] + 1), float(y0 + rows[-1] + 1)]})
        start_char, start_col = end_char, gap_end
    return pieces


__all__ = ["MARGIN", "MAX_SHIFT", "MIN_LINE_INK", "PHANTOM_MARKS", "PHANTOM_REACH",
           "SPACED_COMMA_GAP", "SPACED_COMMA_REACH", "WIDE_GAP", "drop_phantom_ends",
           "ink_fraction", "ink_mask", "split_spaced_commas", "tighten_words"]
