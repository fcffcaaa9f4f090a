"""Text lines with CTC column positions -> words with boxes (pure NumPy, no TensorFlow).

The model reads text **lines**: for every character of a decoded line it knows
the recognizer column where CTC emitted it. The evaluation protocol scores
**words**, so the predictor splits each line at spaces and places every word
along the line from its characters' columns.

Box convention: ``box`` is ``(x0, y0, x1, y1)`` in image pixels, ``x1``/``y1``
exclusive (continuous extent ``[x0, x1] x [y0, y1]``). A ``quad`` is four
``[x, y]`` corners clockwise from the top-left of the text (top-left,
top-right, bottom-right, bottom-left), as in the annotation format.

The estimate
------------
Let ``N = num_columns`` (the line's pooled width ``w_i``) and ``s`` the
position along the line as a fraction of its length (0 at its start, 1 at its
end). Column ``c`` covers ``[c / N, (c + 1) / N]`` and a character emitted there
is taken to sit at the column's centre, ``(c + 0.5) / N``.

* The character pitch is the line's mean column spacing per character,
  ``(positions[-1] - positions[0]) / (len(text) - 1)`` columns (spaces are
  characters too; a one-character line has pitch ``N``).
* A word spans from half a pitch before its first character's centre to half a
  pitch after its last character's centre, clipped to the line.
* Two neighbouring words whose margins overlap meet half-way.
* With ``snap_ends`` (the default), the first word starts where the line starts
  and the last word ends where the line ends: line boxes are tight to the ink,
  so the outer edges are known exactly and the columns only place the gaps.
* Every word gets the line's full height.

A rotated line (``angle_degrees`` != 0 or a ``quad``) is handled along its own
axis: the word is the slice ``[s0, s1]`` of the line's quad (top edge and bottom
edge interpolated alike), returned as its quad and its axis-aligned bounds.

>>> [(w, b) for w, b, _ in split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20,
...                                                (0, 0, 200, 40))]
[('ab', (0.0, 0.0, 85.0, 40.0)), ('cd', (125.0, 0.0, 200.0, 40.0))]
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_WORD = re.compile(r"\S+")


def _finite(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        and math.isfinite(float(v))


def line_quad(box, angle_degrees: float = 0.0) -> np.ndarray:
    """The ``(4, 2)`` corners of a line given as its unrotated rectangle and an angle.

    ``box`` is the line's rectangle *before* rotation (its centre, width and
    height are the rotated line's: the model's ``(cx, cy, w, h, theta)``); the
    rectangle is turned by ``angle_degrees`` counter-clockwise (as seen on the
    screen, y pointing down; ``cv2.getRotationMatrix2D``'s sense) about its
    centre. Corners clockwise from the text's top-left.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    if not angle_degrees:
        return corners
    t = math.radians(float(angle_degrees))
    c, s = math.cos(t), math.sin(t)
    rot = np.array([[c, s], [-s, c]])
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    return (corners - centre) @ rot.T + centre


def word_extents(text: str, positions: Sequence[int], num_columns: int,
                 snap_ends: bool = True) -> list[tuple[str, float, float]]:
    """``(word, s0, s1)`` for each space-separated word: its span along the line in ``[0, 1]``.

    See the module docstring for the estimate. Raises ``ValueError`` on bad
    positions or columns, ``TypeError`` when ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; received {type(text).__name__} {text!r}")
    if (not isinstance(num_columns, (int, np.integer)) or isinstance(num_columns, bool)
            or num_columns < 1):
        raise ValueError(f"num_columns must be a positive integer; received {num_columns!r}")
    pos = np.asarray(positions, np.float64).reshape(-1) if len(positions) else np.zeros(0)
    if pos.size != len(text):
        raise ValueError(f"positions must give one column per character of text: {len(text)} "
                         f"character(s) in {text!r} but {pos.size} position(s)")
    if pos.size and (not np.all(np.isfinite(pos)) or pos.min() < 0 or pos.max() >= num_columns):
        raise ValueError(f"positions must lie in [0, num_columns={num_columns}); received "
                         f"{list(positions)!r}")
    if pos.size > 1 and np.any(np.diff(pos) < 0):
        raise ValueError(f"positions must not decrease (CTC emits characters left to right); "
                         f"received {list(positions)!r}")
    spans = [(m.group(), m.start(), m.end() - 1) for m in _WORD.finditer(text)]
    if not spans:
        return []
    n = float(num_columns)
    pitch = (pos[-1] - pos[0]) / (len(text) - 1) if len(text) > 1 else n
    half = pitch / 2
    out = []
    for word, first, last in spans:
        s0 = (pos[first] + 0.5 - half) / n
        s1 = (pos[last] + 0.5 + half) / n
        out.append([word, min(max(s0, 0.0), 1.0), min(max(s1, 0.0), 1.0)])
    for a, b in itertools.pairwise(out):
        if a[2] > b[1]:
            a[2] = b[1] = (a[2] + b[1]) / 2
    if snap_ends:
        out[0][1] = 0.0
        out[-1][2] = 1.0
    return [(w, float(s0), float(s1)) for w, s0, s1 in out]


def split_line_into_words(text: str, positions: Sequence[int], num_columns: int, box,
                          angle_degrees: float = 0.0, quad=None, snap_ends: bool = True
                          ) -> list[tuple[str, tuple[float, float, float, float],
                                          list[list[float]] | None]]:
    """Splits one decoded line at spaces and places each word in the image.

    Args:
        text: the decoded line.
        positions: one recognizer column per character of ``text`` (spaces
            included): where CTC emitted it, in ``[0, num_columns)``.
        num_columns: the line's pooled width ``w_i`` (columns before padding).
        box: ``(x0, y0, x1, y1)``: the line's rectangle in image pixels; with an
            angle, the rectangle *before* rotation about its centre (see
            :func:`line_quad`).
        angle_degrees: the line's rotation, degrees counter-clockwise.
        quad: the line's four corners, clockwise from the text's top-left. When
            given it defines the line and ``box``/``angle_degrees`` are not used
            for placement.
        snap_ends: start the first word at the line's start and end the last
            word at the line's end (line boxes are tight to the ink).

    Returns:
        ``[(word_text, (x0, y0, x1, y1), quad_or_None)]`` in reading order. The
        box is the word's axis-aligned bounds; the quad is given (four
        ``[x, y]``) when the line is rotated or came with a quad, else None.
        Empty when the text holds no word.

    Raises:
        ValueError: positions that do not fit the text or the columns, or a
            degenerate box.
    """
    if (not isinstance(box, (list, tuple, np.ndarray)) or len(box) != 4
            or not all(_finite(v) for v in box)):
        raise ValueError(f"box must be 4 finite numbers (x0, y0, x1, y1); received {box!r}")
    if not (box[2] > box[0] and box[3] > box[1]):
        raise ValueError(f"box is degenerate (needs x1 > x0 and y1 > y0); received {list(box)!r}")
    if not _finite(angle_degrees):
        raise ValueError(f"angle_degrees must be a finite number; received {angle_degrees!r}")
    extents = word_extents(text, positions, num_columns, snap_ends=snap_ends)
    rotated = quad is not None or float(angle_degrees) != 0.0
    if quad is not None:
        corners = np.asarray(quad, np.float64)
        if corners.shape != (4, 2) or not np.all(np.isfinite(corners)):
            raise ValueError(f"quad must be four [x, y] corners; received {quad!r}")
    else:
        corners = line_quad(box, angle_degrees)
    tl, tr, br, bl = corners
    out = []
    for word, s0, s1 in extents:
        if not rotated:
            x0, y0, x1, y1 = (float(v) for v in box)
            length = x1 - x0
            out.append((word, (x0 + s0 * length, y0, x0 + s1 * length, y1), None))
            continue
        q = np.stack([tl + s0 * (tr - tl), tl + s1 * (tr - tl),
                      bl + s1 * (br - bl), bl + s0 * (br - bl)])
        bounds = (float(q[:, 0].min()), float(q[:, 1].min()),
                  float(q[:, 0].max()), float(q[:, 1].max()))
        out.append((word, bounds, [[float(x), float(y)] for x, y in q]))
    return out


def lines_to_words(lines: Sequence[Mapping[str, Any]], snap_ends: bool = True
                   ) -> list[dict[str, Any]]:
    """Word dicts of the prediction format for a list of decoded lines.

    Args:
        lines: dicts with ``text``, ``positions``, ``num_columns``, ``box``
            (as in :func:`split_line_into_words`) and optionally ``angle``
            (degrees, CCW; default 0), ``quad``, ``score`` and ``char_scores``
            (one confidence per character).
        snap_ends: see :func:`split_line_into_words`.

    Returns:
        ``[{"box", "text", "line", ["score"], ["angle", "quad"]}]``: ``line`` is
        the index of the source line; ``score`` is the mean of the word's
        ``char_scores`` times the line's ``score`` (either alone when only one
        is given; absent when neither is); ``angle`` and ``quad`` are present
        for rotated lines.

    Raises:
        ValueError: naming the line (index) and the problem.
        TypeError: a line that is not a dict.
    """
    words = []
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            raise TypeError(f"line {i}: must be a dict; received {line!r}")
        missing = [k for k in ("text", "positions", "num_columns", "box") if k not in line]
        if missing:
            raise ValueError(f"line {i}: missing {', '.join(missing)}")
        angle = line.get("angle", 0.0) or 0.0
        try:
            placed = split_line_into_words(line["text"], line["positions"], line["num_columns"],
                                           line["box"], angle_degrees=angle,
                                           quad=line.get("quad"), snap_ends=snap_ends)
        except ValueError as e:
            raise ValueError(f"line {i} ({line.get('text')!r}): {e}") from None
        char_scores = line.get("char_scores")
        if char_scores is not None and len(char_scores) != len(line["text"]):
            raise ValueError(f"line {i}: char_scores must give one score per character "
                             f"({len(line['text'])}); received {len(char_scores)}")
        starts = [m.start() for m in _WORD.finditer(line["text"])]
        for (word, box, quad), start in zip(placed, starts):
            d: dict[str, Any] = {"box": [float(v) for v in box], "text": word, "line": i}
            score = line.get("score")
            if char_scores is not None:
                mean = float(np.mean(np.asarray(char_scores[start:start + len(word)],
                                                np.float64)))
                score = mean if score is None else float(score) * mean
            if score is not None:
                d["score"] = float(score)
            if quad is not None:
                d["angle"] = float(angle)
                d["quad"] = quad
            words.append(d)
    return words
