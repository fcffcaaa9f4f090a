"""Convolutional backbones that expose the feature maps C2..C5.

Every backbone is a functional ``keras.Model`` that takes images of shape
``(batch, height, width, 3)``, float32 pixels in ``[0, 255]`` (RGB), and
returns a dict of four feature maps::

    {"C2": (batch, ceil(height / 4),  ceil(width / 4),  channels_2),
     "C3": (batch, ceil(height / 8),  ceil(width / 8),  channels_3),
     "C4": (batch, ceil(height / 16), ceil(width / 16), channels_4),
     "C5": (batch, ceil(height / 32), ceil(width / 32), channels_5)}

Pixel normalisation happens inside the model (a ``Rescaling`` layer mapping
``[0, 255]`` to ``[-1, 1]``), so callers only cast ``uint8`` images to float.
Every downsampling step rounds up (``"same"`` padding, or explicit zero padding
before a ``"valid"`` op), so an input of any size, multiple of 32 or not, gives
``ceil(size / stride)`` pixels per level; ``FeaturePyramid`` relies on that.
Weights are always initialised from scratch (``weights=None``): no pretrained
weights are downloaded.

Presets (parameter counts and channels at the default arguments):

==================== ========== ===== ===== ===== ===== ==============================
name                 parameters C2    C3    C4    C5    purpose
==================== ========== ===== ===== ===== ===== ==============================
``resnet50``         23,587,712 256   512   1024  2048  the paper's scale (ResNet-50)
``densenet_shallow``  1,742,304 192   288   400   392   the paper's "shallow DenseNet"
``mobilenet``           706,224 96    96    288   1280  phones (MobileNetV2, alpha 0.5)
``tiny``                119,280 16    32    48    64    fast tests
==================== ========== ===== ===== ===== ===== ==============================

``mobilenet`` and ``tiny`` use only ops that a mobile GPU delegate runs once
converted to TFLite (CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL; batch
normalisation and ReLU fold into the convolutions); ``tests/test_backbones.py``
checks the op set of the converted models.

Example:

>>> backbone = build_backbone("tiny")
>>> features = backbone(np.zeros((1, 64, 96, 3), "float32"))
>>> {k: tuple(v.shape) for k, v in features.items()}
{'C2': (1, 16, 24, 16), 'C3': (1, 8, 12, 32), 'C4': (1, 4, 6, 48), 'C5': (1, 2, 3, 64)}
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

__all__ = [
    "BACKBONES",
    "build_backbone",
    "densenet_shallow_backbone",
    "mobilenet_backbone",
    "resnet50_backbone",
    "tiny_backbone",
]

FEATURE_LEVELS = ("C2", "C3", "C4", "C5")

# Keras' default. MobileNetV2's original 0.999 averages over ~1,000 steps: with the
# small batches of CPU training the moving statistics then still hold a quarter of
# their initial values after 1,300 steps, and inference sees mis-scaled features
# (measured: no detection at all). See keras_textnet.models.batch_norm.
_BN_MOMENTUM = 0.99


def _mobilenet_bn(name: str):
    return layers.BatchNormalization(epsilon=1e-3, momentum=_BN_MOMENTUM, name=name)

_RESNET50_TAPS = {
    "C2": "conv2_block3_out",
    "C3": "conv3_block4_out",
    "C4": "conv4_block6_out",
    "C5": "conv5_block3_out",
}

# Two ways of tapping MobileNetV2 at strides 4/8/16/32.
# "expanded": the ReLU6 output of the 1x1 expansion of the first block of the
#   next stage (computed at the current stride, before its stride-2 depthwise
#   conv), as DeepLab / SSDLite do: 6x wider than the block outputs, and free
#   (the network computes it anyway).
# "block": the outputs of the last residual block of each stage (narrow:
#   16 / 16 / 48 channels at alpha 0.5).
_MOBILENET_TAPS = {
    "expanded": {
        "C2": "block_3_expand_relu",
        "C3": "block_6_expand_relu",
        "C4": "block_13_expand_relu",
        "C5": "out_relu",
    },
    "block": {
        "C2": "block_2_add",
        "C3": "block_5_add",
        "C4": "block_12_add",
        "C5": "out_relu",
    },
}


def _check_input_shape(input_shape, builder: str) -> tuple:
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3:
        raise ValueError(
            f"{builder}: `input_shape` must be (height, width, 3) with height and "
            f"width None or positive ints. Received: input_shape={input_shape!r}"
        )
    for dim in shape[:2]:
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise ValueError(
                f"{builder}: `input_shape` must be (height, width, 3) with height "
                f"and width None or positive ints. Received: input_shape={input_shape!r}"
            )
    return shape


def _normalized_input(input_shape, builder: str):
    """Returns ``(pixels, normalized)``: the Input and its [-1, 1] rescaling."""
    shape = _check_input_shape(input_shape, builder)
    pixels = keras.Input(shape=shape, dtype="float32", name="images")
    normalized = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0, name="normalize")(pixels)
    return pixels, normalized


def _tap(model: keras.Model, taps: dict[str, str], name: str) -> keras.Model:
    outputs = {level: model.get_layer(layer_name).output for level, layer_name in taps.items()}
    (pixels,) = model.inputs
    return keras.Model(pixels, outputs, name=name)


def resnet50_backbone(input_shape=(None, None, 3), name: str = "resnet50_backbone") -> keras.Model:
    """ResNet-50 (``keras.applications.ResNet50``, v1) from scratch.

    Taps ``conv2_block3_out`` (C2, 256 channels), ``conv3_block4_out``
    (C3, 512), ``conv4_block6_out`` (C4, 1024) and ``conv5_block3_out``
    (C5, 2048). 23.6M parameters.

    Args:
        input_shape: ``(height, width, 3)``; height and width may be None.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping ``(batch, height, width, 3)`` pixels in
        ``[0, 255]`` to ``{"C2": ..., "C5": ...}``.
    """
    _, normalized = _normalized_input(input_shape, "resnet50_backbone")
    resnet = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=normalized)
    return _tap(resnet, _RESNET50_TAPS, name)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNet's channel rounding: nearest multiple of ``divisor``, at most 10% down."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _inverted_residual_block(
    x, filters: int, alpha: float, stride: int, expansion: int, block_id: int
):
    in_channels = x.shape[-1]
    out_channels = _make_divisible(int(filters * alpha), 8)
    inputs = x
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(
            expansion * in_channels, 1, padding="same", use_bias=False, name=prefix + "expand"
        )(x)
        x = _mobilenet_bn(prefix + "expand_BN")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    # "same" padding at stride 2 rounds up for odd sizes, as every backbone here;
    # keras.applications.MobileNetV2 pads for even sizes when the input size is
    # unknown, and then rounds odd sizes down.
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=prefix + "depthwise"
    )(x)
    x = _mobilenet_bn(prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = _mobilenet_bn(prefix + "project_BN")(x)
    if stride == 1 and in_channels == out_channels:
        x = layers.Add(name=prefix + "add")([inputs, x])
    return x


# (filters, stride, expansion) of MobileNetV2's 17 inverted residual blocks.
_MOBILENET_V2_BLOCKS = (
    (16, 1, 1),
    (24, 2, 6), (24, 1, 6),
    (32, 2, 6), (32, 1, 6), (32, 1, 6),
    (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
    (96, 1, 6), (96, 1, 6), (96, 1, 6),
    (160, 2, 6), (160, 1, 6), (160, 1, 6),
    (320, 1, 6),
)  # fmt: skip


def mobilenet_backbone(
    input_shape=(None, None, 3),
    alpha: float = 0.5,
    taps: str = "expanded",
    name: str = "mobilenet_backbone",
) -> keras.Model:
    """MobileNetV2 from scratch, for phones.

    The architecture, layer names and parameter count of
    ``keras.applications.MobileNetV2(include_top=False)``, except that the
    stride-2 depthwise convolutions use "same" padding instead of explicit
    ``ZeroPadding2D`` + "valid": feature map sizes are then ``ceil(size /
    stride)`` for any input size (the application rounds odd sizes down when
    the input size is not fixed), and TFLite needs no PAD op.

    Channels per level (C2, C3, C4, C5) and parameters:

    ===== =================== ================= =========
    alpha taps="expanded"     taps="block"      params
    ===== =================== ================= =========
    0.5   96, 96, 288, 1280   16, 16, 48, 1280  706,224
    0.75  144, 144, 432, 1280 24, 24, 72, 1280  1,382,064
    1.0   144, 192, 576, 1280 24, 32, 96, 1280  2,257,984
    ===== =================== ================= =========

    Converted to TFLite: CONV_2D, DEPTHWISE_CONV_2D, ADD and MUL only (ReLU6
    and batch normalisation fold into the convolutions).

    Args:
        input_shape: ``(height, width, 3)``; height and width may be None.
        alpha: width multiplier, one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4.
        taps: ``"expanded"`` (default) taps the 1x1 expansion outputs that the
            network computes at each stride anyway (``block_3_expand_relu``,
            ``block_6_expand_relu``, ``block_13_expand_relu``, ``out_relu``),
            as DeepLab and SSDLite do; ``"block"`` taps the residual block
            outputs (``block_2_add``, ``block_5_add``, ``block_12_add``,
            ``out_relu``), 6x narrower.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping ``(batch, height, width, 3)`` pixels in
        ``[0, 255]`` to ``{"C2": ..., "C5": ...}``.
    """
    if alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
        raise ValueError(
            "mobilenet_backbone: `alpha` must be one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4. "
            f"Received: alpha={alpha!r}"
        )
    if taps not in _MOBILENET_TAPS:
        raise ValueError(
            f"mobilenet_backbone: `taps` must be one of {sorted(_MOBILENET_TAPS)}. "
            f"Received: taps={taps!r}"
        )
    pixels, x = _normalized_input(input_shape, "mobilenet_backbone")
    x = layers.Conv2D(
        _make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(x)
    x = _mobilenet_bn("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_MOBILENET_V2_BLOCKS):
        x = _inverted_residual_block(x, filters, alpha, stride, expansion, block_id)
    last_channels = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_channels, 1, use_bias=False, name="Conv_1")(x)
    x = _mobilenet_bn("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    network = keras.Model(pixels, x)
    return _tap(network, _MOBILENET_TAPS[taps], name)


def _conv_bn_relu(x, filters: int, kernel_size: int, strides: int, name: str):
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _bn_relu_conv(x, filters: int, kernel_size: int, name: str):
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(
        x
    )


def densenet_shallow_backbone(
    input_shape=(None, None, 3),
    block_layers=(4, 6, 8, 6),
    growth_rate: int = 32,
    stem_channels: int | None = None,
    compression: float = 0.5,
    bottleneck_width: int = 4,
    name: str = "densenet_shallow_backbone",
) -> keras.Model:
    """A compact DenseNet-BC: the paper's "shallow DenseNet".

    Stem: 7x7 conv stride 2 + BN + ReLU, 3x3 max pool stride 2. Then four
    dense blocks (one per stride 4, 8, 16, 32); each dense layer is
    BN-ReLU-conv1x1(``bottleneck_width * growth_rate``)-BN-ReLU-conv3x3
    (``growth_rate``), concatenated to its input. Between blocks, a transition:
    BN-ReLU (its output is the tapped C level), 1x1 conv to
    ``floor(compression * channels)``, 2x2 average pool stride 2 ("same").
    C5 is BN-ReLU of the last block.

    Channels per level: ``c_1 = stem + n_1 * k``, ``c_{i+1} =
    floor(compression * c_i) + n_{i+1} * k``; at the defaults (stem 64, k 32)
    C2..C5 = 192, 288, 400, 392 and 1,742,304 parameters.

    Args:
        input_shape: ``(height, width, 3)``; height and width may be None.
        block_layers: four ints, dense layers per block.
        growth_rate: channels each dense layer adds (``k``).
        stem_channels: stem conv channels; default ``2 * growth_rate``.
        compression: transition channel factor in ``(0, 1]``.
        bottleneck_width: 1x1 bottleneck width in multiples of ``growth_rate``.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping ``(batch, height, width, 3)`` pixels in
        ``[0, 255]`` to ``{"C2": ..., "C5": ...}``.
    """
    block_layers = tuple(block_layers)
    if len(block_layers) != 4 or any(not isinstance(n, int) or n < 1 for n in block_layers):
        raise ValueError(
            "densenet_shallow_backbone: `block_layers` must be four positive ints. "
            f"Received: block_layers={block_layers!r}"
        )
    if not isinstance(growth_rate, int) or growth_rate < 1:
        raise ValueError(
            "densenet_shallow_backbone: `growth_rate` must be a positive int. "
            f"Received: growth_rate={growth_rate!r}"
        )
    if stem_channels is None:
        stem_channels = 2 * growth_rate
    if not isinstance(stem_channels, int) or stem_channels < 1:
        raise ValueError(
            "densenet_shallow_backbone: `stem_channels` must be a positive int. "
            f"Received: stem_channels={stem_channels!r}"
        )
    if not 0.0 < compression <= 1.0:
        raise ValueError(
            "densenet_shallow_backbone: `compression` must be in (0, 1]. "
            f"Received: compression={compression!r}"
        )
    if not isinstance(bottleneck_width, int) or bottleneck_width < 1:
        raise ValueError(
            "densenet_shallow_backbone: `bottleneck_width` must be a positive int. "
            f"Received: bottleneck_width={bottleneck_width!r}"
        )

    pixels, x = _normalized_input(input_shape, "densenet_shallow_backbone")
    x = _conv_bn_relu(x, stem_channels, 7, 2, name="stem")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)

    outputs = {}
    for block, num_layers in enumerate(block_layers):
        prefix = f"block{block + 1}"
        for i in range(num_layers):
            y = _bn_relu_conv(x, bottleneck_width * growth_rate, 1, name=f"{prefix}_layer{i + 1}_1")
            y = _bn_relu_conv(y, growth_rate, 3, name=f"{prefix}_layer{i + 1}_2")
            x = layers.Concatenate(name=f"{prefix}_layer{i + 1}_concat")([x, y])
        x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{prefix}_out_bn")(x)
        x = layers.ReLU(name=f"{prefix}_out_relu")(x)
        outputs[FEATURE_LEVELS[block]] = x
        if block < len(block_layers) - 1:
            channels = max(1, int(x.shape[-1] * compression))
            x = layers.Conv2D(channels, 1, use_bias=False, name=f"transition{block + 1}_conv")(x)
            x = layers.AveragePooling2D(
                2, strides=2, padding="same", name=f"transition{block + 1}_pool"
            )(x)
    return keras.Model(pixels, outputs, name=name)


def tiny_backbone(
    input_shape=(None, None, 3),
    widths=(16, 32, 48, 64),
    stem_channels: int = 16,
    name: str = "tiny_backbone",
) -> keras.Model:
    """A few plain convolutions, for fast tests (119,280 parameters by default).

    Stem: 3x3 conv stride 2. Then per level (C2..C5): 3x3 conv stride 2 and
    3x3 conv stride 1, each Conv-BN-ReLU. C2..C5 channels are ``widths``.

    Args:
        input_shape: ``(height, width, 3)``; height and width may be None.
        widths: four ints, channels of C2, C3, C4, C5.
        stem_channels: channels of the stride-2 stem.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping ``(batch, height, width, 3)`` pixels in
        ``[0, 255]`` to ``{"C2": ..., "C5": ...}``.
    """
    widths = tuple(widths)
    if len(widths) != 4 or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(
            f"tiny_backbone: `widths` must be four positive ints. Received: widths={widths!r}"
        )
    if not isinstance(stem_channels, int) or stem_channels < 1:
        raise ValueError(
            "tiny_backbone: `stem_channels` must be a positive int. "
            f"Received: stem_channels={stem_channels!r}"
        )
    pixels, x = _normalized_input(input_shape, "tiny_backbone")
    x = _conv_bn_relu(x, stem_channels, 3, 2, name="stem")
    outputs = {}
    for level, width in zip(FEATURE_LEVELS, widths):
        x = _conv_bn_relu(x, width, 3, 2, name=f"{level}_down")
        x = _conv_bn_relu(x, width, 3, 1, name=f"{level}_conv")
        outputs[level] = x
    return keras.Model(pixels, outputs, name=name)


BACKBONES: dict[str, Callable[..., keras.Model]] = {
    "resnet50": resnet50_backbone,
    "densenet_shallow": densenet_shallow_backbone,
    "mobilenet": mobilenet_backbone,
    "tiny": tiny_backbone,
}


def build_backbone(name: str, **kwargs) -> keras.Model:
    """Builds the backbone preset ``name`` (a key of ``BACKBONES``).

    Args:
        name: one of ``"resnet50"``, ``"densenet_shallow"``, ``"mobilenet"``,
            ``"tiny"``.
        **kwargs: forwarded to the preset's builder (``input_shape`` and its
            width arguments).

    Returns:
        A ``keras.Model``: ``(batch, height, width, 3)`` float pixels in
        ``[0, 255]`` to ``{"C2", "C3", "C4", "C5"}`` at strides 4, 8, 16, 32.
    """
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}. Expected one of {sorted(BACKBONES)}.")
    return BACKBONES[name](**kwargs)
