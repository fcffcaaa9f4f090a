"""The text recognition network (TRN): convolutions and 1-D self-attention, CTC logits.

Input is what dynamic RoI pooling produces for every text line: a feature map
``pooled`` of shape ``(num_rois, pooled_height, max_width, channels)`` whose
columns at or past ``widths[i]`` are padding. Output is CTC logits along the
line, with the blank at class ``0``.
"""

from __future__ import annotations

import math

import keras
from keras import ops

_PACKAGE = "keras_textnet"


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; received {value!r}.")


def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1); received {value!r}.")


def column_mask(widths, width, dtype="bool"):
    """``(N, width)`` mask, True (1) for columns ``< widths[i]``."""
    widths = ops.cast(widths, "int32")
    mask = ops.expand_dims(ops.arange(width, dtype="int32"), 0) < ops.expand_dims(widths, 1)
    return mask if dtype == "bool" else ops.cast(mask, dtype)


def downsampled_lengths(widths, downsample, max_steps):
    """``ceil(widths / downsample)`` clipped to ``[0, max_steps]``, int32."""
    widths = ops.cast(widths, "int32")
    return ops.clip((widths + downsample - 1) // downsample, 0, max_steps)


class HeightCollapse(keras.layers.Layer):
    """Shared first stage of the recognizers: 2-D convolutions that fold the height away.

    Not meant to be used alone (the recognizers create it); kept in this module
    so both recognizers share it.

    Stages of ``Conv2D 3x3 -> BatchNorm -> ReLU -> MaxPool`` halve the height
    until it is at most 2 (the first stage also divides the width by
    ``downsample``); a ``Conv2D (h, 1)`` with ``filters`` outputs, BatchNorm and
    ReLU then reduces it to 1. After every convolution the padded columns are
    set back to zero and BatchNorm statistics are taken over valid columns only,
    so the output at valid columns does not depend on what the padding held, or
    on how wide the batch was padded.

    Input shapes: ``pooled (N, Hp, W, C)``, ``widths (N,)``.
    Output: ``features (N, ceil(W / downsample), filters)`` (padding zero) and
    ``lengths (N,)`` int32 ``= ceil(widths / downsample)``.
    """

    def __init__(self, filters, collapse_filters, downsample, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.collapse_filters = collapse_filters
        self.downsample = downsample

    def build(self, pooled_shape, widths_shape=None):
        if len(pooled_shape) != 4 or pooled_shape[1] is None or pooled_shape[3] is None:
            raise ValueError(
                f"{self.name}: pooled must be (num_rois, pooled_height, max_width, channels) with "
                f"known height and channels; received shape {tuple(pooled_shape)}.")
        height, channels = int(pooled_shape[1]), int(pooled_shape[3])
        width = pooled_shape[2]
        self.stages = []
        shape = (None, height, width, channels)
        first = True
        while first or height > 2:
            pool = (2 if height > 1 else 1, self.downsample if first else 1)
            conv = keras.layers.Conv2D(self.collapse_filters, 3, padding="same", use_bias=False,
                                       name=f"conv{len(self.stages)}")
            norm = keras.layers.BatchNormalization(name=f"bn{len(self.stages)}")
            pooling = keras.layers.MaxPooling2D(pool, strides=pool, padding="same",
                                                name=f"pool{len(self.stages)}")
            conv.build(shape)
            shape = (None, height, width, self.collapse_filters)
            norm.build(shape)
            self.stages.append((conv, norm, pooling, pool))
            height = math.ceil(height / pool[0])
            width = None if width is None else math.ceil(width / pool[1])
            shape = (None, height, width, self.collapse_filters)
            first = False
        self.fold = keras.layers.Conv2D(self.filters, (height, 1), padding="valid", use_bias=False,
                                        name="fold")
        self.fold.build(shape)
        self.fold_norm = keras.layers.BatchNormalization(name="fold_bn")
        self.fold_norm.build((None, 1, width, self.filters))
        self.built = True

    def call(self, pooled, widths, training=None):
        x = pooled
        width = ops.shape(x)[2]
        widths = ops.clip(ops.cast(widths, "int32"), 0, width)
        mask = column_mask(widths, width)                                   # (N, W)
        x = x * ops.cast(mask, x.dtype)[:, None, :, None]
        for conv, norm, pooling, pool in self.stages:
            x = conv(x)
            x = ops.relu(norm(x, training=training, mask=mask[:, None, :]))
            x = x * ops.cast(mask, x.dtype)[:, None, :, None]
            x = pooling(x)
            if pool[1] > 1:
                width = ops.shape(x)[2]
                widths = downsampled_lengths(widths, pool[1], width)
                mask = column_mask(widths, width)
        x = self.fold(x)
        x = ops.relu(self.fold_norm(x, training=training, mask=mask[:, None, :]))
        x = ops.squeeze(x, axis=1) * ops.cast(mask, x.dtype)[:, :, None]
        return x, widths

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "collapse_filters": self.collapse_filters,
                       "downsample": self.downsample})
        return config


