"""NumPy reference for dynamic RoI pooling and RoIAlign: float64, explicit loops.

Written from the contract in ``keras_textnet/ops/dynamic_roi_pooling.py``'s
docstring, independently of the TF code: one point, one bin, one box at a time.
Slow; meant for the tiny shapes of the tests.

Also the inputs the pooling tests share: :func:`ramp`, :func:`random_boxes`, and
``pooling_cases`` (``custom_ops/gpu_check/pooling_cases.py``, the GPU check's cases).
"""

import importlib.util
import math
from pathlib import Path

import numpy as np

_CASES_FILE = Path(__file__).resolve().parents[1] / "custom_ops" / "gpu_check" / "pooling_cases.py"
_spec = importlib.util.spec_from_file_location("pooling_cases", _CASES_FILE)
pooling_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pooling_cases)


def ramp(height=4, width=4):
    """``(1, H, W, 1)`` map with value ``4 y + x`` at pixel ``(y, x)``: bilinear is exact on it."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    return (4.0 * y + x)[None, :, :, None]


def random_boxes(rng, num, height, width, scale, width_ratio=1.5):
    """``(num, 4)`` boxes over (and beyond) an ``height x width`` map at ``scale``.

    Every aspect: heights up to 0.6, widths up to ``width_ratio`` times the page's.
    """
    page_h, page_w = height / scale, width / scale
    y0 = rng.uniform(-0.3 * page_h, page_h, num)
    x0 = rng.uniform(-0.3 * page_w, page_w, num)
    bh = rng.uniform(0.2, 0.6 * page_h, num)
    bw = rng.uniform(0.2, width_ratio * page_w, num)
    return np.stack([y0, x0, y0 + bh, x0 + bw], axis=1)


def bilinear(image, y, x):
    """Value of ``image`` ``(H, W, C)`` at ``(y, x)`` with RoIAlign's edge rules."""
    height, width = image.shape[:2]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return np.zeros(image.shape[2], np.float64)
    y = max(y, 0.0)
    x = max(x, 0.0)
    y_low = math.floor(y)
    x_low = math.floor(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly = y - y_low
    lx = x - x_low
    hy = 1.0 - ly
    hx = 1.0 - lx
    return (hy * hx * image[y_low, x_low] + hy * lx * image[y_low, x_high]
            + ly * hx * image[y_high, x_low] + ly * lx * image[y_high, x_high])


def dynamic_width(box, pooled_height, max_width):
    """``min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5)))``."""
    y0, x0, y1, x1 = (float(v) for v in box)
    raw = math.floor(pooled_height * (x1 - x0) / max(y1 - y0, 1.0) + 0.5)
    return int(min(max_width, max(1, raw)))


def pool_box(image, box, angle, *, columns, out_columns, spatial_scale, pooled_height,
             sampling_ratio, aligned):
    """One box's ``(pooled_height, out_columns, C)`` grid, ``columns`` of them filled."""
    y0, x0, y1, x1 = (float(v) for v in box)
    bh = y1 - y0
    bw = x1 - x0
    cy = (y0 + y1) / 2.0
    cx = (x0 + x1) / 2.0
    cos = math.cos(angle)
    sin = math.sin(angle)
    s = sampling_ratio
    out = np.zeros((pooled_height, out_columns, image.shape[2]), np.float64)
    for r in range(pooled_height):
        for c in range(columns):
            total = np.zeros(image.shape[2], np.float64)
            for iy in range(s):
                for ix in range(s):
                    v = -bh / 2.0 + (r + (iy + 0.5) / s) * (bh / pooled_height)
                    u = -bw / 2.0 + (c + (ix + 0.5) / s) * (bw / columns)
                    x = cx + u * cos + v * sin
                    y = cy - u * sin + v * cos
                    x *= spatial_scale
                    y *= spatial_scale
                    if aligned:
                        x -= 0.5
                        y -= 0.5
                    total += bilinear(image, y, x)
            out[r, c] = total / (s * s)
    return out


def dynamic_roi_pooling(features, boxes, box_indices, angles=None, *, spatial_scale=0.25,
                        pooled_height=8, max_width=256, sampling_ratio=2, aligned=True):
    """Reference ``(pooled (N, Hp, Wmax, C), widths (N,))``, float64 / int32."""
    features = np.asarray(features, np.float64)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    num = boxes.shape[0]
    angles = np.zeros(num) if angles is None else np.asarray(angles, np.float64)
    pooled = np.zeros((num, pooled_height, max_width, features.shape[3]), np.float64)
    widths = np.zeros(num, np.int32)
    for i in range(num):
        widths[i] = dynamic_width(boxes[i], pooled_height, max_width)
        pooled[i] = pool_box(features[int(box_indices[i])], boxes[i], angles[i],
                             columns=int(widths[i]), out_columns=max_width,
                             spatial_scale=spatial_scale, pooled_height=pooled_height,
                             sampling_ratio=sampling_ratio, aligned=aligned)
    return pooled, widths


def roi_align(features, boxes, box_indices, *, output_size=(4, 24), spatial_scale=0.25,
              sampling_ratio=2, aligned=True):
    """Reference RoIAlign ``(N, ph, pw, C)`` float64 (Detectron2's loops)."""
    features = np.asarray(features, np.float64)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    ph, pw = output_size
    out = np.zeros((boxes.shape[0], ph, pw, features.shape[3]), np.float64)
    offset = 0.5 if aligned else 0.0
    s = sampling_ratio
    for i, (y0, x0, y1, x1) in enumerate(boxes):
        image = features[int(box_indices[i])]
        start_y = y0 * spatial_scale - offset
        start_x = x0 * spatial_scale - offset
        bin_h = (y1 - y0) * spatial_scale / ph
        bin_w = (x1 - x0) * spatial_scale / pw
        for r in range(ph):
            for c in range(pw):
                total = np.zeros(features.shape[3])
                for iy in range(s):
                    y = start_y + r * bin_h + (iy + 0.5) * bin_h / s
                    for ix in range(s):
                        x = start_x + c * bin_w + (ix + 0.5) * bin_w / s
                        total += bilinear(image, y, x)
                out[i, r, c] = total / (s * s)
    return out
