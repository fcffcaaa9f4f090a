"""Geometric and photometric transforms on an image and its boxes (pure TF).

Every function here takes and returns tensors and keeps the boxes consistent
with the pixels. Box convention: ``boxes`` is ``(num_boxes, 4)`` float32
``(y0, x0, y1, x1)`` in the pixels of the image passed alongside, ``y1``/``x1``
exclusive. Randomness is *stateless*: each function that draws takes a
``seed`` shaped ``(2,)`` int32/int64, so a pipeline is reproducible whatever
its parallelism.
"""

from __future__ import annotations

import tensorflow as tf


def split_seed(seed, n: int):
    """``n`` independent ``(2,)`` seeds derived from ``seed``."""
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), n))


def resize_with_boxes(image, boxes, scale_yx, method: str = "bilinear"):
    """Resizes ``image`` by ``scale_yx = (sy, sx)``; boxes follow.

    Args:
        image: ``(H, W, C)`` uint8 or float.
        boxes: ``(N, 4)`` float32 ``(y0, x0, y1, x1)``.
        scale_yx: ``(2,)`` float32 factors. The output size is
            ``round(H * sy), round(W * sx)`` (at least 1); the boxes are scaled
            by the *realised* factors, so they match the pixels exactly.

    Returns:
        ``(resized_image, scaled_boxes, realised_scale_yx)``; the image keeps
        its dtype (uint8 is rounded and clipped).
    """
    scale_yx = tf.cast(scale_yx, tf.float32)
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    new_size = tf.maximum(tf.round(size * scale_yx), 1.0)
    realised = new_size / size
    dtype = image.dtype
    out = tf.image.resize(image, tf.cast(new_size, tf.int32), method=method,
                          antialias=True)
    if dtype == tf.uint8:
        out = tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)
    else:
        out = tf.cast(out, dtype)
    factors = tf.tile(realised, [2])
    return out, tf.cast(boxes, tf.float32) * factors[tf.newaxis, :], realised


def pad_to_size(image, height, width, pad_value=255):
    """Pads ``image`` at the bottom and right up to ``(height, width)``.

    The image must not be larger than the target. Boxes are unchanged (the
    padding is after the image), so no boxes argument is needed.
    """
    dtype = image.dtype
    shape = tf.shape(image)
    paddings = [[0, height - shape[0]], [0, width - shape[1]], [0, 0]]
    return tf.pad(image, paddings, constant_values=tf.cast(pad_value, dtype))


def letterbox(image, boxes, height: int, width: int, pad_value=255, allow_upscale=True):
    """Fits ``image`` into ``(height, width)`` keeping its aspect, padding after it.

    Returns:
        ``(image, boxes, scale_yx)`` where ``scale_yx`` maps source pixels to
        output pixels (divide output coordinates by it to go back). The image
        sits at the top-left, so there is no offset.
    """
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.minimum(height / size[0], width / size[1])
    if not allow_upscale:
        scale = tf.minimum(scale, 1.0)
    # Never exceed the target by rounding.
    new_h = tf.minimum(tf.maximum(tf.round(size[0] * scale), 1.0), float(height))
    new_w = tf.minimum(tf.maximum(tf.round(size[1] * scale), 1.0), float(width))
    image, boxes, realised = resize_with_boxes(image, boxes, tf.stack([new_h, new_w]) / size)
    image = pad_to_size(image, height, width, pad_value)
    image = tf.ensure_shape(image, [height, width, None])
    return image, boxes, realised


def box_visibility(boxes, window):
    """How boxes relate to a window ``(y0, x0, y1, x1)``.

    Returns:
        ``(clipped_boxes, inside, cut)``: boxes clipped to the window (still in
        the original frame), a bool for boxes entirely inside, and a bool for
        boxes partly inside (they overlap the window by at least one pixel in
        each direction but are not entirely inside).
    """
    lo = tf.stack([window[0], window[1], window[0], window[1]])
    hi = tf.stack([window[2], window[3], window[2], window[3]])
    clipped = tf.clip_by_value(boxes, lo, hi)
    inside = tf.reduce_all(tf.abs(clipped - boxes) < 1e-3, axis=-1)
    visible_h = clipped[:, 2] - clipped[:, 0]
    visible_w = clipped[:, 3] - clipped[:, 1]
    overlaps = (visible_h >= 1.0) & (visible_w >= 1.0)
    return clipped, inside, overlaps & ~inside


def choose_crop(image_size, boxes, ignore, crop_size, seed, candidates: int = 8):
    """Picks a crop window that cuts as few readable boxes as it can.

    ``candidates`` windows are drawn uniformly; the one cutting the fewest
    non-ignored boxes wins (ties: the most boxes entirely inside, then the
    first drawn). Where the image is smaller than the crop along an axis the
    window starts at 0 there (the crop is then padded).

    Returns:
        ``(y0, x0)`` int32 of the window's top-left corner.
    """
    h, w = tf.cast(image_size[0], tf.float32), tf.cast(image_size[1], tf.float32)
    ch, cw = float(crop_size[0]), float(crop_size[1])
    span = tf.maximum(tf.stack([h - ch, w - cw]), 0.0)
    u = tf.random.stateless_uniform([candidates, 2], seed=seed)
    starts = tf.floor(u * (span + 1.0))
    starts = tf.minimum(starts, span)

    def score(start):
        window = tf.stack([start[0], start[1], start[0] + ch, start[1] + cw])
        _, inside, cut = box_visibility(boxes, window)
        readable = ~ignore
        n_cut = tf.reduce_sum(tf.cast(cut & readable, tf.float32))
        n_in = tf.reduce_sum(tf.cast(inside & readable, tf.float32))
        return n_cut * 1e4 - n_in

    scores = tf.map_fn(score, starts, fn_output_signature=tf.float32)
    best = tf.argmin(scores)
    return tf.cast(starts[best], tf.int32)


