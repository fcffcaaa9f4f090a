"""The text recognition network (TRN): convolutions and 1-D self-attention, CTC logits.

Input is what dynamic RoI pooling produces for every text line: a feature map
``pooled`` of shape ``(num_rois, pooled_height, max_width, channels)`` whose
columns at or past ``widths[i]`` are padding. Output is CTC logits along the
line, with the blank at class ``0``.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_textnet.layers.recognizer_base import RecognizerBase, _check_positive_int, column_mask

_PACKAGE = "keras_textnet"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvAttentionRecognizer(RecognizerBase):
    """Text recognition head: conv + masked 1-D self-attention, no recurrence, CTC logits.

    1. :class:`~keras_textnet.layers.recognizer_base.HeightCollapse`: 2-D convolutions
       (BatchNorm, ReLU, max-pooling) fold the pooled height to 1 and divide the
       width by ``downsample``.
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
        super().__init__(num_classes, dropout, downsample, collapse_filters, **kwargs)
        _check_positive_int("filters", filters)
        _check_positive_int("num_blocks", num_blocks, minimum=0)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("kernel_size", kernel_size)
        if filters % num_heads:
            raise ValueError(
                f"filters must be divisible by num_heads; received filters={filters}, "
                f"num_heads={num_heads}.")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd; received {kernel_size}.")
        self.filters = filters
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.kernel_size = kernel_size

    def build(self, pooled_shape, widths_shape=None):
        cfilters = self.collapse_filters or max(self.filters // 2, 1)
        steps = self.build_collapse(pooled_shape, self.filters, cfilters)
        seq_shape = (None, steps, self.filters)
        self.blocks = []
        for i in range(self.num_blocks):
            conv_norm = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_conv_ln",
                                                   dtype=self.dtype_policy)
            depthwise = keras.layers.DepthwiseConv1D(self.kernel_size, padding="same",
                                                     name=f"block{i}_dwconv",
                                                     dtype=self.dtype_policy)
            expand = keras.layers.Dense(2 * self.filters, activation="relu",
                                        name=f"block{i}_expand", dtype=self.dtype_policy)
            project = keras.layers.Dense(self.filters, name=f"block{i}_project",
                                         dtype=self.dtype_policy)
            attn_norm = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_attn_ln",
                                                   dtype=self.dtype_policy)
            attention = keras.layers.MultiHeadAttention(
                self.num_heads, self.filters // self.num_heads, dropout=self.dropout,
                name=f"block{i}_attention", dtype=self.dtype_policy)
            conv_norm.build(seq_shape)
            depthwise.build(seq_shape)
            expand.build(seq_shape)
            project.build((None, steps, 2 * self.filters))
            attn_norm.build(seq_shape)
            attention.build(seq_shape, seq_shape)
            self.blocks.append((conv_norm, depthwise, expand, project, attn_norm, attention))
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=self.dtype_policy)
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_ln",
                                                         dtype=self.dtype_policy)
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
        config.update({"filters": self.filters, "num_blocks": self.num_blocks,
                       "num_heads": self.num_heads, "kernel_size": self.kernel_size})
        return config
