"""Text-shaped anchors for the region proposal network, and a coverage report to tune them.

Box convention: ``(y0, x0, y1, x1)`` in input-image pixels, ``y1``/``x1``
exclusive.

Anchor order (the RPN head's reshape must produce the same): level by level
in the order of ``strides``; inside a level, locations row-major
(``y`` then ``x`` over the ``ceil(H / s) x ceil(W / s)`` feature map); inside a
location, anchor type ``k = height_index * len(aspect_ratios) + ratio_index``.
So a head that emits ``(B, h, w, K)`` logits and ``(B, h, w, K * 4)`` deltas
per level (``K = anchors_per_location(...)``) lines up with
``generate_anchors`` after ``reshape(B, h * w * K)`` / ``(B, h * w * K, 4)``
and concatenation over levels.

Anchor ``k`` at feature cell ``(i, j)`` of stride ``s`` is centred on
``((i + 0.5) s, (j + 0.5) s)``, the centre of the input pixels that cell sees,
with height ``heights[level][k // R]`` and width ``height * aspect_ratios[k % R]``.

Why the defaults (measured with :func:`anchor_coverage`, see
``tests/test_anchors.py``):

* Text lines are long and thin, and a thin box's IoU is dominated by its
  height: a line of height 10 and an anchor of height 15 share at most
  IoU 0.67 even with perfect widths and centres. So heights form a dense
  geometric series (ratio 1.5) spanning 8..61 px: 8, 12, 18 on stride 4 and
  27, 40.5, 60.75 on stride 8. Any height in 6.5..74 px is within a factor
  ``sqrt(1.5)`` of an anchor height. Small heights sit on stride 4 so that the
  centre misalignment (at most half a stride, 2 px) costs little; stride 8's
  4 px misalignment only meets heights >= 27.
* Widths come from ``aspect_ratios`` (w / h) 1, 3, 9, 27 (ratio 3): width
  errors cost IoU only linearly, and each extra ratio adds ``H W / 16``
  anchors on stride 4, which is what makes target assignment expensive (its
  IoU matrix is anchors x GT). Defaults give ``K = 12`` anchors per location,
  245,760 anchors at 512x512; the widest is 61 x 1640 px.
* Measured on synthetic lines at 512x512 (heights uniform in 10..60 px, widths
  uniform in 20..500 px, random positions): 100% of lines have a best-anchor
  IoU >= 0.3, 99.7% >= 0.5, 52% >= 0.7 (5th percentile 0.61). With heights
  and widths log-uniform over the same ranges: 98.7% >= 0.5. The 10th
  percentile of the best IoU stays >= 0.5 for heights 8..75 px and aspects
  1..60; below that it is 0.47 for 8 px squares and 0.46 for 90 px squares.
  Alternatives measured: ratios (1, 2, 4, 8, 16, 32) (K = 18, +50% anchors):
  same 99.7% at 0.5, 74% at 0.7; two heights per level (9, 15 / 25, 42; K = 8,
  -33% anchors): 98% at 0.5, 39% at 0.7.
* The RPN therefore uses positives at IoU >= 0.5 *or* the best anchor of a
  GT (:func:`~keras_textnet.ops.target_assignment.assign_rpn_targets`), so
  the rare line outside the grid still gets a positive anchor.
"""

import math

import numpy as np
import tensorflow as tf

from keras_textnet.ops import box_ops

__all__ = [
    "DEFAULT_ASPECT_RATIOS",
    "DEFAULT_HEIGHTS",
    "DEFAULT_STRIDES",
    "anchor_coverage",
    "anchors_per_location",
    "feature_map_sizes",
    "generate_anchors",
    "num_anchors",
]

DEFAULT_STRIDES = (4, 8)
DEFAULT_HEIGHTS = ((8.0, 12.0, 18.0), (27.0, 40.5, 60.75))
DEFAULT_ASPECT_RATIOS = (1.0, 3.0, 9.0, 27.0)


def _validate(strides, heights, aspect_ratios):
    strides = tuple(strides)
    if not strides or any(int(s) != s or s <= 0 for s in strides):
        raise ValueError(f"`strides` must be positive integers; received {strides}.")
    strides = tuple(int(s) for s in strides)
    heights = tuple(tuple(float(h) for h in level) for level in heights)
    if len(heights) != len(strides):
        raise ValueError(
            f"`heights` needs one tuple of anchor heights per stride {strides}; "
            f"received {len(heights)} tuples: {heights}.")
    counts = {len(level) for level in heights}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(
            "Every level needs the same non-zero number of anchor heights (the RPN head "
            f"is shared across levels); received {heights}.")
    if any(h <= 0 for level in heights for h in level):
        raise ValueError(f"Anchor heights must be positive; received {heights}.")
    aspect_ratios = tuple(float(r) for r in aspect_ratios)
    if not aspect_ratios or min(aspect_ratios) <= 0:
        raise ValueError(
            f"`aspect_ratios` (width / height) must be positive; received {aspect_ratios}.")
    return strides, heights, aspect_ratios


