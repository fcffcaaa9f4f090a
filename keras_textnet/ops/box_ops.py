"""Axis-aligned box math: area, IoU, IoA, clipping and Faster R-CNN box coding.

Box convention (the whole library uses it): a box is the last axis of a
tensor of shape ``(..., 4)`` holding ``(y0, x0, y1, x1)`` in input-image
pixels, ``y1`` and ``x1`` exclusive, so ``height = y1 - y0`` and
``width = x1 - x0``. Every function here is batched over leading dimensions
and keeps the dtype of its box inputs (float16/32/64).

>>> import tensorflow as tf
>>> a = tf.constant([[0., 0., 10., 40.]])
>>> b = tf.constant([[0., 20., 10., 60.]])
>>> float(pairwise_iou(a, b)[0, 0])
0.3333333432674408
"""

import math

import tensorflow as tf

__all__ = [
    "BOX_CODING_WEIGHTS",
    "MAX_LOG_SCALE",
    "box_area",
    "box_centers_and_sizes",
    "clip_boxes",
    "decode_boxes",
    "encode_boxes",
    "pairwise_intersection",
    "pairwise_ioa",
    "pairwise_iou",
]

#: Default ``(wy, wx, wh, ww)`` weights of the box coding (Detectron / Model Garden).
BOX_CODING_WEIGHTS = (10.0, 10.0, 5.0, 5.0)

#: Largest ``|dh|``, ``|dw|`` accepted by :func:`decode_boxes` (a 62.5x scale change).
MAX_LOG_SCALE = math.log(1000.0 / 16.0)

# Smallest side length used as a divisor; keeps padding / degenerate boxes finite.
_EPSILON = 1e-6


def _as_boxes(boxes, name):
    boxes = tf.convert_to_tensor(boxes)
    if not boxes.dtype.is_floating:
        boxes = tf.cast(boxes, tf.float32)
    if boxes.shape.rank is not None and boxes.shape.rank >= 1:
        last = boxes.shape[-1]
        if last is not None and last != 4:
            raise ValueError(
                f"`{name}` must have shape (..., 4) holding (y0, x0, y1, x1); "
                f"received shape {boxes.shape}.")
    return boxes


def box_area(boxes):
    """Area of each box, ``(..., 4) -> (...)``; inverted boxes have area 0."""
    boxes = _as_boxes(boxes, "boxes")
    y0, x0, y1, x1 = tf.unstack(boxes, 4, axis=-1)
    return tf.maximum(y1 - y0, 0.0) * tf.maximum(x1 - x0, 0.0)


def box_centers_and_sizes(boxes):
    """``(cy, cx, h, w)`` of boxes ``(..., 4)``, each of shape ``(...)``."""
    boxes = _as_boxes(boxes, "boxes")
    y0, x0, y1, x1 = tf.unstack(boxes, 4, axis=-1)
    h = y1 - y0
    w = x1 - x0
    return y0 + 0.5 * h, x0 + 0.5 * w, h, w


def pairwise_intersection(a, b):
    """Intersection areas of every pair: ``a (..., N, 4)``, ``b (..., M, 4)`` -> ``(..., N, M)``.

    Leading dimensions broadcast (e.g. anchors ``(A, 4)`` against ground truth
    ``(B, G, 4)`` needs ``a[None]``).
    """
    a = _as_boxes(a, "a")
    b = tf.cast(_as_boxes(b, "b"), a.dtype)
    ay0, ax0, ay1, ax1 = tf.unstack(a[..., :, None, :], 4, axis=-1)
    by0, bx0, by1, bx1 = tf.unstack(b[..., None, :, :], 4, axis=-1)
    ih = tf.maximum(tf.minimum(ay1, by1) - tf.maximum(ay0, by0), 0.0)
    iw = tf.maximum(tf.minimum(ax1, bx1) - tf.maximum(ax0, bx0), 0.0)
    return ih * iw


def pairwise_iou(a, b):
    """Intersection over union of every pair: ``(..., N, 4), (..., M, 4) -> (..., N, M)``.

    Pairs whose union is empty (two degenerate boxes) get IoU 0, never NaN.

    Args:
      a: boxes ``(..., N, 4)``, ``(y0, x0, y1, x1)`` pixels, exclusive ends.
      b: boxes ``(..., M, 4)``; leading dims broadcast against ``a``'s.
    Returns:
      ``(..., N, M)`` IoU in ``[0, 1]``, dtype of ``a``.
    """
    a = _as_boxes(a, "a")
    b = tf.cast(_as_boxes(b, "b"), a.dtype)
    inter = pairwise_intersection(a, b)
    union = box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter
    return tf.math.divide_no_nan(inter, union)


