"""The records the protocol scores: prediction files read and checked, GT boxes swapped.

:func:`load_predictions` and :func:`predictions_from_json` read prediction
files (``shared/FORMATS.md``); :func:`prediction_records` takes any form of
predictions :func:`~keras_textnet.evaluation.protocol.evaluate` accepts;
:func:`with_box_key` scores the ground truth by another of its box fields.

A prediction file is an annotation file without the ground truth's duties:
each word needs ``box`` (4 finite numbers, x1 > x0, y1 > y0) and ``text``;
``score``, ``angle`` and ``quad`` are optional, ``lines`` too (same fields),
and ``width``/``height`` need not be stated (0 when absent: boxes are then not
checked against the image bounds). The fields shared with annotation files
are checked by the annotation parser's own rules
(:mod:`keras_textnet.data.annotation`), with the same messages.

>>> preds = predictions_from_json({"images": [{"file": "a.png", "words": [
...     {"box": [0, 0, 10, 5], "text": "hi", "score": 0.9}]}]})
>>> preds.images[0].words[0].box, preds.images[0].words[0].extra
((0, 0, 10, 5), {'score': 0.9})
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from keras_textnet.data.annotation import (
    AnnotationError,
    AnnotationSet,
    ImageRecord,
    Line,
    Word,
    _is_number,
    _Parser,
    _plain_number,
    parse_json,
)


class _PredictionParser(_Parser):
    """Decoded prediction JSON -> records, raising :class:`AnnotationError`.

    ``box``, ``quad``, ``text`` and ``fail`` are the annotation parser's;
    words, lines and images follow the looser rules of prediction files.
    """

    def __init__(self, source):
        super().__init__(source, root=None, check_images=False)

    def item(self, d, image, index, kind):
        item = f"{kind} {index}"
        if isinstance(d, (Word, Line)):
            return d
        if not isinstance(d, Mapping):
            self.fail(f"must be an object; received {d!r}", image, item)
        for key in ("box", "text"):
            if key not in d:
                self.fail("is missing", image, item, key)
        text = self.text(d["text"], image, item)
        score = d.get("score")
        if score is not None and not _is_number(score):
            self.fail(f"must be a finite number; received {score!r}", image, item, "score")
        angle = d.get("angle")
        if angle is not None and not _is_number(angle):
            self.fail(f"must be a number (degrees); received {angle!r}", image, item, "angle")
        quad = d.get("quad")
        if quad is not None:
            quad = self.quad(quad, image, item)
        box = self.box(d["box"], image, item, None, None)
        extra = {k: v for k, v in d.items() if k not in ("box", "text", "angle", "quad")}
        if kind == "word":
            return Word(box=box, text=text, quad=quad,
                        angle=None if angle is None else _plain_number(angle), extra=extra)
        return Line(box=box, text=text, angle=0.0 if angle is None else _plain_number(angle),
                    quad=quad, extra=extra)

    def items(self, value, image, key, kind, required):
        if value is None and not required:
            return []
        if not isinstance(value, (list, tuple)):
            self.fail(f"must be a list; received {value!r}", image, field_name=key)
        return [self.item(d, image, i, kind) for i, d in enumerate(value)]

    def image(self, d, index) -> ImageRecord:
        if isinstance(d, ImageRecord):
            return d
        name = self.file_name(d, index)
        if "words" not in d:
            self.fail("is missing (use [] for an image without text)", name, field_name="words")
        doc = d.get("doc")
        if doc is not None and not isinstance(doc, str):
            self.fail(f"must be a string; received {doc!r}", name, field_name="doc")
        size = []
        for key in ("width", "height"):
            v = d.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
                self.fail(f"must be a positive integer; received {v!r}", name, field_name=key)
            size.append(v or 0)
        return ImageRecord(
            file=name, width=size[0], height=size[1],
            words=self.items(d["words"], name, "words", "word", True),
            lines=self.items(d.get("lines"), name, "lines", "line", False),
            doc=doc,
            extra={k: v for k, v in d.items()
                   if k not in ("file", "width", "height", "words", "lines", "doc")})

    def document(self, doc) -> AnnotationSet:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("images"), list):
            raise AnnotationError("the top level must be an object with an 'images' list",
                                  self.path, field_name="images")
        images = [self.image(d, i) for i, d in enumerate(doc["images"])]
        seen: set[str] = set()
        for rec in images:
            if rec.file in seen:
                self.fail("appears twice in the predictions", rec.file, field_name="file")
            seen.add(rec.file)
        return AnnotationSet(images=images,
                             extra={k: v for k, v in doc.items() if k != "images"})


def predictions_from_json(doc, source=None) -> AnnotationSet:
    """Validates decoded prediction JSON (``shared/FORMATS.md``) into records.

    Each word needs ``box`` (4 finite numbers, x1 > x0, y1 > y0) and ``text``
    (a string); ``score`` (a finite number), ``angle`` and ``quad`` are optional;
    ``lines`` is optional with the same fields. ``score`` and unknown keys are
    kept in ``extra``. ``width``/``height`` are optional (0 when absent: box
    bounds are not checked, since the prediction file need not state the size).

    Raises:
        AnnotationError: naming the source, the image, the word or line, the
            field and the value at fault.
    """
    return _PredictionParser(source if source is not None else "<predictions>").document(doc)


def load_predictions(path: str | os.PathLike) -> AnnotationSet:
    """Reads and validates a prediction file (see :func:`predictions_from_json`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise AnnotationError(f"cannot read the prediction file ({e.strerror})", path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise AnnotationError(f"is not valid UTF-8: byte 0x{raw[e.start]:02x} at offset "
                              f"{e.start}", path) from None
    return predictions_from_json(parse_json(text, path), source=path)


def prediction_records(predictions) -> list[ImageRecord]:
    """The :class:`ImageRecord` list of any prediction input that ``evaluate`` takes.

    ``predictions`` is an :class:`AnnotationSet`, decoded prediction JSON
    ``{"images": [...]}``, a mapping ``{file: [word dicts or Word]}`` (or
    ``{file: ImageRecord}``), a list of :class:`ImageRecord` or image dicts, or
    the path of a prediction file.
    """
    if isinstance(predictions, (str, os.PathLike)):
        return list(load_predictions(predictions).images)
    if isinstance(predictions, AnnotationSet):
        return list(predictions.images)
    if isinstance(predictions, Mapping):
        if "images" in predictions:
            return list(predictions_from_json(predictions).images)
        # {file: [words]} or {file: ImageRecord}
        parser = _PredictionParser("<predictions>")
        out = []
        for name, value in predictions.items():
            if isinstance(value, ImageRecord):
                out.append(value)
            else:
                out.append(ImageRecord(file=str(name), width=0, height=0,
                                       words=parser.items(value, str(name), "words", "word",
                                                          True)))
        return out
    if isinstance(predictions, (list, tuple)):
        parser = _PredictionParser("<predictions>")
        return [parser.image(d, i) for i, d in enumerate(predictions)]
    raise TypeError("predictions must be an AnnotationSet, a prediction JSON object, a "
                    "{file: words} mapping, a list of ImageRecord or a path; received "
                    f"{type(predictions).__name__}")


def with_box_key(gt: AnnotationSet, key: str) -> AnnotationSet:
    """A copy of ``gt`` whose words and lines take their box from field ``key``.

    For scoring against another box convention kept in the annotation file
    (e.g. the PDF text layer's own boxes, ``"pdf_box"``, beside the ink-tight
    ``box``). Ignored items without the field keep their box.

    Raises:
        AnnotationError: a non-ignored word or line lacks the field, or its
            value is not four finite numbers with ``x0 < x1``, ``y0 < y1``.
    """
    import dataclasses

    def swap(item, rec, kind, index):
        value = item.extra.get(key)
        if value is None:
            if item.ignore:
                return item
            raise AnnotationError(f"{rec.file}: {kind} {index} ({item.text!r}) has no {key!r} "
                                  f"field (--gt-box-key {key})")
        if (not isinstance(value, (list, tuple)) or len(value) != 4
                or not all(_is_number(v) and math.isfinite(v) for v in value)
                or not (value[0] < value[2] and value[1] < value[3])):
            raise AnnotationError(f"{rec.file}: {kind} {index}: {key!r} must be "
                                  f"[x0, y0, x1, y1] with x0 < x1 and y0 < y1; got {value!r}")
        extra = {k: v for k, v in item.extra.items() if k != key}
        return dataclasses.replace(item, box=tuple(float(v) for v in value), extra=extra)

    images = []
    for rec in gt.images:
        images.append(dataclasses.replace(
            rec, words=[swap(w, rec, "word", i) for i, w in enumerate(rec.words)],
            lines=[swap(ln, rec, "line", i) for i, ln in enumerate(rec.lines)]))
    return dataclasses.replace(gt, images=images)


__all__ = ["load_predictions", "prediction_records", "predictions_from_json", "with_box_key"]
