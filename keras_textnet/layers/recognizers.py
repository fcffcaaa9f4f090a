"""The text recognition heads by name: :func:`build_recognizer`."""

from __future__ import annotations

from keras_textnet.layers.bilstm_recognizer import BiLSTMRecognizer
from keras_textnet.layers.conv_attention_recognizer import ConvAttentionRecognizer

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
        return BiLSTMRecognizer(num_classes, **kwargs)
    raise ValueError(f"recognizer must be one of {RECOGNIZER_KINDS}; received {kind!r}.")
