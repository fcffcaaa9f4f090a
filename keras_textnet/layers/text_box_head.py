"""The second-stage head: text/background score, refined box and angle per RoI."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="keras_textnet")
class TextBoxHead(layers.Layer):
    """Classifies RoI features as text or background and refines their boxes.

    The RoI features come from a text-shaped RoIAlign (e.g. 4 rows by 24
    columns), so the head sees a whole line at once. Two 3x3 convolutions,
    a flatten and a fully connected layer feed three outputs.

    Args:
        conv_filters: channels of the two 3x3 convolutions.
        fc_units: width of the fully connected layer.
        predict_angle: also regress the line's rotation (radians, CCW).

    Call arguments:
        roi_features: ``(num_rois, pooled_height, pooled_width, channels)``,
            with static pooled sizes and channels.

    Returns:
        dict with ``class_logits`` ``(num_rois,)`` (text vs background,
        sigmoid), ``box_deltas`` ``(num_rois, 4)`` (Faster R-CNN coding of
        ``(y0, x0, y1, x1)`` w.r.t. the RoI) and ``angles`` ``(num_rois,)``
        (radians; zeros when ``predict_angle`` is False).

    Example:

    >>> head = TextBoxHead()
    >>> out = head(keras.random.normal((5, 4, 24, 64)))
    >>> tuple(out["box_deltas"].shape)
    (5, 4)
    """

    def __init__(self, conv_filters: int = 128, fc_units: int = 256, predict_angle: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("conv_filters", conv_filters), ("fc_units", fc_units)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; received {value!r}")
        self.conv_filters = conv_filters
        self.fc_units = fc_units
        self.predict_angle = bool(predict_angle)

    def build(self, input_shape):
        if input_shape[1] is None or input_shape[2] is None or input_shape[3] is None:
            raise ValueError("TextBoxHead needs static pooled sizes and channels; received "
                             f"input shape {tuple(input_shape)}")
        dtype = self.dtype_policy  # the sublayers follow this layer's own dtype argument
        self.conv1 = layers.Conv2D(self.conv_filters, 3, padding="same", activation="relu",
                                   name="conv1", dtype=dtype)
        self.conv2 = layers.Conv2D(self.conv_filters, 3, padding="same", activation="relu",
                                   name="conv2", dtype=dtype)
        self.flatten = layers.Flatten(name="flatten", dtype=dtype)
        self.fc = layers.Dense(self.fc_units, activation="relu", name="fc", dtype=dtype)
        self.class_logits = layers.Dense(1, name="class_logits", dtype=dtype)
        self.box_deltas = layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(
            stddev=0.001), name="box_deltas", dtype=dtype)
        self.angle = layers.Dense(1, kernel_initializer="zeros", name="angle", dtype=dtype)
        shape = tuple(input_shape)
        self.conv1.build(shape)
        shape = shape[:3] + (self.conv_filters,)
        self.conv2.build(shape)
        flat = shape[1] * shape[2] * shape[3]
        self.fc.build((None, flat))
        for layer in (self.class_logits, self.box_deltas, self.angle):
            layer.build((None, self.fc_units))
        super().build(input_shape)

    def call(self, roi_features):
        x = self.conv2(self.conv1(roi_features))
        x = self.fc(self.flatten(x))
        angles = ops.squeeze(self.angle(x), -1)
        if not self.predict_angle:
            angles = ops.zeros_like(angles)
        return {"class_logits": ops.squeeze(self.class_logits(x), -1),
                "box_deltas": self.box_deltas(x), "angles": angles}

    def get_config(self):
        config = super().get_config()
        config.update({"conv_filters": self.conv_filters, "fc_units": self.fc_units,
                       "predict_angle": self.predict_angle})
        return config
