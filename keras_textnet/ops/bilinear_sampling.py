"""Bilinear sampling of a feature map at many points, with RoIAlign's edge rules (pure TF).

The shared core of :mod:`keras_textnet.ops.dynamic_roi_pooling` and
:mod:`keras_textnet.ops.roi_align`. Coordinates are in *feature-map pixels*
(already multiplied by the spatial scale, half-pixel offset already applied):
pixel ``(i, j)`` of the map holds the value at ``y = i, x = j``.

Edge rules (Detectron2's ``ROIAlign`` bilinear_interpolate, which the custom op
must reproduce):

* a sample with ``y < -1``, ``y > H``, ``x < -1`` or ``x > W`` reads 0;
* otherwise ``y <= 0`` is taken as 0, ``y_low = floor(y)``; if
  ``y_low >= H - 1`` then ``y_low = y_high = H - 1`` and ``y = y_low``, else
  ``y_high = y_low + 1``; the same for ``x``; the value is the bilinear blend of
  the four taps ``(y_low|y_high, x_low|x_high)``.

Implementation: ``tf.gather`` rows of the ``(B * H * W, C)`` flattened map with
computed int32 indices, weighted and accumulated *one tap at a time* (four taps
per sample point, ``K`` sample points), so the peak memory is about two
``(M, C)`` tensors however many taps there are. A hand-written gradient
scatters the output gradient back with ``unsorted_segment_sum``, one tap at a
time as well (TF's own gather gradient would concatenate every tap's
``IndexedSlices`` into one ``(4 K M, C)`` tensor). :func:`expand_rows` spreads
a compact block of sampled cells into a padded layout with a GATHER whose
gradient is a GATHER. No ``crop_and_resize``: the ops are GATHER, WHERE,
CUMSUM, arithmetic and reshapes, which TFLite (builtins only) and ONNX convert.

The helpers for the RoI ops (argument checks, box-frame sampling grids) live
here too, so that every implementation shares one definition.
"""

from __future__ import annotations

import math
import numbers

import tensorflow as tf


def coordinate_dtype(features_dtype) -> tf.DType:
    """The dtype sample coordinates are computed in for features of ``features_dtype``.

    float64 features get float64 coordinates (for gradient checks); every other
    dtype (float32, float16, bfloat16) gets float32, since half-precision
    coordinates would be off by a pixel on a large map.
    """
    return tf.float64 if tf.as_dtype(features_dtype) == tf.float64 else tf.float32


def bilinear_taps(y, x, height, width):
    """The four bilinear taps of sample points, with RoIAlign's edge rules.

    Args:
        y, x: float tensors of one shape, sample coordinates in feature pixels.
        height, width: int32 scalars (tensors or ints), the map's size ``H, W``.

    Returns:
        A list of four ``(row, col, weight)`` triples, one per tap
        (low/low, low/high, high/low, high/high): ``row``/``col`` int32 tensors
        inside ``[0, H-1] x [0, W-1]``; ``weight`` of the coordinates' dtype,
        already zero for points outside ``[-1, H] x [-1, W]``.
    """
    dtype = y.dtype
    h = tf.cast(height, dtype)
    w = tf.cast(width, dtype)
    valid = (y >= -1.0) & (y <= h) & (x >= -1.0) & (x <= w)
    # Out-of-range (and NaN) points are moved to 0 so the int casts stay sane;
    # their weights are zeroed below.
    zero = tf.zeros_like(y)
    y = tf.where(valid, tf.maximum(y, zero), zero)
    x = tf.where(valid, tf.maximum(x, zero), zero)

    def _axis(t, size):
        low = tf.floor(t)
        at_edge = low >= size - 1.0
        low = tf.where(at_edge, size - 1.0, low)
        t = tf.where(at_edge, low, t)
        high = tf.where(at_edge, low, low + 1.0)
        frac = t - low
        return tf.cast(low, tf.int32), tf.cast(high, tf.int32), frac

    y_low, y_high, ly = _axis(y, h)
    x_low, x_high, lx = _axis(x, w)
    valid_f = tf.cast(valid, dtype)
    hy = (1.0 - ly) * valid_f
    ly = ly * valid_f
    hx = 1.0 - lx
    return [
        (y_low, x_low, hy * hx),
        (y_low, x_high, hy * lx),
        (y_high, x_low, ly * hx),
        (y_high, x_high, ly * lx),
    ]


