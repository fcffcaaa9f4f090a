"""Vectorised float64 NumPy reference of dynamic RoI pooling: forward and its adjoint.

The loop oracle ``tests/pooling_oracle.py`` is exact but far too slow for the realistic case
(512 boxes, 8 x 128 bins, 64 channels); this module computes the same contract (the
docstring of ``keras_textnet/ops/dynamic_roi_pooling.py``) with array operations, so it also
checks the gradient: ``adjoint(g)`` is the exact transpose of ``forward``, i.e. the gradient
of ``sum(forward(f) * g)`` with respect to ``f``. NumPy only (the GPU machine has no
TensorFlow); ``run_gpu_check.py`` checks it against the loop oracle before trusting it.
"""

from __future__ import annotations

import numpy as np


def widths(boxes, pooled_height, max_width):
    """``min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5)))``, NaN -> 1, as ``(N,)`` int32."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    bh = boxes[:, 2] - boxes[:, 0]
    bw = boxes[:, 3] - boxes[:, 1]
    with np.errstate(invalid="ignore"):
        raw = np.floor(pooled_height * bw / np.fmax(bh, 1.0) + 0.5)
    raw = np.where(np.isnan(bh) | np.isnan(raw), 1.0, raw)
    return np.clip(raw, 1, max_width).astype(np.int32)


def bin_taps(boxes, box_indices, angles, height, width, *, spatial_scale, pooled_height,
             max_width, sampling_ratio, aligned):
    """The bilinear taps of every non-padded bin.

    Returns ``(widths, cells, pixels, weights)``: ``cells`` ``(V,)`` flat indices of the bins
    into ``(N, Hp, Wmax)``; ``pixels`` ``(V, 4 s^2)`` int64 flat indices into the
    ``(B * H * W)`` pixels; ``weights`` ``(V, 4 s^2)`` float64 (already divided by ``s^2``).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    num = boxes.shape[0]
    box_indices = np.asarray(box_indices, np.int64).reshape(-1)
    angles = np.zeros(num) if angles is None else np.asarray(angles, np.float64).reshape(-1)
    w = widths(boxes, pooled_height, max_width)
    roi = np.repeat(np.arange(num), w * pooled_height)
    # Row-major (roi, r, c) with c < w_i: rows repeat w_i times, columns count up.
    rows = np.concatenate([np.repeat(np.arange(pooled_height), k) for k in w]) \
        if num else np.zeros(0, np.int64)
    cols = np.concatenate([np.tile(np.arange(k), pooled_height) for k in w]) \
        if num else np.zeros(0, np.int64)
    cells = (roi * pooled_height + rows) * max_width + cols
    s = sampling_ratio
    sub = (np.arange(s) + 0.5) / s
    sub_y = np.repeat(sub, s)[None, :]  # iy major
    sub_x = np.tile(sub, s)[None, :]
    y0, x0, y1, x1 = (boxes[roi, k][:, None] for k in range(4))
    bh, bw = y1 - y0, x1 - x0
    v = -bh / 2.0 + (rows[:, None] + sub_y) * (bh / pooled_height)
    u = -bw / 2.0 + (cols[:, None] + sub_x) * (bw / w[roi][:, None])
    cos, sin = np.cos(angles[roi])[:, None], np.sin(angles[roi])[:, None]
    x = (x0 + x1) / 2.0 + u * cos + v * sin
    y = (y0 + y1) / 2.0 - u * sin + v * cos
    x, y = x * spatial_scale, y * spatial_scale
    if aligned:
        x, y = x - 0.5, y - 0.5
    with np.errstate(invalid="ignore"):
        valid = (y >= -1.0) & (y <= height) & (x >= -1.0) & (x <= width)
    y = np.where(valid, np.maximum(y, 0.0), 0.0)
    x = np.where(valid, np.maximum(x, 0.0), 0.0)

    def axis(t, size):
        low = np.floor(t)
        edge = low >= size - 1
        low = np.where(edge, size - 1, low)
        t = np.where(edge, low, t)
        high = np.where(edge, low, low + 1)
        return low.astype(np.int64), high.astype(np.int64), t - low

    y_low, y_high, ly = axis(y, height)
    x_low, x_high, lx = axis(x, width)
    ly = ly * valid
    hy = (1.0 - ly) * valid
    hx = 1.0 - lx
    base = box_indices[roi][:, None] * (height * width)
    pixels = np.concatenate([base + y_low * width + x_low, base + y_low * width + x_high,
                             base + y_high * width + x_low, base + y_high * width + x_high],
                            axis=1)
    weights = np.concatenate([hy * hx, hy * lx, ly * hx, ly * lx], axis=1) / (s * s)
    return w, cells, pixels, weights


def forward(features, boxes, box_indices, angles=None, *, spatial_scale, pooled_height,
            max_width, sampling_ratio, aligned, chunk=65536):
    """``(pooled (N, Hp, Wmax, C) float64, widths (N,) int32)``."""
    features = np.asarray(features, np.float64)
    height, width, channels = features.shape[1:]
    num = np.asarray(boxes).reshape(-1, 4).shape[0]
    w, cells, pixels, weights = bin_taps(boxes, box_indices, angles, height, width,
                                         spatial_scale=spatial_scale,
                                         pooled_height=pooled_height, max_width=max_width,
                                         sampling_ratio=sampling_ratio, aligned=aligned)
    flat = features.reshape(-1, channels)
    out = np.zeros((num * pooled_height * max_width, channels))
    for start in range(0, len(cells), chunk):
        part = slice(start, start + chunk)
        out[cells[part]] = np.einsum("vt,vtc->vc", weights[part], flat[pixels[part]])
    return out.reshape(num, pooled_height, max_width, channels), w


def adjoint(grad_pooled, features_shape, boxes, box_indices, angles=None, *, spatial_scale,
            pooled_height, max_width, sampling_ratio, aligned):
    """The gradient ``(B, H, W, C)`` float64 of ``sum(forward(f) * grad_pooled)`` w.r.t. ``f``."""
    batch, height, width, channels = features_shape
    grad_pooled = np.asarray(grad_pooled, np.float64).reshape(-1, channels)
    _, cells, pixels, weights = bin_taps(boxes, box_indices, angles, height, width,
                                         spatial_scale=spatial_scale,
                                         pooled_height=pooled_height, max_width=max_width,
                                         sampling_ratio=sampling_ratio, aligned=aligned)
    size = batch * height * width
    grad = np.zeros((size, channels))
    index = pixels.ravel()
    upstream = grad_pooled[cells]  # (V, C)
    for ch in range(channels):
        grad[:, ch] = np.bincount(index, weights=(weights * upstream[:, ch:ch + 1]).ravel(),
                                  minlength=size)
    return grad.reshape(batch, height, width, channels)
