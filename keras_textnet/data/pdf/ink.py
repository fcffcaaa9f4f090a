"""Word boxes tightened to the ink of the rendered page.

Poppler's word boxes span the font's ascent and descent and the glyphs'
advance widths; :func:`tighten_to_ink` shrinks one to the ink it holds, the
convention of ``shared/FORMATS.md`` (and of Tesseract's word boxes). Boxes are
``(x0, y0, x1, y1)`` in the pixels of the page image, ``x1`` / ``y1`` exclusive.

Tightening
----------
For one word, the *allowed region* is its poppler box widened by a margin
``m`` (2 px at 150 dpi) along the line, and its line's extent widened by ``m``
across the line. Inside a window 0.3 line heights larger:

1. the background colour is the per-channel median of the allowed region's
   one-pixel border; a pixel is ink when its largest per-channel difference
   from that colour exceeds ``max(20, 0.4 * contrast)``, ``contrast`` being the
   largest such difference inside the word's own poppler box. So coloured text,
   light-on-dark text and shaded backgrounds work alike; a box with a contrast
   under 40 of 255 has **no ink**;
2. ink runs entering the window from outside (horizontal ones at least the
   window padding long, vertical ones over half its height) are rules: table
   borders, staff lines, underlines. They are erased, which frees the glyphs
   touching them; the rest is split into 8-connected components. A component
   that still crosses the window is a frame or a background edge and is
   dropped. Every other component belongs to the word box covering the
   largest share of it (ties go to the smaller box, so a letter inside a huge
   symbol-font box stays with its own word). A word keeps its components whole
   when they lie mostly in its box. Of a component shared with a neighbour's
   box (touching glyphs, a descender meeting the next line's ascender) it keeps
   only the pixels in its own box and outside the owner's, and only if the
   component lies inside word boxes (a diagram arrow crossing several boxes
   does not). A neighbour's ascenders reaching into an overlapping line box
   are never stolen;
3. the box is the bounding box of the kept pixels, clipped to the allowed
   region. A word with no ink keeps its poppler box and is marked ignore
   (:mod:`~keras_textnet.data.pdf.ignore_rules`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

#: Minimum contrast (of 255) between ink and background for a word to have ink.
MIN_CONTRAST = 40


def _pixel_box(box, scale, width, height) -> tuple[int, int, int, int]:
    """Poppler box (points) to the pixels it touches, clipped to the image (may be empty)."""
    x0 = max(0, int(math.floor(box[0] * scale + 1e-6)))
    y0 = max(0, int(math.floor(box[1] * scale + 1e-6)))
    x1 = min(width, int(math.ceil(box[2] * scale - 1e-6)))
    y1 = min(height, int(math.ceil(box[3] * scale - 1e-6)))
    if x0 < width and x1 <= x0:
        x1 = x0 + 1
    if y0 < height and y1 <= y0:
        y1 = y0 + 1
    return x0, y0, x1, y1


def _edge_runs(ink: np.ndarray) -> np.ndarray:
    """``(rows,)`` length of the ink run starting at column 0 of each row."""
    return np.where(ink.all(axis=1), ink.shape[1], np.argmin(ink, axis=1))


def _erase_rules(ink: np.ndarray, pad: int) -> None:
    """Erases, in place, ink runs that enter the window from outside.

    Horizontal runs touching the left or right edge and at least ``pad`` long,
    and vertical runs touching the top or bottom edge over half the height, are
    rules: table borders, staff lines, underlines. Erasing them frees the glyphs
    they touch (a digit sitting on a staff line, descenders through an underline).
    """
    hh, ww = ink.shape
    cols = np.arange(ww)[None, :]
    rows = np.arange(hh)[:, None]
    left, right = _edge_runs(ink), _edge_runs(ink[:, ::-1])
    top, bottom = _edge_runs(ink.T), _edge_runs(ink[::-1].T)
    pad = max(pad, 2)
    erase = (cols < np.where(left >= pad, left, 0)[:, None])
    erase |= (cols >= ww - np.where(right >= pad, right, 0)[:, None])
    half = max(hh // 2, 2)
    erase |= (rows < np.where(top >= half, top, 0)[None, :])
    erase |= (rows >= hh - np.where(bottom >= half, bottom, 0)[None, :])
    ink[erase] = False


class InkBox(NamedTuple):
    """What :func:`tighten_to_ink` found for one word."""

    box: tuple[int, int, int, int] | None   #: (x0, y0, x1, y1), x1/y1 exclusive; None unless "ok"
    status: str                             #: "ok", "no_ink", "bad_box" or "busy"
    fill: float = 0.0                       #: share of the box's pixels that are the word's ink


def tighten_to_ink(image: np.ndarray, boxes: np.ndarray, index: int,
                   allowed: tuple[int, int, int, int], window_pad: int) -> InkBox:
    """The ink box of word ``index`` (see the module docstring for the method).

    Args:
        image: ``(height, width, channels)`` uint8 page.
        boxes: ``(num_words, 4)`` int poppler boxes ``(x0, y0, x1, y1)`` of all the
            page's words, in pixels, x1/y1 exclusive.
        index: the word.
        allowed: ``(x0, y0, x1, y1)`` the region the ink box must stay in.
        window_pad: extra pixels around ``allowed`` in which components are
            followed (to recognize rules and neighbours' glyphs).

    Returns:
        An :class:`InkBox`. Its ``status`` is ``"ok"`` with a box, or, without
        one: ``"no_ink"`` (nothing drawn in the box), ``"bad_box"`` (the only ink
        touching the box lies mostly outside it and no other word claims it:
        wrong font metrics in the text layer, or a box grazing a graphic), or
        ``"busy"`` (over a third of the region's border differs from the
        background: the word sits on a picture or under one).
    """
    h, w = image.shape[:2]
    ax0, ay0, ax1, ay1 = allowed
    if ax1 <= ax0 or ay1 <= ay0:
        return InkBox(None, "no_ink")
    wx0, wy0 = max(0, ax0 - window_pad), max(0, ay0 - window_pad)
    wx1, wy1 = min(w, ax1 + window_pad), min(h, ay1 + window_pad)
    win = image[wy0:wy1, wx0:wx1].astype(np.int16)
    # Background: median of the allowed region's one-pixel border.
    reg = win[ay0 - wy0:ay1 - wy0, ax0 - wx0:ax1 - wx0]
    ring = np.concatenate([reg[0], reg[-1], reg[1:-1, 0], reg[1:-1, -1]], axis=0)
    bg = np.median(ring, axis=0)
    diff = np.abs(win - bg.astype(np.int16)).max(axis=2) if win.ndim == 3 else np.abs(win - bg)
    ox0, oy0, ox1, oy1 = (int(v) for v in boxes[index])
    own = np.zeros(diff.shape, bool)
    own[max(oy0 - wy0, 0):max(oy1 - wy0, 0), max(ox0 - wx0, 0):max(ox1 - wx0, 0)] = True
    own_diff = diff[own]
    if own_diff.size == 0:
        return InkBox(None, "no_ink")
    contrast = int(own_diff.max())
    if contrast < MIN_CONTRAST:
        return InkBox(None, "no_ink")
    ink = diff > max(MIN_CONTRAST // 2, 0.4 * contrast)
    _erase_rules(ink, window_pad)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return InkBox(None, "no_ink")
    # The word's box first, then every other word box that reaches into the window.
    hit = (boxes[:, 0] < wx1) & (boxes[:, 2] > wx0) & (boxes[:, 1] < wy1) & (boxes[:, 3] > wy0)
    hit[index] = False
    near = np.concatenate([boxes[index:index + 1], boxes[hit]], axis=0)
    rects = [(max(y0 - wy0, 0), max(y1 - wy0, 0), max(x0 - wx0, 0), max(x1 - wx0, 0))
             for x0, y0, x1, y1 in near.tolist()]
    counts = np.stack([np.bincount(labels[r0:r1, c0:c1].ravel(), minlength=n)
                       for r0, r1, c0, c1 in rects]).astype(np.float64)
    cover = counts / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)[None, :]
    in_any = np.zeros(labels.shape, bool)
    for r0, r1, c0, c1 in rects:
        in_any[r0:r1, c0:c1] = True
    free = 1.0 - np.bincount(labels[in_any], minlength=n) / np.maximum(
        stats[:, cv2.CC_STAT_AREA], 1)
    area = ((near[:, 2] - near[:, 0]) * (near[:, 3] - near[:, 1])).astype(np.float64)
    wh, ww = diff.shape
    cx, cy, cw, ch = (stats[:, k] for k in range(4))
    crosses = ((cx == 0) & (cw == ww)) | ((cy == 0) & (ch == wh))   # frames, background edges
    # The box covering most of a component owns it; ties go to the smaller box.
    by_area = np.argsort(area, kind="stable")
    best = by_area[np.argmax(cover[by_area], axis=0)]
    cols = np.arange(n)
    rest = cover.copy()
    rest[best, cols] = -1.0
    second = rest.max(axis=0) if len(near) > 1 else np.zeros(n)
    mine = (cover[0] > 0) & ~crosses
    mine[0] = False
    keep_whole = mine & (best == 0) & (cover[0] >= 0.5) & ((second < 0.2) | (cover[0] >= 0.8))
    # Mostly outside every box: a graphic grazing the box (an arrow tip), or, when
    # the word has nothing else, its own glyphs under wrong font metrics.
    stray = mine & ~keep_whole & (best == 0) & (second == 0)
    # Shared with a neighbour: only its pixels in this box and outside the owner's box
    # (nothing of a neighbour's glyph that merely reaches into this box).
    # Graphics crossing several boxes (diagram arrows) reach outside all of them.
    partial = mine & ~keep_whole & ~stray & ((best == 0) | (cover[0] >= 0.25)) & (free < 0.1)
    if not keep_whole.any() and not partial.any():
        return InkBox(None, "bad_box" if stray.any() else "no_ink")
    r0, r1, c0, c1 = rects[0]
    mask = np.zeros(diff.shape, bool)
    for c in np.flatnonzero(partial):
        part = np.zeros(diff.shape, bool)
        part[r0:r1, c0:c1] = labels[r0:r1, c0:c1] == c
        if best[c] != 0:
            b0, b1, d0, d1 = rects[best[c]]
            part[b0:b1, d0:d1] = False
        mask |= part
    mask |= keep_whole[labels]
    allowed_mask = np.zeros(diff.shape, bool)
    allowed_mask[ay0 - wy0:ay1 - wy0, ax0 - wx0:ax1 - wx0] = True
    mask &= allowed_mask
    if not mask.any():
        return InkBox(None, "no_ink")
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    fill = float(mask.sum()) / ((ys[-1] - ys[0] + 1) * (xs[-1] - xs[0] + 1))
    return InkBox((wx0 + int(xs[0]), wy0 + int(ys[0]), wx0 + int(xs[-1]) + 1,
                   wy0 + int(ys[-1]) + 1), "ok", fill)
