"""Between axis-aligned bounds + angle and the rotated rectangle of a text line.

The annotation format (and the detector) describe a rotated line by the
axis-aligned bounds of its ink plus an angle; dynamic pooling and word
placement need the line's own rectangle (width along the text, height across
it) about the same centre. Box convention: ``(y0, x0, y1, x1)`` pixels,
angles in radians, counter-clockwise on screen.
"""

from __future__ import annotations

import tensorflow as tf


def bounds_to_rotated_box(boxes, angles, min_side: float = 1.0):
    """The unrotated rectangle ``(y0, x0, y1, x1)`` whose rotation by ``angles`` has ``boxes`` as bounds.

    For bounds ``W x H`` and ``|a| < 45 deg``: ``w cos a + h sin a = W`` and
    ``w sin a + h cos a = H``, so ``w = (W cos a - H sin a) / cos 2a`` and
    ``h = (H cos a - W sin a) / cos 2a``. Where that has no positive solution
    (bounds too square for the angle, or angles near 45 deg), the bounds
    themselves are returned. Shapes ``(..., 4)`` and ``(...)``.
    """
    boxes = tf.convert_to_tensor(boxes)
    angles = tf.cast(tf.convert_to_tensor(angles), boxes.dtype)
    y0, x0, y1, x1 = tf.unstack(boxes, 4, axis=-1)
    big_w, big_h = x1 - x0, y1 - y0
    a = tf.abs(angles)
    c, s = tf.cos(a), tf.sin(a)
    c2 = tf.cos(2.0 * a)
    safe = c2 > 0.2
    denom = tf.where(safe, c2, tf.ones_like(c2))
    w = (big_w * c - big_h * s) / denom
    h = (big_h * c - big_w * s) / denom
    ok = safe & (w >= min_side) & (h >= min_side)
    w = tf.where(ok, w, big_w)
    h = tf.where(ok, h, big_h)
    cy, cx = (y0 + y1) * 0.5, (x0 + x1) * 0.5
    return tf.stack([cy - h * 0.5, cx - w * 0.5, cy + h * 0.5, cx + w * 0.5], axis=-1)