def anchors_per_location(heights=DEFAULT_HEIGHTS, aspect_ratios=DEFAULT_ASPECT_RATIOS):
    """Anchors per feature-map cell, ``len(heights[0]) * len(aspect_ratios)``."""
    _, heights, aspect_ratios = _validate(range(1, len(heights) + 1), heights, aspect_ratios)
    return len(heights[0]) * len(aspect_ratios)


def feature_map_sizes(image_size, strides=DEFAULT_STRIDES):
    """``[(ceil(H / s), ceil(W / s)) for s in strides]`` as Python ints.

    ``image_size`` must be Python ints here; for tensors use ``generate_anchors``.
    """
    height, width = (int(v) for v in image_size)
    return [(math.ceil(height / s), math.ceil(width / s)) for s in strides]


def num_anchors(image_size, strides=DEFAULT_STRIDES, heights=DEFAULT_HEIGHTS,
                aspect_ratios=DEFAULT_ASPECT_RATIOS):
    """Total anchor count ``A`` of :func:`generate_anchors` for a static image size."""
    k = anchors_per_location(heights, aspect_ratios)
    return sum(h * w * k for h, w in feature_map_sizes(image_size, strides))


def generate_anchors(image_size, strides=DEFAULT_STRIDES, heights=DEFAULT_HEIGHTS,
                     aspect_ratios=DEFAULT_ASPECT_RATIOS, dtype=tf.float32):
    """All anchors of an image, ``(A, 4)`` ``(y0, x0, y1, x1)`` pixels.

    Args:
      image_size: ``(H, W)``, Python ints or scalar int tensors (dynamic sizes
        work inside ``tf.function``). Feature maps are ``ceil(H / s) x ceil(W / s)``.
      strides: one stride per pyramid level, e.g. ``(4, 8)`` for P2, P3.
      heights: one tuple of anchor heights (pixels) per level, all the same length.
      aspect_ratios: anchor widths as multiples of their height (``w / h``).
      dtype: float dtype of the result.
    Returns:
      ``(A, 4)`` tensor, ``A = sum_l ceil(H/s_l) * ceil(W/s_l) * K``, in the
      order described in the module docstring (level, row, column, height,
      ratio). Anchors are not clipped to the image.

    >>> generate_anchors((16, 16), strides=(8,), heights=((8.,),),
    ...                  aspect_ratios=(1., 2.)).numpy().tolist()[:2]
    [[0.0, 0.0, 8.0, 8.0], [0.0, -4.0, 8.0, 12.0]]
    """
    strides, heights, aspect_ratios = _validate(strides, heights, aspect_ratios)
    image_h = tf.cast(image_size[0], tf.int32)
    image_w = tf.cast(image_size[1], tf.int32)
    levels = []
    for stride, level_heights in zip(strides, heights):
        # Per anchor type (height-major, ratio-minor) half sizes, shape (K,).
        shapes = np.array([(h, h * r) for h in level_heights for r in aspect_ratios],
                          np.float64)
        half = tf.constant(0.5 * np.concatenate([-shapes, shapes], axis=1), dtype)  # (K, 4)
        rows = (image_h + stride - 1) // stride
        cols = (image_w + stride - 1) // stride
        cy = (tf.cast(tf.range(rows), dtype) + 0.5) * stride
        cx = (tf.cast(tf.range(cols), dtype) + 0.5) * stride
        cy, cx = tf.meshgrid(cy, cx, indexing="ij")  # (rows, cols), row-major
        centers = tf.stack([cy, cx, cy, cx], axis=-1)  # (rows, cols, 4)
        anchors = centers[:, :, None, :] + half[None, None, :, :]  # (rows, cols, K, 4)
        levels.append(tf.reshape(anchors, [-1, 4]))
    return tf.concat(levels, axis=0)


def anchor_coverage(gt_boxes, anchors, thresholds=(0.3, 0.5, 0.7)):
    """How well ``anchors`` cover a set of ground-truth boxes (a tuning aid).

    Args:
      gt_boxes: ``(N, 4)`` boxes, ``(y0, x0, y1, x1)`` pixels (NumPy or tensor).
      anchors: ``(A, 4)`` anchors, e.g. from :func:`generate_anchors`.
      thresholds: IoU values to report the covered fraction at.
    Returns:
      dict with ``best_iou`` (``(N,)`` NumPy, each box's best anchor IoU),
      ``fraction_at_least`` (``{threshold: fraction of boxes with best IoU >= it}``),
      ``quantiles`` (``{q: best-IoU quantile}`` for q in 0.05, 0.1, 0.25, 0.5),
      and ``mean``.
    """
    gt = tf.convert_to_tensor(gt_boxes, tf.float32)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    best = []
    for start in range(0, int(gt.shape[0]), 64):  # bounded memory: A x 64 at a time
        best.append(tf.reduce_max(box_ops.pairwise_iou(gt[start:start + 64], anchors), -1))
    best = tf.concat(best, 0).numpy() if best else np.zeros([0], np.float32)
    return {
        "best_iou": best,
        "fraction_at_least": {t: float(np.mean(best >= t)) if best.size else 0.0
                              for t in thresholds},
        "quantiles": {q: float(np.quantile(best, q)) if best.size else 0.0
                      for q in (0.05, 0.1, 0.25, 0.5)},
        "mean": float(best.mean()) if best.size else 0.0,
    }
