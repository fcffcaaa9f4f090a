"""The region proposal network head, shared by every pyramid level."""

import keras
from keras import ops

__all__ = ["RegionProposalHead"]


@keras.saving.register_keras_serializable(package="keras_textnet")
class RegionProposalHead(keras.layers.Layer):
    """RPN head: objectness logits and box deltas for every anchor of every level.

    The same three convolutions run on each level: a 3x3 conv with
    ``channels`` filters and ReLU, then two 1x1 convs giving
    ``anchors_per_location`` logits and ``anchors_per_location * 4`` deltas per
    cell. Only convolutions run before the final reshapes (GPU-delegate friendly).

    Output order matches :func:`keras_textnet.ops.anchors.generate_anchors`
    with the same strides: levels in ``level_names`` order, cells row-major,
    then anchor type ``k``; deltas channel ``4 k + c`` is coordinate ``c`` of
    anchor ``k`` (``(dy, dx, dh, dw)``).

    Args:
      anchors_per_location: ``K``, e.g.
        ``keras_textnet.ops.anchors.anchors_per_location(heights, aspect_ratios)``.
      channels: filters of the shared 3x3 conv; ``None`` uses the input's channels.
      level_names: keys of the feature dict, finest (smallest stride) first,
        in the order of the anchor generator's ``strides``.
      kernel_initializer: initializer of the three convs (default normal, stddev 0.01).
      **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
      features: dict ``{name: (B, H_l, W_l, C)}`` with every key of ``level_names``
        (extra keys are ignored). All levels need the same ``C``.

    Returns:
      ``(objectness, deltas)``: ``(B, A)`` logits and ``(B, A, 4)`` deltas,
      ``A = sum_l H_l * W_l * K``.

    Example:
    >>> import numpy as np
    >>> head = RegionProposalHead(anchors_per_location=12, channels=32)
    >>> features = {"P2": np.zeros((1, 8, 8, 16), "float32"),
    ...             "P3": np.zeros((1, 4, 4, 16), "float32")}
    >>> logits, deltas = head(features)
    >>> tuple(logits.shape), tuple(deltas.shape)
    ((1, 960), (1, 960, 4))
    """

    def __init__(self, anchors_per_location, channels=None, level_names=("P2", "P3"),
                 kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(anchors_per_location, bool) or int(anchors_per_location) != \
                anchors_per_location or anchors_per_location < 1:
            raise ValueError("`anchors_per_location` must be a positive integer; "
                             f"received {anchors_per_location!r}.")
        if channels is not None and (int(channels) != channels or channels < 1):
            raise ValueError(f"`channels` must be a positive integer or None; received {channels!r}.")
        if isinstance(level_names, str) or not level_names:
            raise ValueError(f"`level_names` must be a non-empty sequence of feature names; "
                             f"received {level_names!r}.")
        self.anchors_per_location = int(anchors_per_location)
        self.channels = None if channels is None else int(channels)
        self.level_names = tuple(str(n) for n in level_names)
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.01)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _conv(self, filters, size, name, activation=None):
        return keras.layers.Conv2D(
            filters, size, padding="same", activation=activation, name=name,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)),
            bias_initializer="zeros", dtype=self.dtype_policy)

    def build(self, input_shape):
        missing = [n for n in self.level_names if n not in input_shape]
        if missing:
            raise ValueError(f"RegionProposalHead needs features {self.level_names}; "
                             f"missing {missing} in the received keys {sorted(input_shape)}.")
        depths = {n: input_shape[n][-1] for n in self.level_names}
        if len(set(depths.values())) != 1 or None in depths.values():
            raise ValueError("RegionProposalHead shares its convs across levels, so every level "
                             f"needs the same known channel count; received {depths}.")
        in_channels = depths[self.level_names[0]]
        channels = self.channels or in_channels
        k = self.anchors_per_location
        self.conv = self._conv(channels, 3, "conv", activation="relu")
        self.objectness_conv = self._conv(k, 1, "objectness")
        self.deltas_conv = self._conv(4 * k, 1, "deltas")
        self.conv.build((None, None, None, in_channels))
        self.objectness_conv.build((None, None, None, channels))
        self.deltas_conv.build((None, None, None, channels))
        self.built = True

    def call(self, features):
        logits, deltas = [], []
        for name in self.level_names:
            x = self.conv(features[name])
            level_logits = self.objectness_conv(x)
            level_deltas = self.deltas_conv(x)
            batch = ops.shape(level_logits)[0]
            logits.append(ops.reshape(level_logits, (batch, -1)))
            deltas.append(ops.reshape(level_deltas, (batch, -1, 4)))
        return ops.concatenate(logits, axis=1), ops.concatenate(deltas, axis=1)

    def compute_output_shape(self, input_shape):
        total = 0
        k = self.anchors_per_location
        batch = input_shape[self.level_names[0]][0]
        for name in self.level_names:
            h, w = input_shape[name][1:3]
            if total is None or h is None or w is None:
                total = None
            else:
                total += h * w * k
        return (batch, total), (batch, total, 4)

    def get_config(self):
        config = super().get_config()
        config.update({
            "anchors_per_location": self.anchors_per_location,
            "channels": self.channels,
            "level_names": list(self.level_names),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
