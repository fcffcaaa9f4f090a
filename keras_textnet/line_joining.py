"""Pieces of one text line, found apart, joined back into the line (NumPy only).

The network's detector sees a limited stretch of the page around each box: a
line far wider than that is found as a few **segments** cut at word gaps (the
``segments`` training target, :func:`keras_textnet.data.pipeline.line_segments`),
each read on its own. Users, and every document format, want lines: this
module joins the segments that continue each other on the same row.

Two upright lines are joined when the right one continues the left one: they
overlap vertically by at least ``MIN_OVERLAP`` of the shorter height, their
heights differ by at most ``MAX_HEIGHT_RATIO``, the right one ends further
right, and the gap between them is at most ``MAX_GAP`` line heights. Pieces may
overlap: the detector does not know where a long line started, so two of its
pieces can both read the words between them. Where they overlap, each word is
kept from one piece only: the overlap is cut in its middle, and each piece
keeps the words whose centres lie on its side. A table's cells on one row, a
column gap or two lines of different type sizes are further apart or differ in
height, and stay separate. Rotated lines are left alone.

>>> lines = [{"box": [10, 10, 200, 30], "text": "the quick", "score": 0.9, "angle": 0.0},
...          {"box": [206, 11, 400, 30], "text": "brown fox", "score": 0.8, "angle": 0.0}]
>>> words = [{"box": [10, 10, 60, 30], "text": "the", "line": 0},
...          {"box": [70, 10, 200, 30], "text": "quick", "line": 0},
...          {"box": [206, 11, 300, 30], "text": "brown", "line": 1},
...          {"box": [310, 11, 400, 30], "text": "fox", "line": 1}]
>>> lines, words = join_line_segments(lines, words)
>>> [(line["text"], line["box"]) for line in lines], [w["line"] for w in words]
([('the quick brown fox', [10, 10, 400, 30])], [0, 0, 0, 0])
"""

from __future__ import annotations

import numpy as np

#: least vertical overlap of two pieces, as a share of the shorter one's height
MIN_OVERLAP = 0.6
#: most the taller piece may exceed the shorter one's height, as a ratio
MAX_HEIGHT_RATIO = 1.4
#: widest gap between two pieces, in line heights (a word gap is ~0.25-0.6)
MAX_GAP = 1.0
#: an upright line's largest angle, degrees
MAX_ANGLE = 1.0


