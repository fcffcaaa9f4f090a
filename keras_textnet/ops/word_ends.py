"""Line ends carried over the ink to the end of the word they cut (pure TF, in the graph).

The detector finds a long line as segments, and it does not see where a word
ends: a segment's box often stops inside a word (``entri|es``), and the
recognizer reads only what the box holds. Padding every end by a fixed amount
(``read_padding``) recovers a letter; a longer cut needs the image.

For each upright box, a strip of the page is sampled at each end: one line
height inside the box and ``reach`` heights beyond it, on the middle 70% of the
line's height (clear of the lines above and below). A column of the strip holds
ink where some pixel differs from the strip's median (the paper) by more than
half the strongest contrast found inside the box. The end moves outwards to the
first run of blank columns at least ``gap`` line heights wide (a word gap; the
gaps between letters are narrower) that ends past the box's end: a box that
already ends in a gap stays as it is, a box that ends inside a word ends after
it. Nothing moves when no such gap is found within ``reach`` heights (a rule, a
shaded cell, noise), when the box holds no contrast, or for a rotated line.

Every op is one that TFLite, ONNX and TF Serving run (RoIAlign sampling,
``top_k``, ``cumsum``, ``argmax``), on fixed shapes.
"""

from __future__ import annotations

import math

import tensorflow as tf

from keras_textnet.ops.roi_align import roi_align

#: strip rows, over the middle of the line's height: point samples close enough that
#: a thin stroke (the arm of an ``r``) is always hit
STRIP_ROWS = 12
#: share of the line's height left out at its top and at its bottom
STRIP_MARGIN = 0.15
#: strip columns per line height
COLUMNS_PER_HEIGHT = 24
#: a column holds ink above this share of the strongest contrast inside the box
INK_SHARE = 0.5
#: the least contrast (grey levels, 0-255) inside the box for an end to move
MIN_CONTRAST = 32.0
#: widest an upright line may be turned, radians (about 1 degree)
MAX_ANGLE = 0.0175


def _median(values):
    """Median of each row of ``values`` ``(S, K)``: the smallest of the largest half."""
    return tf.math.top_k(values, k=values.shape[1] // 2 + 1).values[:, -1]


def _strip_ink(strips, on_page, inside: int):
    """``(S, C)`` bool: the columns of ``strips`` ``(S, R, C)`` that hold ink, and ``(S,)``
    whether the box's part (the first ``inside`` columns) had contrast enough.

    ``on_page`` ``(S, C)``: the columns inside the image; the others count as paper.
    """
    rows = strips.shape[1]
    # the paper: the strip's median, its columns off the page filled with the box's
    paper = _median(tf.reshape(strips[:, :, :inside], [-1, rows * inside]))
    strips = tf.where(on_page[:, None, :], strips, paper[:, None, None])
    paper = _median(tf.reshape(strips, [-1, rows * strips.shape[2]]))
    score = tf.reduce_max(tf.abs(strips - paper[:, None, None]), axis=1)      # (S, C)
    contrast = tf.reduce_max(score[:, :inside], axis=1)
    ink = (score > INK_SHARE * contrast[:, None]) & on_page
    return ink, contrast >= MIN_CONTRAST


def _first_gap(blank, start: int, width: int):
    """Index of the first run of ``width`` blank columns of ``blank`` ``(S, C)`` that ends
    past column ``start`` (starts at ``start - width + 1`` or later), and whether one is."""
    counts = tf.cumsum(tf.cast(blank, tf.int32), axis=1, exclusive=False)
    counts = tf.pad(counts, [[0, 0], [1, 0]])                     # counts[:, j] = blanks before j
    runs = tf.equal(counts[:, width:] - counts[:, :-width], width)  # run starting at j
    first = max(start - width + 1, 0)
    runs = tf.concat([tf.zeros_like(runs[:, :first]), runs[:, first:]], axis=1)
    found = tf.reduce_any(runs, axis=1)
    index = tf.argmax(tf.cast(runs, tf.int32), axis=1, output_type=tf.int32)
    return index, found


def extend_to_word_ends(images, boxes, box_indices, angles=None, *, reach: float = 3.0,
                        gap: float = 0.2):
    """``boxes`` ``(N, 4)`` (y0, x0, y1, x1) with each end carried to the end of its word.

    Args:
        images: ``(B, H, W, channels)`` pixels, 0-255 (any channel count).
        boxes: ``(N, 4)`` line boxes in image pixels.
        box_indices: ``(N,)`` int32, the image of each box.
        angles: ``(N,)`` radians, or None; lines turned more than
            :data:`MAX_ANGLE` are returned as they are.
        reach: how far an end may move, in line heights.
        gap: the narrowest word gap, in line heights.

    Returns:
        ``(N, 4)`` boxes; only ``x0`` and ``x1`` change, and only outwards.
    """
    if reach <= 0:
        return boxes
    boxes = tf.cast(boxes, tf.float32)
    images = tf.cast(images, tf.float32)
    gray = tf.reduce_mean(images, axis=-1, keepdims=True)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    y0, x0, y1, x1 = tf.unstack(boxes, axis=-1)
    height = tf.maximum(y1 - y0, 1.0)
    inside = COLUMNS_PER_HEIGHT
    columns = int(math.ceil((reach + 1.0) * COLUMNS_PER_HEIGHT))
    span = height * columns / COLUMNS_PER_HEIGHT
    top, bottom = y0 + STRIP_MARGIN * height, y1 - STRIP_MARGIN * height
    right = tf.stack([top, x1 - height, bottom, x1 - height + span], axis=-1)
    left = tf.stack([top, x0 + height - span, bottom, x0 + height], axis=-1)
    strips = roi_align(gray, tf.concat([right, left], 0),
                       tf.concat([box_indices, box_indices], 0),
                       output_size=(STRIP_ROWS, columns), spatial_scale=1.0,
                       sampling_ratio=1, aligned=True)[..., 0]          # (2N, R, C)
    n = tf.shape(boxes)[0]
    # the left strip is read from the box outwards, as the right one
    strips = tf.concat([strips[:n], tf.reverse(strips[n:], axis=[2])], 0)
    # the columns' centres, and which lie on the page
    step = span / columns
    offsets = (tf.range(columns, dtype=tf.float32) + 0.5)[None, :] * step[:, None]
    centres = tf.concat([(x1 - height)[:, None] + offsets, (x0 + height)[:, None] - offsets], 0)
    ink, sure = _strip_ink(strips, (centres >= 0.0) & (centres <= width - 1.0), inside)
    index, found = _first_gap(tf.logical_not(ink), inside,
                              max(1, int(math.ceil(gap * COLUMNS_PER_HEIGHT))))
    move = found & sure
    if angles is not None:
        upright = tf.abs(tf.cast(angles, tf.float32)) <= MAX_ANGLE
        move &= tf.concat([upright, upright], 0)
    # the end moves to the inner edge of the gap's first column: where the ink stops
    reached = tf.cast(index, tf.float32) * tf.concat([step, step], 0)
    new_x1 = tf.where(move[:n], tf.maximum(x1, x1 - height + reached[:n]), x1)
    new_x0 = tf.where(move[n:], tf.minimum(x0, x0 + height - reached[n:]), x0)
    return tf.stack([y0, tf.maximum(new_x0, 0.0), y1, tf.minimum(new_x1, width)], axis=-1)
