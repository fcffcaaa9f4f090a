"""Inputs for checking and timing dynamic RoI pooling, NumPy only.

``realistic_case`` is the benchmark of the issue: batch 2, C2 (stride 4) of a 1024 x 1024
page at 64 channels, 512 text-line boxes, ``Hp = 8``, ``Wmax = 128``, ``s = 2``. Both the
CPU benchmark (``benchmarks/pooling_benchmark.py``) and the GPU check use it, so their
numbers are of one workload. ``edge_cases`` are small random cases that each hold the
awkward boxes: rotated, off the map, degenerate (``bh < 1``, zero size, negative width),
widths of exactly 1 and ``Wmax``.
"""

from __future__ import annotations

import numpy as np

REALISTIC = dict(batch=2, page=1024, channels=64, num_rois=512, pooled_height=8,
                 max_width=128, sampling_ratio=2, spatial_scale=0.25, aligned=True)


def text_line_boxes(rng, num, page_h, page_w):
    """``(num, 4)`` ``(y0, x0, y1, x1)`` boxes shaped like text lines, and ``(num,)`` angles.

    Heights 12-48 px, aspect ratios 1-25 (a third of them wider than ``16 x`` their height,
    which ``Hp = 8, Wmax = 128`` squeezes), centres anywhere on the page, most lines level
    and one in ten turned by up to 0.5 rad.
    """
    bh = rng.uniform(12.0, 48.0, num)
    bw = bh * rng.uniform(1.0, 25.0, num)
    cy = rng.uniform(0.0, page_h, num)
    cx = rng.uniform(0.0, page_w, num)
    boxes = np.stack([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], axis=1)
    angles = np.where(rng.random(num) < 0.1, rng.uniform(-0.5, 0.5, num),
                      rng.normal(0.0, 0.02, num))
    return boxes.astype(np.float32), angles.astype(np.float32)


def realistic_case(seed=0, dtype=np.float32):
    """The benchmark case as a dict: inputs (features, boxes, box_indices, angles) + attributes."""
    rng = np.random.default_rng(seed)
    c = REALISTIC
    side = c["page"] // 4
    boxes, angles = text_line_boxes(rng, c["num_rois"], c["page"], c["page"])
    return dict(features=rng.standard_normal((c["batch"], side, side, c["channels"]),
                                             np.float32).astype(dtype),
                boxes=boxes.astype(dtype), angles=angles.astype(dtype),
                box_indices=rng.integers(0, c["batch"], c["num_rois"]).astype(np.int32),
                spatial_scale=c["spatial_scale"], pooled_height=c["pooled_height"],
                max_width=c["max_width"], sampling_ratio=c["sampling_ratio"],
                aligned=c["aligned"])


# batch, height, width, channels, num_rois, Hp, Wmax, s, spatial_scale, aligned
EDGE_SHAPES = [
    (1, 5, 7, 1, 9, 2, 6, 1, 1.0, True),
    (2, 6, 9, 3, 12, 3, 10, 2, 0.5, True),
    (3, 4, 4, 2, 10, 4, 12, 3, 0.25, False),
    (2, 8, 5, 8, 9, 1, 16, 2, 0.25, True),
    (1, 3, 11, 4, 9, 2, 1, 2, 1.0, False),
    (2, 16, 20, 16, 24, 4, 24, 2, 0.25, True),
    (1, 12, 10, 5, 0, 3, 8, 2, 0.5, True),  # no box
]


def edge_case(shape, seed, dtype=np.float32):
    """A small random case with every awkward kind of box among its first nine."""
    batch, height, width, channels, num, hp, wmax, s, scale, aligned = shape
    rng = np.random.default_rng(seed)
    page_h, page_w = height / scale, width / scale
    y0 = rng.uniform(-0.3 * page_h, page_h, num)
    x0 = rng.uniform(-0.3 * page_w, page_w, num)
    boxes = np.stack([y0, x0, y0 + rng.uniform(0.2, 0.6 * page_h, num),
                      x0 + rng.uniform(0.2, 1.5 * page_w, num)], axis=1)
    angles = rng.uniform(-np.pi, np.pi, num) * (rng.random(num) < 0.7)
    special = [
        [0.3, 0.2, 0.7, 6.0],                         # bh < 1: a thin band
        [2.0, 3.0, 2.0, 3.0],                         # zero size: width 1, one point
        [1.0, 9.0, 5.0, 2.0],                         # negative width: width 1
        [-5 * page_h, -5 * page_w, -4 * page_h, -3 * page_w],  # entirely off the map
        [0.0, 0.0, page_h, 0.5],                      # tall and thin: width 1
        [0.0, -page_w, 4.0, 2 * page_w],              # long: width Wmax
        [page_h - 1.0, page_w - 1.0, page_h + 3.0, page_w + 9.0],  # over the far corner
        [-2.0, -2.0, 2.0 / scale, 3.0 / scale],       # over the near corner
        [0.5 * page_h, 0.25 * page_w, 0.5 * page_h + 8, 0.75 * page_w],  # long, level
    ]
    for k, box in enumerate(special[:num]):
        boxes[k] = box
    return dict(features=rng.standard_normal((batch, height, width, channels)).astype(dtype),
                boxes=boxes.astype(dtype), angles=angles.astype(dtype),
                box_indices=rng.integers(0, batch, num).astype(np.int32),
                spatial_scale=scale, pooled_height=hp, max_width=wmax, sampling_ratio=s,
                aligned=aligned)
