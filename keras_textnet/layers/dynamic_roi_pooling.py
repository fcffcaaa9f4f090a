"""The ``DynamicRoIPooling`` layer: a thin Keras wrapper over the dynamic RoI pooling op."""

from __future__ import annotations

import keras

from keras_textnet.ops.bilinear_sampling import validate_positive_int, validate_spatial_scale
from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling


@keras.saving.register_keras_serializable(package="keras_textnet")
class DynamicRoIPooling(keras.layers.Layer):
    """Pools text lines at a fixed height and a width that follows each box.

    Every box is sampled (RoIAlign-style bilinear sampling, rotated with its
    angle) into ``pooled_height`` rows and ``w_i = min(max_width, max(1,
    floor(pooled_height * box_w / max(box_h, 1) + 0.5)))`` columns; columns past
    ``w_i`` are zero. The exact contract is in
    :mod:`keras_textnet.ops.dynamic_roi_pooling`. No weights.

    Box convention: ``(y0, x0, y1, x1)`` in input-image pixels; angles in
    radians, counter-clockwise on screen, about the box centre.

    Args:
        spatial_scale: feature pixels per input pixel (0.25 for C2, stride 4).
        pooled_height: output rows.
        max_width: output columns (the padded width).
        sampling_ratio: bilinear samples per bin along each axis.
        aligned: half-pixel offset (Detectron2's ``aligned=True``).
        **kwargs: forwarded to ``keras.layers.Layer``.

    Call arguments:
        features: ``(batch, height, width, channels)`` feature map.
        boxes: ``(num_rois, 4)`` ``(y0, x0, y1, x1)`` in input-image pixels.
        box_indices: ``(num_rois,)`` int32, the batch image of each box.
        angles: optional ``(num_rois,)`` radians.

    Returns:
        ``(pooled, widths)``: ``(num_rois, pooled_height, max_width, channels)``
        of the features' dtype (inputs are not autocast: float16 features give
        float16 output, boxes keep float32) and ``(num_rois,)`` int32.

    Example:
    >>> layer = DynamicRoIPooling(spatial_scale=0.25, pooled_height=8, max_width=64)
    >>> pooled, widths = layer(keras.random.normal((1, 64, 64, 16)),
    ...                        keras.ops.convert_to_tensor([[8.0, 8.0, 24.0, 104.0]]),
    ...                        keras.ops.convert_to_tensor([0], dtype="int32"))
    >>> tuple(pooled.shape), widths.numpy().tolist()
    ((1, 8, 64, 16), [48])
    """

    def __init__(self, spatial_scale=0.25, pooled_height=8, max_width=256, sampling_ratio=2,
                 aligned=True, **kwargs):
        super().__init__(**kwargs)
        self.spatial_scale = validate_spatial_scale(spatial_scale)
        self.pooled_height = validate_positive_int("pooled_height", pooled_height)
        self.max_width = validate_positive_int("max_width", max_width)
        self.sampling_ratio = validate_positive_int("sampling_ratio", sampling_ratio)
        if not isinstance(aligned, bool):
            raise ValueError(f"`aligned` must be True or False, got {aligned!r}.")
        self.aligned = aligned
        # Never autocast the inputs: under a mixed-precision policy the boxes
        # would become float16 (quarter-pixel steps on a 1024 px page). The op
        # computes coordinates in float32 and returns the features' dtype.
        self._convert_input_args = False

    def call(self, features, boxes, box_indices, angles=None):
        return dynamic_roi_pooling(features, boxes, box_indices, angles,
                                   spatial_scale=self.spatial_scale,
                                   pooled_height=self.pooled_height, max_width=self.max_width,
                                   sampling_ratio=self.sampling_ratio, aligned=self.aligned)

    def get_config(self):
        config = super().get_config()
        config.update({
            "spatial_scale": self.spatial_scale,
            "pooled_height": self.pooled_height,
            "max_width": self.max_width,
            "sampling_ratio": self.sampling_ratio,
            "aligned": self.aligned,
        })
        return config
