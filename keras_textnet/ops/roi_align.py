"""Fixed-size, axis-aligned RoIAlign, on one map or across a feature pyramid (pure TF).

Detectron2's ``ROIAlign`` conventions, sharing the sampling core of
:mod:`keras_textnet.ops.bilinear_sampling` with dynamic RoI pooling: box ``i``
``(y0, x0, y1, x1)`` in input-image pixels is divided into ``ph x pw`` bins;
bin ``(r, c)`` is the mean of ``s x s`` bilinear samples at its sub-bin
centres, ``y = (y0 + (r + (iy + 0.5) / s) * bh / ph) * spatial_scale``, minus
0.5 when ``aligned``; samples outside ``[-1, H] x [-1, W]`` read 0. This is
exactly :func:`keras_textnet.ops.dynamic_roi_pooling.dynamic_roi_pooling` with
angle 0 and every width forced to ``pw``. Unlike legacy (``aligned=False``)
RoIAlign, boxes smaller than one feature pixel are not enlarged to one.
"""

from __future__ import annotations

import math

import tensorflow as tf

from keras_textnet.ops.bilinear_sampling import (bilinear_sample_mean, box_frame_points,
                                                 prepare_roi_inputs, validate_positive_int,
                                                 validate_positive_number, validate_spatial_scale)


def _validate_output_size(output_size) -> tuple[int, int]:
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(f"`output_size` must be an int or a pair (height, width), "
                             f"got {output_size!r}.")
        height, width = output_size
    else:
        height = width = output_size
    try:
        return (validate_positive_int("output_size", height),
                validate_positive_int("output_size", width))
    except ValueError:
        raise ValueError(f"`output_size` must be an int >= 1 or a pair of them, "
                         f"got {output_size!r}.") from None


def roi_align(features, boxes, box_indices, *, output_size=(4, 24), spatial_scale=0.25,
              sampling_ratio=2, aligned=True):
    """Pools every box into a fixed ``output_size`` grid (RoIAlign).

    Box convention: ``(y0, x0, y1, x1)`` in input-image pixels.

    Args:
        features: ``(batch, height, width, channels)`` float feature map.
        boxes: ``(num_rois, 4)`` ``(y0, x0, y1, x1)`` in input-image pixels.
        box_indices: ``(num_rois,)`` int32, the batch image of each box.
        output_size: ``(pooled_height, pooled_width)`` or one int for both.
        spatial_scale: feature pixels per input pixel (1 / stride).
        sampling_ratio: samples per bin along each axis (>= 1).
        aligned: subtract half a feature pixel (Detectron2's ``aligned=True``).

    Returns:
        ``(num_rois, pooled_height, pooled_width, channels)`` of the features' dtype.
        Gradients flow to ``features`` only.

    Example:
    >>> features = tf.random.normal([1, 32, 32, 8])
    >>> roi_align(features, tf.constant([[0.0, 0.0, 16.0, 96.0]]), tf.constant([0]),
    ...           output_size=(4, 24), spatial_scale=0.25).shape
    TensorShape([1, 4, 24, 8])
    """
    pooled_height, pooled_width = _validate_output_size(output_size)
    spatial_scale = validate_spatial_scale(spatial_scale)
    sampling_ratio = validate_positive_int("sampling_ratio", sampling_ratio)
    features, boxes, box_indices, _ = prepare_roi_inputs(features, boxes, box_indices)
    return _roi_align_tf(features, boxes, box_indices, pooled_height=pooled_height,
                         pooled_width=pooled_width, spatial_scale=spatial_scale,
                         sampling_ratio=sampling_ratio, aligned=bool(aligned))


def _roi_align_tf(features, boxes, box_indices, *, pooled_height, pooled_width, spatial_scale,
                  sampling_ratio, aligned):
    """The pure-TF implementation of :func:`roi_align` (inputs already checked)."""
    dtype = boxes.dtype
    boxes = tf.stop_gradient(boxes)[:, None, None, :]  # (N, 1, 1, 4)
    rows = tf.range(pooled_height, dtype=dtype)[None, :, None]
    cols = tf.range(pooled_width, dtype=dtype)[None, None, :]
    y, x = box_frame_points(boxes, None, tf.constant(pooled_width, dtype), rows, cols,
                            spatial_scale=spatial_scale, pooled_height=pooled_height,
                            sampling_ratio=sampling_ratio, aligned=aligned)  # (s * s, N, ph, pw)
    cells = pooled_height * pooled_width
    num_samples = sampling_ratio * sampling_ratio
    pooled = bilinear_sample_mean(features, box_indices, tf.reshape(y, [num_samples, -1, cells]),
                                  tf.reshape(x, [num_samples, -1, cells]))
    pooled = tf.reshape(pooled, [-1, pooled_height, pooled_width, tf.shape(features)[3]])
    return tf.ensure_shape(pooled, [None, pooled_height, pooled_width, features.shape[-1]])


def _level_of_stride(name: str, stride) -> int:
    stride_int = validate_positive_int(f"strides[{name!r}]", stride)
    level = round(math.log2(stride_int))
    if 2 ** level != stride_int:
        raise ValueError(f"`strides[{name!r}]` must be a power of two, got {stride!r}.")
    return level