class RecognizerBase(keras.layers.Layer):
    """What every recognizer shares: ``(pooled, widths) -> (logits, lengths)`` shapes.

    Subclasses set ``num_classes`` and ``downsample`` (width steps per output step).
    """

    def compute_output_shape(self, pooled_shape, widths_shape=None):
        steps = None if pooled_shape[2] is None else math.ceil(pooled_shape[2] / self.downsample)
        return (pooled_shape[0], steps, self.num_classes), (pooled_shape[0],)

    def compute_output_spec(self, pooled, widths, training=None):
        logits_shape, lengths_shape = self.compute_output_shape(pooled.shape)
        return (keras.KerasTensor(logits_shape, dtype="float32"),
                keras.KerasTensor(lengths_shape, dtype="int32"))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvAttentionRecognizer(RecognizerBase):
    """Text recognition head: conv + masked 1-D self-attention, no recurrence, CTC logits.

    1. :class:`HeightCollapse`: 2-D convolutions (BatchNorm, ReLU, max-pooling)
       fold the pooled height to 1 and divide the width by ``downsample``.
    2. ``num_blocks`` pre-norm residual blocks along the line, each:

       * a convolution sub-block: ``LayerNorm -> DepthwiseConv1D(kernel_size)
         -> Dense(2 * filters, ReLU) -> Dense(filters)``. The depthwise
         convolution is also the position information (relative, as in
         Conformer / conditional position encodings): no absolute embedding,
         so a line reads the same wherever it sits in the padded tensor;
       * an attention sub-block: ``LayerNorm -> MultiHeadAttention`` along the
         width; padded keys are masked out (``-inf`` before softmax) and padded
         query rows are zeroed after every sub-block.
    3. ``LayerNorm -> Dense(num_classes)`` (float32 logits).

    Time step ``t`` of the logits covers pooled columns
    ``[t * downsample, (t + 1) * downsample)``.

    Args:
        num_classes: output classes including the CTC blank at ``0``
            (``Charset.num_classes``).
        filters: width of the sequence features.
        num_blocks: number of conv + attention blocks.
        num_heads: attention heads; ``filters`` must be divisible by it.
        kernel_size: kernel of the depthwise 1-D convolutions (odd).
        dropout: dropout rate after every sub-block and on attention weights.
        downsample: width downsampling factor (1, 2, 4 ...).
        collapse_filters: channels of the 3x3 convolutions of the collapse
            stage; defaults to ``filters // 2``.
        **kwargs: standard layer arguments (``name``, ``dtype`` ...).

    Call arguments:
        pooled: ``(num_rois, pooled_height, max_width, channels)``; pooled height
            and channels must be known when the layer is built.
        widths: ``(num_rois,)`` integer valid widths; columns ``>= widths[i]``
            are ignored.
        training: Python bool or None.

    Returns:
        ``(logits, logit_lengths)``: ``logits`` ``(num_rois, T, num_classes)``
        float32 with ``T = ceil(max_width / downsample)``, and ``logit_lengths``
        ``(num_rois,)`` int32 ``= ceil(widths / downsample)``. Logits at steps
        ``>= logit_lengths[i]`` are meaningless (the bias) and must be ignored.

    Example:

    >>> import numpy as np
    >>> head = ConvAttentionRecognizer(num_classes=96, filters=64, num_blocks=1)
    >>> logits, lengths = head(np.zeros((3, 8, 32, 16), "float32"), np.array([32, 9, 0]))
    >>> tuple(logits.shape), lengths.numpy().tolist()
    ((3, 16, 96), [16, 5, 0])
    """

    def __init__(self, num_classes, filters=192, num_blocks=4, num_heads=4, kernel_size=5,
                 dropout=0.1, downsample=2, collapse_filters=None, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("num_classes", num_classes, minimum=2)
        _check_positive_int("filters", filters)
        _check_positive_int("num_blocks", num_blocks, minimum=0)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("kernel_size", kernel_size)
        _check_positive_int("downsample", downsample)
        _check_rate("dropout", dropout)
        if filters % num_heads:
            raise ValueError(
                f"filters must be divisible by num_heads; received filters={filters}, "
                f"num_heads={num_heads}.")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd; received {kernel_size}.")
        if collapse_filters is not None:
            _check_positive_int("collapse_filters", collapse_filters)
        self.num_classes = num_classes
        self.filters = filters
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.downsample = downsample
        self.collapse_filters = collapse_filters

    def build(self, pooled_shape, widths_shape=None):
        cfilters = self.collapse_filters or max(self.filters // 2, 1)
        self.collapse = HeightCollapse(self.filters, cfilters, self.downsample, name="collapse")
        self.collapse.build(pooled_shape)
        steps = None if pooled_shape[2] is None else math.ceil(pooled_shape[2] / self.downsample)
        seq_shape = (None, steps, self.filters)
        self.blocks = []
        for i in range(self.num_blocks):
            conv_norm = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_conv_ln")
            depthwise = keras.layers.DepthwiseConv1D(self.kernel_size, padding="same",
                                                     name=f"block{i}_dwconv")
            expand = keras.layers.Dense(2 * self.filters, activation="relu",
                                        name=f"block{i}_expand")
            project = keras.layers.Dense(self.filters, name=f"block{i}_project")
            attn_norm = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_attn_ln")
            attention = keras.layers.MultiHeadAttention(
                self.num_heads, self.filters // self.num_heads, dropout=self.dropout,
                name=f"block{i}_attention")
            conv_norm.build(seq_shape)
            depthwise.build(seq_shape)
            expand.build(seq_shape)
            project.build((None, steps, 2 * self.filters))
            attn_norm.build(seq_shape)
            attention.build(seq_shape, seq_shape)
            self.blocks.append((conv_norm, depthwise, expand, project, attn_norm, attention))
        self.drop = keras.layers.Dropout(self.dropout, name="dropout")
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_ln")
        self.final_norm.build(seq_shape)
        self.classifier = keras.layers.Dense(self.num_classes, dtype="float32", name="classifier")
        self.classifier.build(seq_shape)
        self.built = True

    def call(self, pooled, widths, training=None):
        x, lengths = self.collapse(pooled, widths, training=training)
        steps = ops.shape(x)[1]
        key_mask = column_mask(lengths, steps)                               # (N, T)
        attention_mask = ops.logical_and(key_mask[:, None, :], ops.ones_like(key_mask)[:, :, None])
        keep = ops.cast(key_mask, x.dtype)[:, :, None]
        for conv_norm, depthwise, expand, project, attn_norm, attention in self.blocks:
            y = depthwise(conv_norm(x) * keep)
            y = project(expand(y))
            x = (x + self.drop(y, training=training)) * keep
            y = attn_norm(x)
            y = attention(y, y, attention_mask=attention_mask, training=training)
            x = (x + self.drop(y, training=training)) * keep
        logits = self.classifier(self.final_norm(x))
        return logits, lengths

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "filters": self.filters,
            "num_blocks": self.num_blocks,
            "num_heads": self.num_heads,
            "kernel_size": self.kernel_size,
            "dropout": self.dropout,
            "downsample": self.downsample,
            "collapse_filters": self.collapse_filters,
        })
        return config


#: Names accepted by :func:`build_recognizer`.
RECOGNIZER_KINDS = ("conv_attention", "bilstm")


def build_recognizer(kind, num_classes, **kwargs):
    """Builds the text recognition head named ``kind``.

    Args:
        kind: ``"conv_attention"`` (:class:`ConvAttentionRecognizer`, the paper's
            choice) or ``"bilstm"`` (:class:`BiLSTMRecognizer`, the recurrent
            baseline).
        num_classes: output classes including the CTC blank.
        **kwargs: passed to the class.

    Both have the call signature ``(pooled, widths, training=None) -> (logits,
    logit_lengths)``.
    """
    if kind == "conv_attention":
        return ConvAttentionRecognizer(num_classes, **kwargs)
    if kind == "bilstm":
        from keras_textnet.layers.bilstm_recognizer import BiLSTMRecognizer

        return BiLSTMRecognizer(num_classes, **kwargs)
    raise ValueError(f"recognizer must be one of {RECOGNIZER_KINDS}; received {kind!r}.")
