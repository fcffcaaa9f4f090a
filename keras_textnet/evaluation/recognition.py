"""The recognizer alone: a TextNet reading lines whose boxes are given (ground truth).

End-to-end scores mix two failures: a line not found (or found with a poor
box) and a line found but misread. Reading the ground-truth line boxes
separates the second: :func:`read_lines` runs the model's backbone once on the
page, pools every given box from the recognition map by dynamic pooling and
decodes it with greedy CTC, exactly as the model's inference does for its own
detections (same input resizing and padding as
:class:`~keras_textnet.predictor.TextNetPredictor`). :func:`read_gt_lines`
does it for the readable lines of an annotation record, and
:class:`LineReadCounts` sums character edits and exactly-read lines.

>>> from keras_textnet.pretrained import load_model
>>> model = load_model("model.keras")                                # doctest: +SKIP
>>> counts = LineReadCounts()
>>> for rec in ann.images:                                           # doctest: +SKIP
...     lines, texts = read_gt_lines(model, read_image(ann.image_path(rec)), rec)
...     counts += LineReadCounts.of([ln.text for ln in lines], texts)
>>> counts.cer, counts.exact_share                                   # doctest: +SKIP
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from keras_textnet.evaluation.text_metrics import character_error_rate, levenshtein

#: Boxes read per call of the recognizer (the last call is padded to this many).
DEFAULT_CHUNK = 64

_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _functions(model):
    """``(features, read)`` tf.functions of ``model``, traced once per model."""
    fns = _FUNCTIONS.get(model)
    if fns is None:
        import tensorflow as tf

        from keras_textnet.ops.ctc import ctc_greedy_decode

        def features(images):
            return model._features(images, False)[1]

        def read(recognition_map, boxes, angles):
            logits, steps = model._read_lines(recognition_map, boxes, angles, False)
            decoded = ctc_greedy_decode(logits, steps, model.max_text_length)
            return decoded["ids"], decoded["lengths"]

        fns = (tf.function(features, reduce_retracing=True),
               tf.function(read, reduce_retracing=True))
        _FUNCTIONS[model] = fns
    return fns


def read_lines(model, image, boxes, angles=None, *, max_side: int = 2048, scale: float = 1.0,
               pad_multiple: int = 32, chunk: int = DEFAULT_CHUNK) -> list[str]:
    """What ``model``'s recognizer reads in each of ``boxes`` of ``image``.

    Args:
        model: a :class:`~keras_textnet.models.text_net.TextNet`, or a
            :class:`~keras_textnet.predictor.TextNetPredictor` (its
            ``max_side``, ``scale`` and ``pad_multiple`` are then used, so the
            model sees the page exactly as the predictor shows it).
        image: an ``(H, W, 3)`` uint8 RGB array, or anything
            :func:`~keras_textnet.image_io.read_image` reads.
        boxes: ``(N, 4)`` ``(x0, y0, x1, y1)`` in the image's pixels: the axis-
            aligned bounds of each line (of its rotated rectangle when it has an
            angle), as in annotation files.
        angles: ``(N,)`` line angles in **radians**, counter-clockwise (the
            model's convention; an annotation's ``angle`` is in degrees); default 0.
        max_side, scale, pad_multiple: the input fitting of
            :class:`~keras_textnet.predictor.TextNetPredictor` (ignored when a
            predictor is passed).
        chunk: boxes pooled and read per recognizer call.

    Returns:
        One string per box, in order.
    """
    from keras_textnet.image_io import read_image
    from keras_textnet.predictor import TextNetPredictor

    if isinstance(model, TextNetPredictor):
        predictor, model = model, model.model
    else:
        predictor = TextNetPredictor(model, max_side=max_side, scale=scale,
                                     pad_multiple=pad_multiple)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    angles = (np.zeros(len(boxes)) if angles is None
              else np.asarray(angles, np.float64).reshape(-1))
    if angles.shape[0] != boxes.shape[0]:
        raise ValueError(f"read_lines needs one angle per box; received {angles.shape[0]} "
                         f"angles for {boxes.shape[0]} boxes.")
    if chunk < 1:
        raise ValueError(f"chunk must be positive; received {chunk}")
    import tensorflow as tf

    array = image if isinstance(image, np.ndarray) else read_image(image)
    padded, (sy, sx) = predictor._prepare(array)
    yxyx = np.stack([boxes[:, 1] * sy, boxes[:, 0] * sx, boxes[:, 3] * sy, boxes[:, 2] * sx],
                    axis=1).astype(np.float32)
    features, read = _functions(model)
    recognition_map = features(tf.constant(padded[np.newaxis]))
    texts: list[str] = []
    for start in range(0, len(yxyx), chunk):
        part = yxyx[start:start + chunk]
        part_angles = angles[start:start + chunk].astype(np.float32)
        n = len(part)
        if n < chunk:  # a fixed shape: one trace, whatever the number of lines
            part = np.concatenate([part, np.tile([[0., 0., 8., 8.]], (chunk - n, 1))]
                                  ).astype(np.float32)
            part_angles = np.concatenate([part_angles, np.zeros(chunk - n, np.float32)])
        ids, lengths = read(recognition_map, tf.constant(part[np.newaxis]),
                            tf.constant(part_angles[np.newaxis]))
        ids, lengths = ids.numpy(), lengths.numpy()
        texts.extend(model.charset.decode(ids[k, :int(lengths[k])]) for k in range(n))
    return texts


def readable_lines(record) -> list:
    """The lines of an :class:`~keras_textnet.data.annotation.ImageRecord` worth reading:
    not ``ignore``, with text (built from its words when it has no lines)."""
    return [ln for ln in record.lines_or_grouped_words() if not ln.ignore and ln.text.strip()]


def read_gt_lines(model, image, record, **kwargs) -> tuple[list, list[str]]:
    """:func:`read_lines` on the readable ground-truth lines of ``record``.

    Returns ``(lines, texts)``: the :class:`~keras_textnet.data.annotation.Line`
    objects read and the model's text for each. ``kwargs`` go to
    :func:`read_lines`.
    """
    lines = readable_lines(record)
    texts = read_lines(model, image, [ln.box for ln in lines],
                       [math.radians(ln.angle or 0.0) for ln in lines], **kwargs)
    return lines, texts


@dataclass
class LineReadCounts:
    """Sums over lines read from their ground-truth boxes (micro averages)."""

    lines: int = 0
    exact: int = 0
    chars: int = 0
    edits: int = 0

    @classmethod
    def of(cls, truths: Sequence[str], predictions: Sequence[str]) -> "LineReadCounts":
        if len(truths) != len(predictions):
            raise ValueError(f"{len(truths)} ground-truth lines but {len(predictions)} "
                             f"predictions")
        return cls(lines=len(truths), exact=sum(t == p for t, p in zip(truths, predictions)),
                   chars=sum(len(t) for t in truths),
                   edits=sum(levenshtein(t, p) for t, p in zip(truths, predictions)))

    def __add__(self, other: "LineReadCounts") -> "LineReadCounts":
        return LineReadCounts(self.lines + other.lines, self.exact + other.exact,
                              self.chars + other.chars, self.edits + other.edits)

    @property
    def cer(self) -> float | None:
        """Character error rate: edit distance over ground-truth characters (``None``: no line)."""
        return character_error_rate(self.edits, self.chars)

    @property
    def exact_share(self) -> float | None:
        """Share of lines read exactly (case-sensitive)."""
        return self.exact / self.lines if self.lines else None

    def to_dict(self) -> dict:
        cer, exact = self.cer, self.exact_share
        return {"lines": self.lines, "exact": self.exact, "chars": self.chars,
                "edits": self.edits, "cer": None if cer is None else round(cer, 4),
                "exact_share": None if exact is None else round(exact, 4)}


__all__ = ["DEFAULT_CHUNK", "LineReadCounts", "read_gt_lines", "read_lines", "readable_lines"]