def pairwise_ioa(a, b):
    """Intersection over the area of ``a``: ``(..., N, 4), (..., M, 4) -> (..., N, M)``.

    ``ioa[n, m]`` is the fraction of box ``a[n]`` covered by ``b[m]``; used to
    find anchors or proposals lying inside ``ignore`` regions. Degenerate
    ``a`` boxes get 0.
    """
    a = _as_boxes(a, "a")
    b = tf.cast(_as_boxes(b, "b"), a.dtype)
    inter = pairwise_intersection(a, b)
    return tf.math.divide_no_nan(inter, box_area(a)[..., :, None])


def clip_boxes(boxes, image_size):
    """Clips boxes to ``[0, H] x [0, W]``.

    Args:
      boxes: ``(..., N, 4)`` ``(y0, x0, y1, x1)`` pixels.
      image_size: ``(H, W)`` as Python numbers or a tensor of shape ``(2,)``;
        for one size per image pass shape ``(B, 1, 2)`` with boxes ``(B, N, 4)``
        (``image_size[..., 0]`` must broadcast against ``boxes[..., 0]``).
    Returns:
      Clipped boxes, same shape and dtype as ``boxes``.
    """
    boxes = _as_boxes(boxes, "boxes")
    size = tf.cast(tf.convert_to_tensor(image_size), boxes.dtype)
    h = size[..., 0]
    w = size[..., 1]
    y0, x0, y1, x1 = tf.unstack(boxes, 4, axis=-1)
    zero = tf.zeros([], boxes.dtype)
    return tf.stack([
        tf.clip_by_value(y0, zero, h), tf.clip_by_value(x0, zero, w),
        tf.clip_by_value(y1, zero, h), tf.clip_by_value(x1, zero, w)], axis=-1)


def _check_weights(weights):
    weights = tuple(float(v) for v in weights)
    if len(weights) != 4 or min(weights) <= 0:
        raise ValueError(
            f"`weights` must be four positive numbers (wy, wx, wh, ww); received {weights}.")
    return weights


def encode_boxes(boxes, anchors, weights=BOX_CODING_WEIGHTS):
    """Faster R-CNN deltas ``(dy, dx, dh, dw)`` of ``boxes`` relative to ``anchors``.

    ``dy = wy * (cy - cya) / ha``, ``dx = wx * (cx - cxa) / wa``,
    ``dh = wh * log(h / ha)``, ``dw = ww * log(w / wa)``.

    Args:
      boxes: ``(..., 4)`` target boxes (pixels, ``(y0, x0, y1, x1)``).
      anchors: ``(..., 4)`` reference boxes, broadcastable against ``boxes``.
      weights: ``(wy, wx, wh, ww)`` multipliers.
    Returns:
      ``(..., 4)`` deltas, dtype of ``boxes``. Degenerate boxes (padding rows)
      give finite, meaningless deltas; mask them with the labels.
    """
    wy, wx, wh, ww = _check_weights(weights)
    boxes = _as_boxes(boxes, "boxes")
    anchors = tf.cast(_as_boxes(anchors, "anchors"), boxes.dtype)
    cy, cx, h, w = box_centers_and_sizes(boxes)
    cya, cxa, ha, wa = box_centers_and_sizes(anchors)
    eps = tf.constant(_EPSILON, boxes.dtype)
    ha = tf.maximum(ha, eps)
    wa = tf.maximum(wa, eps)
    h = tf.maximum(h, eps)
    w = tf.maximum(w, eps)
    return tf.stack([
        wy * (cy - cya) / ha,
        wx * (cx - cxa) / wa,
        wh * tf.math.log(h / ha),
        ww * tf.math.log(w / wa)], axis=-1)


def decode_boxes(deltas, anchors, weights=BOX_CODING_WEIGHTS):
    """Inverse of :func:`encode_boxes`: deltas ``(..., 4)`` + anchors -> boxes ``(..., 4)``.

    ``dh / wh`` and ``dw / ww`` are clamped to ``MAX_LOG_SCALE`` (``log(1000/16)``)
    before ``exp`` so untrained regressors cannot overflow.
    """
    wy, wx, wh, ww = _check_weights(weights)
    deltas = _as_boxes(deltas, "deltas")
    anchors = tf.cast(_as_boxes(anchors, "anchors"), deltas.dtype)
    cya, cxa, ha, wa = box_centers_and_sizes(anchors)
    dy, dx, dh, dw = tf.unstack(deltas, 4, axis=-1)
    limit = tf.constant(MAX_LOG_SCALE, deltas.dtype)
    dh = tf.minimum(dh / wh, limit)
    dw = tf.minimum(dw / ww, limit)
    cy = dy / wy * ha + cya
    cx = dx / wx * wa + cxa
    h = tf.exp(dh) * ha
    w = tf.exp(dw) * wa
    return tf.stack([cy - 0.5 * h, cx - 0.5 * w, cy + 0.5 * h, cx + 0.5 * w], axis=-1)
