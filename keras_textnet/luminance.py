"""Luminance: the one set of grey weights of the library, for colours and for images.

Both use ITU-R BT.601 luma, ``0.299 R + 0.587 G + 0.114 B``
(:data:`LUMA_WEIGHTS`):

* :func:`luminance` of one colour, a float (the synthetic pages' contrast
  checks: text lighter or darker than what lies beneath);
* :func:`gray_image` of an ``(H, W, 3|4)`` uint8 image, a uint8 ``(H, W)``
  image computed by OpenCV's ``COLOR_RGB2GRAY`` (the same weights in 14-bit
  fixed point, rounded to the nearest grey level). Training's grayscale
  degradation and the predictor's ink measurements both call it, so a page
  turns grey the same way, to the pixel, on both roads.

The training graph's colour augmentation keeps TensorFlow's own
``tf.image.rgb_to_grayscale`` (:mod:`keras_textnet.data.transforms`): a graph
op on float images, not a NumPy helper.

>>> luminance((255, 255, 255))
255.0
>>> import numpy as np
>>> gray_image(np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)).tolist()
[[76, 150]]
"""

from __future__ import annotations

import numpy as np

#: ``(R, G, B)`` weights of :func:`luminance` and :func:`gray_image` (BT.601 luma).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def luminance(color) -> float:
    """Luma of one colour ``(r, g, b[, a])`` on the 0-255 scale (alpha ignored)."""
    r, g, b = color[:3]
    wr, wg, wb = LUMA_WEIGHTS
    return wr * r + wg * g + wb * b


def gray_image(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 grey of an ``(H, W, 3|4)`` uint8 RGB(A) image; a grey image as is.

    Alpha, if any, is dropped (not composited).
    """
    if image.ndim == 2:
        return image
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


__all__ = ["LUMA_WEIGHTS", "gray_image", "luminance"]
