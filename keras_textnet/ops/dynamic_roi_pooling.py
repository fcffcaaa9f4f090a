"""Dynamic RoI pooling ("RoIRecognitionAlign"): fixed height, width that follows the box.

Every text line, long or short, is sampled from one feature map (C2, stride 4)
into ``pooled_height`` rows and a number of columns proportional to its aspect
ratio, so short lines are not stretched and long ones not squeezed; columns past
a line's own width are zero up to ``max_width``, and the widths are returned so
that attention and CTC can mask the padding. With an angle, the sampling grid
turns with the box (as FOTS's RoIRotate).

The contract (one op, several implementations; a C++/CUDA kernel must match it)
----------------------------------------------------------------------------
Inputs: ``features`` ``(B, H, W, C)``; ``boxes`` ``(N, 4)`` as ``(y0, x0, y1, x1)``
in input-image pixels; ``box_indices`` ``(N,)`` int32; ``angles`` ``(N,)``
radians (0 when omitted). Attributes: ``spatial_scale``, ``pooled_height`` Hp,
``max_width`` Wmax, ``sampling_ratio`` s, ``aligned``.

* Box ``i``: ``bw = x1 - x0``, ``bh = y1 - y0``, centre
  ``cx = (x0 + x1) / 2``, ``cy = (y0 + y1) / 2``.
* Width: ``w_i = min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5)))``.
* Bin ``(r, c)``, ``r < Hp``, ``c < w_i``: the mean of the ``s x s`` samples
  ``iy, ix in [0, s)`` at box-frame offsets::

      v = -bh / 2 + (r + (iy + 0.5) / s) * (bh / Hp)      # across the text
      u = -bw / 2 + (c + (ix + 0.5) / s) * (bw / w_i)     # along the text
      x = cx + u * cos(a) + v * sin(a)
      y = cy - u * sin(a) + v * cos(a)                    # a > 0: counter-clockwise
      x, y = x * spatial_scale, y * spatial_scale
      if aligned: x, y = x - 0.5, y - 0.5

  each read with :func:`keras_textnet.ops.bilinear_sampling.bilinear_taps`'s
  RoIAlign rules (0 outside ``[-1, H] x [-1, W]``, clamped inside). The box is
  the *unrotated* ``bw x bh`` rectangle turned by ``a`` about its centre.
  Degenerate boxes are not enlarged (no ``max(roi_size, 1)`` as in legacy
  RoIAlign): a box with ``bh < 1`` samples a thin band.
* Columns ``c >= w_i`` are 0. Outputs ``pooled`` ``(N, Hp, Wmax, C)`` of the
  features' dtype and ``widths`` ``(N,)`` int32 (the ``w_i``).
* Gradients flow to ``features`` only (box coordinates are constants).
* Arithmetic: coordinates and weights in float32 (float64 for float64
  features), evaluated as written above (``w_i`` from ``(Hp * bw) / max(bh, 1)``);
  the mean sums the ``4 s^2`` weighted taps with weights already divided by
  ``s^2``. A NaN box gets ``w_i = 1`` and zeros. Implementations agree to float
  rounding (~1e-6 relative in float32), except where a sample lands exactly on
  a cut-off (``y = -1``, ``y = H``, ...) or ``w_i`` exactly on a ``.5``.

Implementations
---------------
:func:`dynamic_roi_pooling` is the one entry point. It runs the native op of
``custom_ops/`` (C++ CPU kernels, CUDA kernels; :mod:`keras_textnet.ops.custom_op`)
when it is loaded, and the pure-TF :func:`_dynamic_roi_pooling_tf` otherwise, warning once;
``KERAS_TEXTNET_POOLING=auto|custom|tf`` or
:func:`~keras_textnet.ops.custom_op.set_pooling_implementation` force either. The pure
TF one is also what XLA compiles and what TFLite and ONNX exports must hold (trace them under
``pooling_implementation("tf")``).
"""

from __future__ import annotations

import tensorflow as tf

from keras_textnet.ops import custom_op
from keras_textnet.ops.bilinear_sampling import (bilinear_sample_mean, box_frame_points,
                                                 expand_rows, prepare_roi_inputs,
                                                 validate_positive_int, validate_spatial_scale)
from keras_textnet.ops.custom_op import pooling_implementation, set_pooling_implementation

__all__ = ["dynamic_roi_pooling", "dynamic_roi_widths", "pooling_implementation",
           "set_pooling_implementation"]


def dynamic_roi_widths(boxes, pooled_height: int, max_width: int):
    """``w_i = min(Wmax, max(1, floor(Hp * bw / max(bh, 1) + 0.5)))`` as ``(N,)`` int32.

    ``boxes`` ``(N, 4)`` ``(y0, x0, y1, x1)`` float, in input-image pixels.
    """
    boxes = tf.convert_to_tensor(boxes)
    bh = boxes[:, 2] - boxes[:, 0]
    bw = boxes[:, 3] - boxes[:, 1]
    raw = tf.floor(pooled_height * bw / tf.maximum(bh, 1.0) + 0.5)
    raw = tf.where(tf.math.is_nan(raw), tf.ones_like(raw), raw)
    widths = tf.clip_by_value(raw, 1.0, float(max_width))
    return tf.cast(widths, tf.int32)