def assign_pyramid_levels(boxes, levels, *, canonical_size=64.0, canonical_level=3):
    """Index into ``levels`` of the pyramid level each box is pooled from.

    The Mask R-CNN rule ``k = floor(k0 + log2(sqrt(bw * bh) / s0))`` with the
    text-sized canonical box ``s0 = canonical_size``: with the defaults
    ``sqrt(area)`` in ``[64, 128)`` px (a 16 x 256 px line) goes to P3,
    ``[32, 64)`` (an 8 x 128 px word) to P2, ``[128, 256)`` to P4, and so on;
    then the nearest of the available ``levels`` is taken (ties go to the
    finer level), so with P2 and P3 only, every box under 64 px goes to P2.

    Args:
        boxes: ``(N, 4)`` ``(y0, x0, y1, x1)`` in input-image pixels.
        levels: sequence of the available levels (``log2`` of their strides).
        canonical_size: ``s0``, the side in pixels of a square box at ``k0``.
        canonical_level: ``k0``.

    Returns:
        ``(N,)`` int32 indices into ``levels``.
    """
    if not levels:
        raise ValueError("`levels` must name at least one pyramid level, got none.")
    canonical_size = validate_positive_number("canonical_size", canonical_size)
    boxes = tf.convert_to_tensor(boxes)
    if not boxes.dtype.is_floating:
        boxes = tf.cast(boxes, tf.float32)
    bh = tf.maximum(boxes[:, 2] - boxes[:, 0], 0.0)
    bw = tf.maximum(boxes[:, 3] - boxes[:, 1], 0.0)
    size = tf.maximum(tf.sqrt(bw * bh), 1e-6)
    target = tf.floor(float(canonical_level) + tf.math.log(size / canonical_size) / math.log(2.0))
    available = tf.constant([float(level) for level in levels], boxes.dtype)
    distance = tf.abs(target[:, None] - available[None, :])
    # Prefer the finer level on a tie: add a tiny penalty growing with the level.
    distance += available[None, :] * 1e-3
    return tf.cast(tf.argmin(distance, axis=1), tf.int32)


def multilevel_roi_align(feature_maps, strides, boxes, box_indices, *, output_size=(4, 24),
                         canonical_size=64.0, canonical_level=3, sampling_ratio=2,
                         aligned=True):
    """RoIAlign from the pyramid level that suits each box's size.

    Each box is assigned to a level by :func:`assign_pyramid_levels` (text
    adaptation of the Mask R-CNN rule, ``sqrt(area)`` with 64 px canonical at
    P3). Every level is pooled for all boxes and the assigned one selected: cost
    grows with the number of levels, which is small (2 to 4), and the outputs
    are small.

    Args:
        feature_maps: dict name -> ``(batch, height_l, width_l, channels)``; every
            map has the same channels and dtype.
        strides: dict name -> int stride (a power of two) of that map, same keys.
        boxes: ``(num_rois, 4)`` ``(y0, x0, y1, x1)`` in input-image pixels.
        box_indices: ``(num_rois,)`` int32.
        output_size, sampling_ratio, aligned: as in :func:`roi_align`.
        canonical_size, canonical_level: as in :func:`assign_pyramid_levels`.

    Returns:
        ``(num_rois, pooled_height, pooled_width, channels)``.
    """
    if not isinstance(feature_maps, dict) or not feature_maps:
        raise ValueError(f"`feature_maps` must be a non-empty dict name -> tensor, "
                         f"got {type(feature_maps).__name__}.")
    if not isinstance(strides, dict) or set(strides) != set(feature_maps):
        raise ValueError(f"`strides` must be a dict with the keys of `feature_maps` "
                         f"{sorted(feature_maps)}, got {strides!r}.")
    pooled_height, pooled_width = _validate_output_size(output_size)
    sampling_ratio = validate_positive_int("sampling_ratio", sampling_ratio)
    by_level = sorted((_level_of_stride(name, strides[name]), name) for name in feature_maps)
    levels = [level for level, _ in by_level]
    if len(set(levels)) != len(levels):
        raise ValueError(f"`strides` must be distinct, got {strides!r}.")
    first = tf.convert_to_tensor(feature_maps[by_level[0][1]])
    _, boxes, box_indices, _ = prepare_roi_inputs(first, boxes, box_indices)
    boxes = tf.stop_gradient(boxes)
    assigned = assign_pyramid_levels(boxes, levels, canonical_size=canonical_size,
                                     canonical_level=canonical_level)
    pooled = None
    for index, (level, name) in enumerate(by_level):
        features, _, _, _ = prepare_roi_inputs(feature_maps[name], boxes, box_indices)
        level_pooled = _roi_align_tf(features, boxes, box_indices, pooled_height=pooled_height,
                                     pooled_width=pooled_width, spatial_scale=1.0 / 2 ** level,
                                     sampling_ratio=sampling_ratio, aligned=bool(aligned))
        if pooled is None:
            pooled = level_pooled
        else:
            chosen = tf.equal(assigned, index)[:, None, None, None]
            pooled = tf.where(chosen, level_pooled, pooled)
    return pooled
