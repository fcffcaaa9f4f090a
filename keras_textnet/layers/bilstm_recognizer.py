"""The recurrent baseline of the text recognition network: bidirectional LSTMs, CTC logits."""

from __future__ import annotations

import keras
from keras import ops

from keras_textnet.layers.recognizer_base import RecognizerBase, _check_positive_int, column_mask


@keras.saving.register_keras_serializable(package="keras_textnet")
class BiLSTMRecognizer(RecognizerBase):
    """Text recognition head with bidirectional LSTMs (the CRNN-style baseline).

    The same :class:`~keras_textnet.layers.recognizer_base.HeightCollapse`
    stage as :class:`ConvAttentionRecognizer` (height folded to 1, width divided
    by ``downsample``), then ``num_layers`` ``Bidirectional(LSTM(units))`` layers
    masked by the lengths (padded steps neither update the state nor reach the
    valid outputs; the backward direction starts at each line's last valid
    step), dropout between them, and ``Dense(num_classes)``.

    It exists for comparison: the paper reports the convolutional + attention
    head better. LSTMs are slow on CPU (a sequential loop over ``T`` steps) and
    a masked LSTM exports to TFLite as a ``WHILE`` loop, which mobile GPU
    delegates do not run.

    Args:
        num_classes: output classes including the CTC blank at ``0``.
        units: LSTM units per direction.
        num_layers: number of bidirectional layers.
        dropout: dropout rate between layers.
        downsample: width downsampling factor.
        filters: width of the features given to the first LSTM; defaults to
            ``2 * units``.
        collapse_filters: channels of the collapse stage's 3x3 convolutions;
            defaults to ``units``.
        **kwargs: standard layer arguments.

    Call arguments and returns: as :class:`ConvAttentionRecognizer`:
    ``(pooled (num_rois, pooled_height, max_width, channels), widths (num_rois,))
    -> (logits (num_rois, ceil(max_width / downsample), num_classes) float32,
    logit_lengths (num_rois,) int32)``.

    Example:

    >>> import numpy as np
    >>> head = BiLSTMRecognizer(num_classes=96, units=32, num_layers=1)
    >>> logits, lengths = head(np.zeros((2, 8, 32, 16), "float32"), np.array([32, 9]))
    >>> tuple(logits.shape), lengths.numpy().tolist()
    ((2, 16, 96), [16, 5])
    """

    def __init__(self, num_classes, units=128, num_layers=2, dropout=0.1, downsample=2,
                 filters=None, collapse_filters=None, **kwargs):
        super().__init__(num_classes, dropout, downsample, collapse_filters, **kwargs)
        _check_positive_int("units", units)
        _check_positive_int("num_layers", num_layers)
        if filters is not None:
            _check_positive_int("filters", filters)
        self.units = units
        self.num_layers = num_layers
        self.filters = filters

    def build(self, pooled_shape, widths_shape=None):
        filters = self.filters or 2 * self.units
        steps = self.build_collapse(pooled_shape, filters, self.collapse_filters or self.units)
        shape = (None, steps, filters)
        self.rnns = []
        for i in range(self.num_layers):
            rnn = keras.layers.Bidirectional(
                keras.layers.LSTM(self.units, return_sequences=True, dtype=self.dtype_policy),
                name=f"bilstm{i}", dtype=self.dtype_policy)
            rnn.build(shape)
            shape = (None, steps, 2 * self.units)
            self.rnns.append(rnn)
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=self.dtype_policy)
        self.classifier = keras.layers.Dense(self.num_classes, dtype="float32", name="classifier")
        self.classifier.build(shape)
        self.built = True

    def call(self, pooled, widths, training=None):
        x, lengths = self.collapse(pooled, widths, training=training)
        mask = column_mask(lengths, ops.shape(x)[1])
        keep = ops.cast(mask, x.dtype)[:, :, None]
        for i, rnn in enumerate(self.rnns):
            if i:
                x = self.drop(x, training=training)
            x = rnn(x, mask=mask, training=training) * keep
        return self.classifier(x), lengths

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_layers": self.num_layers,
                       "filters": self.filters})
        return config