def crop_with_boxes(image, boxes, ignore, top_left, crop_size, pad_value=255,
                    min_visible: float = 2.0):
    """Crops ``crop_size`` at ``top_left`` (padding if the image is smaller).

    Boxes entirely inside are kept as they are; boxes the crop cuts are clipped
    to it and become ``ignore`` (a cut word is never trained as whole text);
    boxes outside, or whose visible part is under ``min_visible`` pixels
    tall or wide, are dropped.

    Returns:
        ``(image, boxes, ignore, keep)`` where ``keep`` is the ``(N,)`` bool
        mask of the input boxes that survive (apply it to any other per-box
        tensor); ``boxes`` and ``ignore`` are already filtered.
    """
    ch, cw = int(crop_size[0]), int(crop_size[1])
    y0, x0 = top_left[0], top_left[1]
    shape = tf.shape(image)
    h_avail = tf.minimum(ch, shape[0] - y0)
    w_avail = tf.minimum(cw, shape[1] - x0)
    image = tf.slice(image, [y0, x0, 0], [h_avail, w_avail, -1])
    image = pad_to_size(image, ch, cw, pad_value)
    image = tf.ensure_shape(image, [ch, cw, None])

    fy0, fx0 = tf.cast(y0, tf.float32), tf.cast(x0, tf.float32)
    window = tf.stack([fy0, fx0, fy0 + tf.cast(h_avail, tf.float32),
                       fx0 + tf.cast(w_avail, tf.float32)])
    clipped, inside, _ = box_visibility(boxes, window)
    vis_h = clipped[:, 2] - clipped[:, 0]
    vis_w = clipped[:, 3] - clipped[:, 1]
    keep = (vis_h >= min_visible) & (vis_w >= min_visible)
    shifted = clipped - tf.stack([fy0, fx0, fy0, fx0])[tf.newaxis, :]
    new_ignore = ignore | ~inside
    return (image, tf.boolean_mask(shifted, keep), tf.boolean_mask(new_ignore, keep), keep)


def _gaussian_blur(image, sigma):
    """Separable Gaussian blur of a float ``(H, W, C)`` image (radius 3 sigma, <= 4)."""
    radius = 4
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    k = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
    k = k / tf.reduce_sum(k)
    channels = tf.shape(image)[-1]
    img = image[tf.newaxis]
    kh = tf.tile(tf.reshape(k, [1, -1, 1, 1]), [1, 1, channels, 1])
    kv = tf.tile(tf.reshape(k, [-1, 1, 1, 1]), [1, 1, channels, 1])
    img = tf.nn.depthwise_conv2d(img, kh, [1, 1, 1, 1], "SAME")
    img = tf.nn.depthwise_conv2d(img, kv, [1, 1, 1, 1], "SAME")
    return img[0]


def photometric_augment(image, seed, strength: float = 1.0):
    """Random colour, contrast, gamma, grey, blur, noise and JPEG changes.

    Geometry is untouched, so boxes need no update. ``strength`` in ``[0, 1]``
    scales how often and how strongly each change happens (0 = identity).
    Input and output are ``(H, W, 3)`` uint8.
    """
    if strength <= 0:
        return image
    s = float(strength)
    seeds = split_seed(seed, 12)
    u = tf.random.stateless_uniform([8], seed=seeds[0])
    img = tf.cast(image, tf.float32) / 255.0

    def maybe(i, p, fn, x):
        return tf.cond(u[i] < p * s, lambda: fn(x), lambda: x)

    img = maybe(0, 0.8, lambda x: tf.image.stateless_random_brightness(
        x, 0.15 * s, seeds[1]), img)
    img = maybe(1, 0.8, lambda x: tf.image.stateless_random_contrast(
        x, 1 - 0.5 * s, 1 + 0.3 * s, seeds[2]), img)
    img = maybe(2, 0.5, lambda x: tf.image.stateless_random_saturation(
        x, 1 - 0.8 * s, 1 + 0.8 * s, seeds[3]), img)
    img = maybe(3, 0.3, lambda x: tf.image.stateless_random_hue(x, 0.08 * s, seeds[4]), img)
    img = tf.clip_by_value(img, 0.0, 1.0)
    gamma = tf.exp(tf.random.stateless_uniform([], seed=seeds[5], minval=-0.4 * s, maxval=0.4 * s))
    img = maybe(4, 0.5, lambda x: tf.pow(x, gamma), img)
    img = maybe(5, 0.15, lambda x: tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x)), img)
    sigma = tf.random.stateless_uniform([], seed=seeds[6], minval=0.3, maxval=0.3 + 0.9 * s)
    img = maybe(6, 0.25, lambda x: _gaussian_blur(x, sigma), img)
    noise_std = tf.random.stateless_uniform([], seed=seeds[7], minval=0.0, maxval=0.05 * s)
    img = maybe(7, 0.3, lambda x: x + noise_std * tf.random.stateless_normal(
        tf.shape(x), seed=seeds[8]), img)
    img = tf.clip_by_value(img, 0.0, 1.0)
    out = tf.cast(tf.round(img * 255.0), tf.uint8)
    jpeg_u = tf.random.stateless_uniform([], seed=seeds[9])
    out = tf.cond(jpeg_u < 0.2 * s,
                  lambda: tf.image.stateless_random_jpeg_quality(
                      out, int(95 - 65 * s), 95, seeds[10]),
                  lambda: out)
    return tf.ensure_shape(out, image.shape)