def bilinear_sample_mean(features, box_indices, y, x):
    """Mean of bilinear samples of ``features`` at several points per output cell.

    Args:
        features: ``(batch, height, width, channels)`` float tensor.
        box_indices: ``(num_rois,)`` int, the batch image each RoI samples.
        y, x: ``(K, num_rois, num_cells)`` coordinates in feature pixels of the
            ``K`` sample points of every cell (see the module docstring for the
            edge rules); ``K`` must be static.

    Returns:
        ``(num_rois, num_cells, channels)`` of ``features.dtype``: for every
        cell, the sum over the ``K`` points of the bilinear value, divided by
        ``K`` (points outside the map count as 0).
    """
    num_samples = y.shape[0]
    if num_samples is None or num_samples < 1:
        raise ValueError(f"bilinear_sample_mean needs a static number (>= 1) of sample points "
                         f"along the first axis, got shape {y.shape}.")
    features = tf.convert_to_tensor(features)
    shape = tf.shape(features)
    height, width, channels = shape[1], shape[2], shape[3]
    flat = tf.reshape(features, [-1, channels])
    base = tf.cast(box_indices, tf.int32)[None, :, None] * (height * width)
    out_shape = tf.concat([tf.shape(y)[1:], [channels]], axis=0)

    taps = bilinear_taps(y, x, height, width)
    indices = tf.stack([base + row * width + col for row, col, _ in taps])  # (4, K, N, P)
    weights = tf.stack([weight for _, _, weight in taps]) * (1.0 / num_samples)
    num_taps = 4 * num_samples
    out = _weighted_gather_sum(flat, tf.reshape(indices, [num_taps, -1]),
                               tf.cast(tf.reshape(weights, [num_taps, -1, 1]), features.dtype))
    out = tf.reshape(out, out_shape)
    return tf.ensure_shape(out, [None, None, features.shape[-1]])


def _weighted_gather_sum(params, indices, weights):
    """``sum_t gather(params, indices[t]) * weights[t]``, tap by tap.

    ``params`` ``(R, C)``; ``indices`` ``(T, M)`` int32; ``weights`` ``(T, M, 1)``.
    Differentiable with respect to ``params`` only.
    """
    num_taps = int(indices.shape[0])

    @tf.custom_gradient
    def _sum(params):
        acc = None
        for t in range(num_taps):
            # The control dependency serialises the taps inside a graph, so at
            # most one gathered (M, C) block is alive beside the accumulator.
            with tf.control_dependencies([] if acc is None else [acc]):
                term = tf.gather(params, indices[t]) * weights[t]
            acc = term if acc is None else acc + term

        def _grad(upstream):
            num_rows = tf.shape(params)[0]
            grad = None
            for t in range(num_taps):
                with tf.control_dependencies([] if grad is None else [grad]):
                    term = tf.math.unsorted_segment_sum(upstream * weights[t], indices[t],
                                                        num_rows)
                grad = term if grad is None else grad + term
            return grad

        return acc, _grad

    return _sum(params)


# --- RoI inputs: argument checks and box-frame sampling grids -------------------------------


def validate_positive_int(name: str, value) -> int:
    """``value`` as an int >= 1, or a ValueError that quotes it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")
    return int(value)


def validate_positive_number(name: str, value) -> float:
    """``value`` as a finite float > 0, or a ValueError that quotes it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or value <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {value!r}.")
    return float(value)


def validate_spatial_scale(value) -> float:
    """``spatial_scale`` as a finite float > 0, or a ValueError that quotes it."""
    return validate_positive_number("spatial_scale", value)


def check_static_rank(name: str, tensor, rank: int, last_dim: int | None = None):
    """Raises a ValueError when ``tensor``'s statically known rank (or last dim) is wrong."""
    shape = tensor.shape
    if shape.rank is not None and shape.rank != rank:
        raise ValueError(f"`{name}` must have rank {rank}, got shape {shape}.")
    if last_dim is not None and shape.rank is not None and shape[-1] is not None \
            and shape[-1] != last_dim:
        raise ValueError(f"`{name}` must have a last dimension of {last_dim}, "
                         f"got shape {shape}.")


def prepare_roi_inputs(features, boxes, box_indices, angles=None):
    """Converts and rank-checks the RoI ops' tensor inputs.

    Returns ``(features, boxes, box_indices, angles)``: boxes and angles cast to
    the coordinate dtype (:func:`coordinate_dtype`), box indices int32, angles
    ``None`` when not given.
    """
    features = tf.convert_to_tensor(features)
    if not features.dtype.is_floating:
        raise ValueError(f"`features` must be a float tensor, got dtype {features.dtype.name}.")
    check_static_rank("features", features, 4)
    dtype = coordinate_dtype(features.dtype)
    boxes = tf.cast(boxes, dtype)
    check_static_rank("boxes", boxes, 2, last_dim=4)
    box_indices = tf.cast(box_indices, tf.int32)
    check_static_rank("box_indices", box_indices, 1)
    if angles is not None:
        angles = tf.cast(angles, dtype)
        check_static_rank("angles", angles, 1)
    return features, boxes, box_indices, angles


