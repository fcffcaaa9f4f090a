"""What the text recognition heads share: the recognizer base class and the height collapse.

:class:`RecognizerBase` gives every recognizer its ``(pooled, widths) ->
(logits, lengths)`` shapes; :class:`HeightCollapse` is their common first
stage. The heads themselves are
:class:`~keras_textnet.layers.conv_attention_recognizer.ConvAttentionRecognizer`
and :class:`~keras_textnet.layers.bilstm_recognizer.BiLSTMRecognizer`;
:func:`~keras_textnet.layers.recognizers.build_recognizer` picks one by name.
"""

from __future__ import annotations

import math

import keras
from keras import ops


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

    Not meant to be used alone (the recognizers create it).

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
                                       name=f"conv{len(self.stages)}", dtype=self.dtype_policy)
            norm = keras.layers.BatchNormalization(name=f"bn{len(self.stages)}",
                                                    dtype=self.dtype_policy)
            pooling = keras.layers.MaxPooling2D(pool, strides=pool, padding="same",
                                                name=f"pool{len(self.stages)}",
                                                dtype=self.dtype_policy)
            conv.build(shape)
            shape = (None, height, width, self.collapse_filters)
            norm.build(shape)
            self.stages.append((conv, norm, pooling, pool))
            height = math.ceil(height / pool[0])
            width = None if width is None else math.ceil(width / pool[1])
            shape = (None, height, width, self.collapse_filters)
            first = False
        self.fold = keras.layers.Conv2D(self.filters, (height, 1), padding="valid", use_bias=False,
                                        name="fold", dtype=self.dtype_policy)
        self.fold.build(shape)
        self.fold_norm = keras.layers.BatchNormalization(name="fold_bn", dtype=self.dtype_policy)
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
    """What every recognizer shares: its common arguments, the collapse stage, the shapes.

    ``(pooled (num_rois, pooled_height, max_width, channels), widths (num_rois,))
    -> (logits (num_rois, ceil(max_width / downsample), num_classes), lengths (num_rois,))``.

    Args:
        num_classes: output classes including the CTC blank at ``0``.
        dropout: the subclass's dropout rate, in ``[0, 1)``.
        downsample: width steps per output step.
        collapse_filters: channels of the :class:`HeightCollapse` stage's 3x3
            convolutions; None for the subclass's default.
        **kwargs: standard layer arguments.

    Subclasses validate and store their own arguments after calling
    ``super().__init__``, create the collapse stage in ``build`` with
    :meth:`build_collapse`, and add theirs to :meth:`get_config`.
    """

    def __init__(self, num_classes, dropout, downsample, collapse_filters, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("num_classes", num_classes, minimum=2)
        _check_positive_int("downsample", downsample)
        _check_rate("dropout", dropout)
        if collapse_filters is not None:
            _check_positive_int("collapse_filters", collapse_filters)
        self.num_classes = num_classes
        self.dropout = dropout
        self.downsample = downsample
        self.collapse_filters = collapse_filters

    def output_steps(self, width):
        """Logit steps of ``width`` pooled columns (None when the width is not known)."""
        return None if width is None else math.ceil(width / self.downsample)

    def build_collapse(self, pooled_shape, filters, collapse_filters):
        """Creates and builds ``self.collapse``; returns the output steps."""
        self.collapse = HeightCollapse(filters, collapse_filters, self.downsample,
                                       name="collapse", dtype=self.dtype_policy)
        self.collapse.build(pooled_shape)
        return self.output_steps(pooled_shape[2])

    def compute_output_shape(self, pooled_shape, widths_shape=None):
        steps = self.output_steps(pooled_shape[2])
        return (pooled_shape[0], steps, self.num_classes), (pooled_shape[0],)

    def compute_output_spec(self, pooled, widths, training=None):
        logits_shape, lengths_shape = self.compute_output_shape(pooled.shape)
        return (keras.KerasTensor(logits_shape, dtype="float32"),
                keras.KerasTensor(lengths_shape, dtype="int32"))

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "dropout": self.dropout,
                       "downsample": self.downsample, "collapse_filters": self.collapse_filters})
        return config
