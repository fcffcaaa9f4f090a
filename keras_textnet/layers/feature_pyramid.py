"""FeaturePyramid: the Feature Pyramid Network over a backbone's C2..C5."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["FeaturePyramid"]

_P6_SOURCES = ("P5", "C5")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@keras.saving.register_keras_serializable(package="keras_textnet")
class FeaturePyramid(keras.layers.Layer):
    """Feature Pyramid Network (Lin et al. 2017) over backbone levels C2..C5.

    For every backbone level ``l`` from ``min_level`` to
    ``backbone_max_level`` a 1x1 lateral convolution maps ``C{l}`` to
    ``channels``. The top-down path starts at the highest lateral and, level
    by level, upsamples it 2x (nearest neighbour) and adds it to the lateral
    below. A 3x3 convolution then smooths each summed map into ``P{l}`` for
    ``l`` from ``min_level`` to ``min(max_level, 5)``. With ``max_level=6``,
    ``P6`` is a 3x3 stride-2 convolution of ``P5`` (or of ``C5``, see
    ``use_p6_from``). No activation anywhere (as in the paper's FPN).

    The top-down path always begins at ``backbone_max_level`` (C5 by default),
    even when only P2 and P3 are returned (the paper's setting), so the fine
    levels receive the deepest features.

    Sizes: each backbone level must be ``ceil(size / 2)`` of the level below
    (every preset of ``keras_textnet.models.backbones`` is). When the input
    size is not a multiple of 32, the 2x upsampled map is then one pixel
    larger than the lateral it joins; it is cropped (bottom / right) to the
    lateral's size, which keeps pixel ``i`` of a level aligned with pixels
    ``2i`` and ``2i + 1`` of the level below. With a fixed input size that is
    a multiple of 32 no crop op is emitted, so the layer converts to TFLite
    as CONV_2D, ADD and RESIZE_NEAREST_NEIGHBOR only.

    Inputs: a dict ``{"C{l}": (batch, height_l, width_l, channels_l)}`` for
    ``l`` in ``min_level..backbone_max_level`` (extra keys are ignored), where
    ``height_l = ceil(height / 2**l)``.

    Outputs: a dict ``{"P{l}": (batch, height_l, width_l, channels)}`` for
    ``l`` in ``min_level..max_level``; ``height_6 = ceil(height_5 / 2)``.

    Args:
        min_level: finest level, 2 to 5 (2: stride 4).
        max_level: coarsest returned level, ``min_level`` to 6.
        channels: channels of every output level.
        backbone_max_level: coarsest backbone level feeding the top-down path,
            ``min_level`` to 5. ``max_level`` must not exceed it, except
            ``max_level=6`` with ``backbone_max_level=5``.
        use_p6_from: ``"P5"`` (default) or ``"C5"``: the input of the P6
            convolution; used only when ``max_level=6``.
        kernel_initializer: initializer of every convolution kernel.
        kernel_regularizer: regularizer of every convolution kernel, or None.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Example:

    >>> backbone = keras_textnet.models.backbones.build_backbone("tiny")
    >>> images = keras.Input((None, None, 3))
    >>> pyramid = FeaturePyramid(min_level=2, max_level=3, channels=128)
    >>> features = pyramid(backbone(images))
    >>> model = keras.Model(images, features)
    >>> {k: tuple(v.shape) for k, v in model(np.zeros((1, 70, 90, 3))).items()}
    {'P2': (1, 18, 23, 128), 'P3': (1, 9, 12, 128)}
    """

    def __init__(
        self,
        min_level: int = 2,
        max_level: int = 3,
        channels: int = 128,
        backbone_max_level: int = 5,
        use_p6_from: str = "P5",
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not _is_int(min_level) or not 2 <= min_level <= 5:
            raise ValueError(
                f"FeaturePyramid: `min_level` must be an int from 2 to 5. Received: min_level={min_level!r}"
            )
        if not _is_int(backbone_max_level) or not min_level <= backbone_max_level <= 5:
            raise ValueError(
                "FeaturePyramid: `backbone_max_level` must be an int from min_level "
                f"({min_level}) to 5. Received: backbone_max_level={backbone_max_level!r}"
            )
        if not _is_int(max_level) or not min_level <= max_level <= 6:
            raise ValueError(
                f"FeaturePyramid: `max_level` must be an int from min_level ({min_level}) to 6. "
                f"Received: max_level={max_level!r}"
            )
        if max_level > backbone_max_level and not (max_level == 6 and backbone_max_level == 5):
            raise ValueError(
                "FeaturePyramid: `max_level` may exceed `backbone_max_level` only as "
                "max_level=6 with backbone_max_level=5 (P6 from P5 or C5). Received: "
                f"max_level={max_level!r}, backbone_max_level={backbone_max_level!r}"
            )
        if not _is_int(channels) or channels < 1:
            raise ValueError(
                f"FeaturePyramid: `channels` must be a positive int. Received: channels={channels!r}"
            )
        if use_p6_from not in _P6_SOURCES:
            raise ValueError(
                f"FeaturePyramid: `use_p6_from` must be one of {_P6_SOURCES}. "
                f"Received: use_p6_from={use_p6_from!r}"
            )
        self.min_level = min_level
        self.max_level = max_level
        self.channels = channels
        self.backbone_max_level = backbone_max_level
        self.use_p6_from = use_p6_from
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    @property
    def input_levels(self) -> tuple[int, ...]:
        """Backbone levels read: ``min_level..backbone_max_level``."""
        return tuple(range(self.min_level, self.backbone_max_level + 1))

    @property
    def output_levels(self) -> tuple[int, ...]:
        """Pyramid levels returned: ``min_level..max_level``."""
        return tuple(range(self.min_level, self.max_level + 1))

    def _conv(self, kernel_size: int, strides: int, name: str) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(
            self.channels,
            kernel_size,
            strides=strides,
            padding="same",
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )

    def _check_inputs(self, keys) -> None:
        missing = [f"C{level}" for level in self.input_levels if f"C{level}" not in keys]
        if missing:
            raise ValueError(
                f"FeaturePyramid: inputs must be a dict with keys "
                f"{[f'C{level}' for level in self.input_levels]}; missing {missing}. "
                f"Received keys: {sorted(keys)}"
            )

    def build(self, input_shape):
        if not isinstance(input_shape, dict):
            raise TypeError(
                "FeaturePyramid: inputs must be a dict {'C2': ..., 'C5': ...}. "
                f"Received input_shape={input_shape!r}"
            )
        self._check_inputs(input_shape.keys())
        pyramid_shape = (None, None, None, self.channels)
        self.lateral_convs = []
        for level in self.input_levels:
            conv = self._conv(1, 1, name=f"lateral_P{level}")
            conv.build(tuple(input_shape[f"C{level}"]))
            self.lateral_convs.append(conv)
        self.output_convs = []
        for level in range(self.min_level, min(self.max_level, self.backbone_max_level) + 1):
            conv = self._conv(3, 1, name=f"output_P{level}")
            conv.build(pyramid_shape)
            self.output_convs.append(conv)
        self.p6_conv = None
        if self.max_level == 6:
            self.p6_conv = self._conv(3, 2, name="output_P6")
            self.p6_conv.build(
                pyramid_shape if self.use_p6_from == "P5" else tuple(input_shape["C5"])
            )
        self.built = True

    @staticmethod
    def _upsample_like(x, like):
        """2x nearest upsampling of ``x``, cropped to the size of ``like``."""
        height, width = x.shape[1], x.shape[2]
        if height is None or width is None:
            dynamic = ops.shape(x)
            height = dynamic[1] if height is None else height
            width = dynamic[2] if width is None else width
        if _is_int(height) and _is_int(width):
            up = ops.image.resize(x, (2 * height, 2 * width), interpolation="nearest")
        else:
            # Sizes unknown while tracing (TensorFlow graphs with None height or
            # width): keras.ops.image.resize wants Python ints, tf.image.resize
            # takes tensors. JAX and PyTorch always see concrete sizes.
            import tensorflow as tf

            up = tf.image.resize(x, tf.stack([2 * height, 2 * width]), method="nearest")
        target_height, target_width = like.shape[1], like.shape[2]
        if (
            _is_int(target_height)
            and _is_int(target_width)
            and _is_int(height)
            and _is_int(width)
            and (2 * height, 2 * width) == (target_height, target_width)
        ):
            return up
        if target_height is None or target_width is None:
            dynamic = ops.shape(like)
            target_height = dynamic[1] if target_height is None else target_height
            target_width = dynamic[2] if target_width is None else target_width
        return up[:, :target_height, :target_width, :]

    def call(self, inputs):
        self._check_inputs(inputs.keys())
        laterals = [
            conv(inputs[f"C{level}"]) for conv, level in zip(self.lateral_convs, self.input_levels)
        ]
        merged = [laterals[-1]]
        for lateral in reversed(laterals[:-1]):
            merged.insert(0, ops.add(lateral, self._upsample_like(merged[0], lateral)))
        outputs = {
            f"P{level}": conv(merged[level - self.min_level])
            for conv, level in zip(self.output_convs, self.output_levels)
        }
        if self.p6_conv is not None:
            source = outputs["P5"] if self.use_p6_from == "P5" else inputs["C5"]
            outputs["P6"] = self.p6_conv(source)
        return outputs

    def compute_output_shape(self, input_shape):
        self._check_inputs(input_shape.keys())
        shapes = {}
        for level in self.output_levels:
            if level <= self.backbone_max_level:
                batch, height, width = tuple(input_shape[f"C{level}"])[:3]
            else:
                batch, height, width = tuple(input_shape["C5"])[:3]
                height = None if height is None else -(-height // 2)
                width = None if width is None else -(-width // 2)
            shapes[f"P{level}"] = (batch, height, width, self.channels)
        return shapes

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "min_level": self.min_level,
                "max_level": self.max_level,
                "channels": self.channels,
                "backbone_max_level": self.backbone_max_level,
                "use_p6_from": self.use_p6_from,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            }
        )
        return config