def _mutual_nearest(lines: list[dict], order: list[int]) -> dict[int, int]:
    """``{a: b}`` where piece ``b`` continues piece ``a`` and each is the other's nearest.

    ``b`` continues ``a`` when they overlap vertically by ``MIN_OVERLAP`` of the
    shorter height, their heights differ by at most ``MAX_HEIGHT_RATIO``, ``b``
    starts and ends further right, and the gap between them is at most
    ``MAX_GAP`` heights. Nearest: smallest gap (overlaps count as 0); ties go to
    the first in ``order``. All pairs at once, in NumPy (a dense page has ~400).
    """
    if len(order) < 2:
        return {}
    boxes = np.asarray([lines[i]["box"] for i in order], np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    heights = y1 - y0
    h = np.minimum(heights[:, None], heights[None, :])      # [left, right]
    tallest = np.maximum(heights[:, None], heights[None, :])
    overlap = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = (x0[None, :] - x1[:, None]) / h
    joins = ((h > 0) & (tallest <= MAX_HEIGHT_RATIO * h) & (overlap >= MIN_OVERLAP * h)
             & (gap <= MAX_GAP) & (x1[None, :] > x1[:, None]) & (x0[None, :] > x0[:, None]))
    np.fill_diagonal(joins, False)
    cost = np.where(joins, np.maximum(gap, 0.0), np.inf)
    right = np.argmin(cost, axis=1)          # each left piece's nearest continuation
    left = np.argmin(cost, axis=0)           # each right piece's nearest predecessor
    return {order[a]: order[int(right[a])] for a in range(len(order))
            if np.isfinite(cost[a, right[a]]) and left[right[a]] == a}


def _upright(line: dict) -> bool:
    return abs(float(line.get("angle") or 0.0)) <= MAX_ANGLE and "quad" not in line


def join_line_segments(lines: list[dict], words: list[dict]) -> tuple[list[dict], list[dict]]:
    """Joins the pieces of each line; returns the new ``(lines, words)``.

    ``lines`` and ``words`` are prediction JSON (``FORMATS.md``): each word names
    its line by index (``"line"``). A joined line's box is the union of its
    pieces', its text their texts joined by a space, left to right; its
    ``score`` and ``text_score`` the width-weighted means of its pieces'. Words
    keep their order within a line and are re-pointed at the joined lines.
    Lines that join nothing come back as they were (the same dicts).
    """
    n = len(lines)
    order = sorted((i for i in range(n) if _upright(lines[i])), key=lambda i: lines[i]["box"][0])
    right_of = _mutual_nearest(lines, order)
    has_left = set(right_of.values())
    chains, seen = [], set()
    for i in range(n):
        if i in seen or i in has_left:
            continue
        chain = [i]
        while chain[-1] in right_of and right_of[chain[-1]] not in seen:
            chain.append(right_of[chain[-1]])
        seen.update(chain)
        chains.append(chain)
    for i in range(n):                # a cycle cannot form (x strictly grows), but be safe
        if i not in seen:
            chains.append([i])
            seen.add(i)
    chains.sort(key=lambda c: c[0])
    if len(chains) == n:
        return lines, words

    new_lines, new_id, window = [], {}, {}
    for k, chain in enumerate(chains):
        for i in chain:
            new_id[i] = k
        if len(chain) == 1:
            new_lines.append(lines[chain[0]])
            continue
        pieces = [lines[i] for i in chain]
        # where neighbours overlap, the middle of the overlap divides their words
        cuts = [-np.inf]
        for a, b in zip(pieces, pieces[1:]):
            cuts.append((a["box"][2] + b["box"][0]) / 2 if b["box"][0] < a["box"][2]
                        else -np.inf)
        cuts.append(np.inf)
        for j, i in enumerate(chain):
            lo = cuts[j] if cuts[j] > -np.inf else -np.inf
            hi = cuts[j + 1] if cuts[j + 1] > -np.inf else np.inf
            window[i] = (lo, hi)
        overlapped = any(c > -np.inf for c in cuts[1:-1])
        widths = [max(p["box"][2] - p["box"][0], 1e-6) for p in pieces]
        total = sum(widths)
        joined = {
            "box": [min(p["box"][0] for p in pieces), min(p["box"][1] for p in pieces),
                    max(p["box"][2] for p in pieces), max(p["box"][3] for p in pieces)],
            "text": None if overlapped else " ".join(p["text"] for p in pieces),
        }
        for key in ("score", "text_score", "angle"):
            if all(key in p for p in pieces):
                joined[key] = round(sum(w * float(p[key]) for w, p in zip(widths, pieces)) /
                                    total, 4)
        for key, value in pieces[0].items():
            joined.setdefault(key, value)
        new_lines.append(joined)
    position = {i: (new_id[i], chains[new_id[i]].index(i)) for i in range(n)}
    indexed = []
    for order_in_input, word in enumerate(words):
        line = word.get("line")
        if isinstance(line, int) and 0 <= line < n:
            lo, hi = window.get(line, (-np.inf, np.inf))
            centre = (word["box"][0] + word["box"][2]) / 2
            if not lo <= centre < hi:
                continue                  # read by the neighbouring piece as well
            word = {**word, "line": new_id[line]}
            indexed.append(((*position[line], order_in_input), word))
        else:
            indexed.append(((n, 0, order_in_input), word))
    indexed.sort(key=lambda item: item[0])
    new_words = [word for _, word in indexed]
    for k, line in enumerate(new_lines):
        if line["text"] is None:          # overlapping pieces: the text of the words kept
            line["text"] = " ".join(w["text"] for w in new_words if w.get("line") == k)
    return new_lines, new_words


#: Two neighbouring words of one line whose boxes overlap by more than this share of
#: the narrower one's width are one word read twice (:func:`merge_double_reads`).
#: On our real validation pages, 0.1, 0.3 and 0.5 raised word e2e F alike
#: (0.8629 -> 0.8655 / 0.8658 / 0.8656 clean); 0.3 is the middle.
DOUBLE_READ_OVERLAP = 0.3


def stitch_readings(left: str, right: str) -> str:
    """One word from two readings of it that overlap: ``Japanes`` + ``anese`` -> ``Japanese``.

    ``left`` is the reading of the piece on the left, which may lack the word's
    end; ``right`` the other, which may lack its start. The longest stretch the
    two read alike is where they meet: the result is ``left`` up to its end, then
    ``right`` on from it. Readings with nothing in common are put end to end
    (``fo`` + ``r``).

    >>> stitch_readings("Japanes", "anese"), stitch_readings("39", "393")
    ('Japanese', '393')
    >>> stitch_readings("desirable", "lesirable,"), stitch_readings("fo", "r")
    ('desirable,', 'for')
    """
    from difflib import SequenceMatcher

    match = SequenceMatcher(None, left, right, autojunk=False).find_longest_match(
        0, len(left), 0, len(right))
    if match.size == 0:
        return left + right
    return left[:match.a + match.size] + right[match.b + match.size:]


def merge_double_reads(lines: list[dict], words: list[dict]) -> tuple[list[dict], list[dict]]:
    """Each word read twice becomes one word; returns the new ``(lines, words)``.

    Two pieces of a line that overlap can both read a word the other cuts:
    the left one reads ``Japanes`` where its box ends, the right one ``anese``
    where its box starts, and the centres of the two readings fall on either
    side of the cut :func:`join_line_segments` makes. Neighbouring upright words
    of one line whose boxes overlap by more than :data:`DOUBLE_READ_OVERLAP` of
    the narrower one's width are such a pair: they become one word
    (:func:`stitch_readings`) with the union of their boxes and the higher score,
    and their line's text says it too. ``words`` must be in reading order within
    each line, as :func:`join_line_segments` returns them. Unchanged inputs come
    back as they were (the same lists).
    """
    merged: list[dict] = []
    changed: dict[int, list[tuple[str, str, str]]] = {}
    for word in words:
        prev = merged[-1] if merged else None
        if (prev is not None and isinstance(word.get("line"), int)
                and prev.get("line") == word["line"]
                and "quad" not in prev and "quad" not in word):
            a, b = prev["box"], word["box"]
            overlap = min(a[2], b[2]) - max(a[0], b[0])
            narrower = min(a[2] - a[0], b[2] - b[0])
            if narrower > 0 and overlap > DOUBLE_READ_OVERLAP * narrower:
                text = stitch_readings(prev["text"], word["text"])
                changed.setdefault(word["line"], []).append((f"{prev['text']} {word['text']}",
                                                             text))
                merged[-1] = {**prev, "text": text,
                              "box": [min(a[0], b[0]), min(a[1], b[1]),
                                      max(a[2], b[2]), max(a[3], b[3])]}
                if "score" in prev or "score" in word:
                    merged[-1]["score"] = max(float(prev.get("score", 0.0)),
                                              float(word.get("score", 0.0)))
                continue
        merged.append(word)
    if not changed:
        return lines, words
    return retext_lines(lines, merged, changed), merged


def retext_lines(lines: list[dict], words: list[dict],
                 changed: dict[int, list[tuple[str, str]]]) -> list[dict]:
    """``lines`` (a new list) whose texts say what their words now read.

    ``changed`` maps a line's index to ``(old, new)`` readings, in reading order:
    each ``old`` found once in the line's text becomes ``new`` there (leader dots
    and other text the words lack stay); otherwise the line's text becomes its
    words' texts (``words``, already changed) joined by spaces.
    """
    lines = list(lines)
    for index, swaps in changed.items():
        if not 0 <= index < len(lines):
            continue
        text = lines[index].get("text") or ""
        for old, new in swaps:
            if text.count(old) != 1:
                text = " ".join(w["text"] for w in words if w.get("line") == index)
                break
            text = text.replace(old, new)
        lines[index] = {**lines[index], "text": text}
    return lines


#: A word whose box overlaps a word of another line by more than this IoU is the same
#: word found twice (:func:`drop_repeated_words`). On our real validation pages, with the
#: weights shipped on 2026-12-07, 0.3, 0.5 and 0.7 raised word e2e F alike (0.9032 ->
#: 0.9079 / 0.9079 / 0.9077 clean); 0.5 is the protocol's own match threshold.
REPEATED_WORD_IOU = 0.5


def _pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    w = np.maximum(np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :]), 0)
    h = np.maximum(np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :]), 0)
    inter = w * h
    area = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    union = area[:, None] + area[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def drop_repeated_words(lines: list[dict], words: list[dict]) -> tuple[list[dict], list[dict]]:
    """Each word that two lines both read is kept in one of them; returns ``(lines, words)``.

    The detector can find a line and, apart, a piece of it (``contain
    sufficient`` inside ``the Arguments list does not contain sufficient``):
    their boxes overlap too little for the detector's suppression and the piece
    does not continue the line, so :func:`join_line_segments` leaves both, and
    each of the piece's words comes out twice. Upright words of different lines
    whose boxes overlap by more than :data:`REPEATED_WORD_IOU` (IoU) are one
    word: the one with the higher ``score`` (its detection's) is kept, the
    other dropped. A line that loses every word is dropped; one that loses some
    says the text of the words it keeps. Unchanged inputs come back as they
    were (the same lists).

    >>> lines = [{"box": [0, 0, 300, 20], "text": "does not contain it", "score": 0.99},
    ...          {"box": [150, 0, 300, 20], "text": "contain it", "score": 0.3}]
    >>> words = [{"box": [0, 0, 60, 20], "text": "does", "line": 0, "score": 0.99},
    ...          {"box": [70, 0, 140, 20], "text": "not", "line": 0, "score": 0.99},
    ...          {"box": [150, 0, 260, 20], "text": "contain", "line": 0, "score": 0.99},
    ...          {"box": [270, 0, 300, 20], "text": "it", "line": 0, "score": 0.99},
    ...          {"box": [150, 0, 262, 20], "text": "contain", "line": 1, "score": 0.3},
    ...          {"box": [270, 0, 300, 20], "text": "it", "line": 1, "score": 0.3}]
    >>> lines, words = drop_repeated_words(lines, words)
    >>> [line["text"] for line in lines], len(words)
    (['does not contain it'], 4)
    """
    candidates = [k for k, w in enumerate(words)
                  if isinstance(w.get("line"), int) and 0 <= w["line"] < len(lines)
                  and "quad" not in w and _upright(lines[w["line"]])]
    if len(candidates) < 2:
        return lines, words
    boxes = np.asarray([words[k]["box"] for k in candidates], np.float64).reshape(-1, 4)
    line_of = np.asarray([words[k]["line"] for k in candidates])
    score = np.asarray([float(words[k].get("score", lines[words[k]["line"]].get("score", 0.0)))
                        for k in candidates])
    same = _pairwise_iou(boxes) > REPEATED_WORD_IOU
    same &= line_of[:, None] != line_of[None, :]
    if not same.any():
        return lines, words
    kept = np.zeros(len(candidates), bool)
    dropped = set()
    for a in np.argsort(-score, kind="stable"):   # ties: the earlier word wins
        if (same[a] & kept).any():
            dropped.add(candidates[a])
        else:
            kept[a] = True
    if not dropped:
        return lines, words
    losing = {words[k]["line"] for k in dropped}
    remaining: dict[int, list[str]] = {}
    for k, word in enumerate(words):
        if k not in dropped and isinstance(word.get("line"), int):
            remaining.setdefault(word["line"], []).append(word["text"])
    new_lines, new_id = [], {}
    for i, line in enumerate(lines):
        if i in losing and i not in remaining:
            continue
        new_id[i] = len(new_lines)
        new_lines.append({**line, "text": " ".join(remaining[i])} if i in losing else line)
    new_words = []
    for k, word in enumerate(words):
        if k in dropped:
            continue
        line = word.get("line")
        if isinstance(line, int) and line in new_id and new_id[line] != line:
            word = {**word, "line": new_id[line]}
        new_words.append(word)
    return new_lines, new_words


__all__ = ["DOUBLE_READ_OVERLAP", "REPEATED_WORD_IOU", "drop_repeated_words", "join_line_segments",
           "merge_double_reads", "retext_lines", "stitch_readings"]