def box_frame_points(boxes, angles, columns, rows, cols, *, spatial_scale: float,
                     pooled_height: int, sampling_ratio: int, aligned: bool):
    """Sample coordinates of grid cells in their boxes' own frames, in feature pixels.

    Each box (``(y0, x0, y1, x1)`` in input pixels) is divided into
    ``pooled_height`` rows and ``columns`` columns in its own frame; sub-bin
    ``(iy, ix)`` of cell ``(r, c)`` sits at the offsets::

        v = -bh / 2 + (r + (iy + 0.5) / s) * (bh / pooled_height)
        u = -bw / 2 + (c + (ix + 0.5) / s) * (bw / columns)
        x = cx + u * cos(a) + v * sin(a);  y = cy - u * sin(a) + v * cos(a)

    then ``x, y`` are multiplied by ``spatial_scale`` and, when ``aligned``,
    lowered by 0.5.

    Args:
        boxes: ``(..., 4)`` float (the coordinate dtype), one box per cell or
            broadcastable to the cells (e.g. ``(N, 1, 1, 4)``).
        angles: ``boxes.shape[:-1]`` radians of the same dtype, or ``None``.
        columns: ``boxes.shape[:-1]`` (or a scalar), each box's number of columns.
        rows, cols: the cells' row and column indices, of the coordinate dtype,
            broadcastable against ``boxes.shape[:-1]``; the broadcast rank must
            be static.

    Returns:
        ``(y, x)``, each ``(sampling_ratio ** 2, *cells)``: the sub-bins, ``iy``
        major and ``ix`` minor, along the first axis.
    """
    dtype = boxes.dtype
    # Slices, not unstack: TFLite's UNPACK refuses an empty input (no boxes).
    y0, x0, y1, x1 = (boxes[..., k] for k in range(4))
    rank = max(boxes.shape.rank - 1, rows.shape.rank, cols.shape.rank)
    s = sampling_ratio
    sub = [((iy + 0.5) / s, (ix + 0.5) / s) for iy in range(s) for ix in range(s)]
    sub_y = tf.reshape(tf.constant([fy for fy, _ in sub], dtype), [-1] + [1] * rank)
    sub_x = tf.reshape(tf.constant([fx for _, fx in sub], dtype), [-1] + [1] * rank)
    bh = y1 - y0
    bw = x1 - x0
    v = -0.5 * bh + (rows + sub_y) * (bh / pooled_height)  # (K, *cells)
    u = -0.5 * bw + (cols + sub_x) * (bw / tf.cast(columns, dtype))
    cy = (y0 + y1) * 0.5
    cx = (x0 + x1) * 0.5
    if angles is None:
        x = (cx + u) + tf.zeros_like(v)
        y = (cy + v) + tf.zeros_like(u)
    else:
        cos = tf.cos(angles)
        sin = tf.sin(angles)
        x = cx + u * cos + v * sin
        y = cy - u * sin + v * cos
    offset = 0.5 if aligned else 0.0
    return y * spatial_scale - offset, x * spatial_scale - offset


def expand_rows(values, mask, kept=None):
    """Scatters ``values`` ``(V, C)`` to the cells where ``mask`` is true; zeros elsewhere.

    ``mask`` is a bool tensor of any shape ``S`` with ``V`` true entries; the
    result is ``(*S, C)``, the values filling the true cells in row-major
    order. ``kept``, the ``(V,)`` int32 flat positions of those cells, may be
    passed when the caller has them already. Implemented with a GATHER from
    ``values`` plus one zero row; the hand-written gradient is a GATHER too
    (TF's would be a segment sum over all the cells).
    """
    flat_mask = tf.reshape(tf.cast(mask, tf.int32), [-1])
    num_values = tf.shape(values)[0]
    # Gathering straight into the mask's shape (no RESHAPE of the result): LiteRT
    # fails to read back a reshaped empty output after a non-empty run.
    source = tf.reshape(tf.where(flat_mask > 0, tf.cumsum(flat_mask) - 1, num_values),
                        tf.shape(mask))
    if kept is None:
        kept = tf.cast(tf.where(flat_mask > 0)[:, 0], tf.int32)  # (V,)

    @tf.custom_gradient
    def _expand(values):
        padded = tf.concat([values, tf.zeros([1, tf.shape(values)[1]], values.dtype)], axis=0)

        def _grad(upstream):
            flat_upstream = tf.reshape(upstream, [-1, tf.shape(upstream)[-1]])
            return tf.gather(flat_upstream, kept)

        return tf.gather(padded, source), _grad

    return _expand(values)