def dynamic_roi_pooling(features, boxes, box_indices, angles=None, *, spatial_scale=0.25,
                        pooled_height=8, max_width=256, sampling_ratio=2, aligned=True):
    """Pools every box into ``pooled_height`` rows and a width that follows its aspect ratio.

    Box convention: ``(y0, x0, y1, x1)`` in input-image pixels; ``angles`` in
    radians, counter-clockwise on screen, turning the box about its centre.
    See the module docstring for the exact contract.

    Args:
        features: ``(batch, height, width, channels)`` float feature map.
        boxes: ``(num_rois, 4)`` ``(y0, x0, y1, x1)`` in input-image pixels.
        box_indices: ``(num_rois,)`` int32, the batch image of each box.
        angles: optional ``(num_rois,)`` radians (0 when omitted).
        spatial_scale: feature pixels per input pixel (0.25 for C2).
        pooled_height: output rows ``Hp`` (>= 1).
        max_width: output columns ``Wmax`` (>= 1); wider boxes are squeezed to it.
        sampling_ratio: ``s`` (>= 1), samples per bin along each axis.
        aligned: subtract half a feature pixel (Detectron2's ``aligned=True``).

    Returns:
        ``(pooled, widths)``: ``pooled`` ``(num_rois, pooled_height, max_width,
        channels)`` of the features' dtype, zero past each box's width;
        ``widths`` ``(num_rois,)`` int32.

    Example:
    >>> features = tf.random.normal([2, 64, 64, 16])
    >>> boxes = tf.constant([[10.0, 20.0, 30.0, 180.0], [100.0, 0.0, 116.0, 40.0]])
    >>> pooled, widths = dynamic_roi_pooling(features, boxes, tf.constant([0, 1]),
    ...                                      pooled_height=8, max_width=64)
    >>> pooled.shape, widths.numpy().tolist()
    (TensorShape([2, 8, 64, 16]), [64, 20])
    """
    spatial_scale = validate_spatial_scale(spatial_scale)
    pooled_height = validate_positive_int("pooled_height", pooled_height)
    max_width = validate_positive_int("max_width", max_width)
    sampling_ratio = validate_positive_int("sampling_ratio", sampling_ratio)
    features, boxes, box_indices, angles = prepare_roi_inputs(features, boxes, box_indices,
                                                              angles)
    implementation = (_dynamic_roi_pooling_custom if custom_op.use_custom_op()
                      else _dynamic_roi_pooling_tf)
    return implementation(features, boxes, box_indices, angles, spatial_scale=spatial_scale,
                          pooled_height=pooled_height, max_width=max_width,
                          sampling_ratio=sampling_ratio, aligned=bool(aligned))


def _dynamic_roi_pooling_custom(features, boxes, box_indices, angles, *, spatial_scale,
                                pooled_height, max_width, sampling_ratio, aligned):
    """The native op (:mod:`keras_textnet.ops.custom_op`), inputs already checked.

    Its kernels take float32 and float64; float16 and bfloat16 features are pooled in
    float32 (the coordinate dtype) and cast back. Missing angles are zeros.
    """
    ops = custom_op.load_custom_ops()
    dtype = features.dtype
    if dtype not in (tf.float32, tf.float64):
        features = tf.cast(features, boxes.dtype)
    if angles is None:
        angles = tf.zeros_like(boxes[:, 0])
    pooled, widths = ops.keras_textnet_dynamic_roi_pooling(
        features, boxes, box_indices, angles, spatial_scale=spatial_scale,
        pooled_height=pooled_height, max_width=max_width, sampling_ratio=sampling_ratio,
        aligned=aligned)
    return tf.cast(pooled, dtype), widths


def _dynamic_roi_pooling_tf(features, boxes, box_indices, angles, *, spatial_scale,
                            pooled_height, max_width, sampling_ratio, aligned):
    """The pure-TF implementation of :func:`dynamic_roi_pooling` (inputs already checked).

    Only the cells inside each box's width are sampled (the padding costs
    nothing but the final zero fill): the cells ``c < w_i`` are listed with
    WHERE, sampled as a flat ``(V, C)`` block and spread into
    ``(N, Hp, Wmax, C)`` with a GATHER.
    """
    dtype = boxes.dtype
    boxes = tf.stop_gradient(boxes)
    if angles is not None:
        angles = tf.stop_gradient(angles)
    widths = dynamic_roi_widths(boxes, pooled_height, max_width)
    num_rois = tf.shape(boxes)[0]
    channels = tf.shape(features)[3]
    inside = tf.range(max_width, dtype=tf.int32)[None, None, :] < widths[:, None, None]
    inside = tf.broadcast_to(inside, [num_rois, pooled_height, max_width])
    cells = tf.cast(tf.where(tf.reshape(inside, [-1]))[:, 0], tf.int32)  # (V,) flat ids
    roi = cells // (pooled_height * max_width)
    rows = tf.cast((cells // max_width) % pooled_height, dtype)
    cols = tf.cast(cells % max_width, dtype)
    y, x = box_frame_points(tf.gather(boxes, roi),
                            None if angles is None else tf.gather(angles, roi),
                            tf.gather(widths, roi), rows, cols,
                            spatial_scale=spatial_scale, pooled_height=pooled_height,
                            sampling_ratio=sampling_ratio, aligned=aligned)  # (s * s, V)
    # Every valid cell is its own "RoI" of one cell for the sampler.
    values = bilinear_sample_mean(features, tf.gather(box_indices, roi), y[:, :, None],
                                  x[:, :, None])  # (V, 1, C)
    pooled = expand_rows(tf.reshape(values, [-1, channels]), inside, kept=cells)
    pooled = tf.ensure_shape(pooled, [None, pooled_height, max_width, features.shape[-1]])
    return pooled, widths
