"""The evaluation protocol of ``shared/DESIGN.md`` (ICDAR Robust Reading style).

Pure NumPy and Python: nothing here needs TensorFlow.

Box convention: ``(x0, y0, x1, y1)`` in the pixels of the image as stored,
``x1``/``y1`` exclusive, axis-aligned (a rotated item is scored by its
axis-aligned bounds, the ``box`` of the annotation format).

The protocol, word level (``level="words"``; ``level="lines"`` is the same on
text lines):

* **Matching.** A prediction matches a ground-truth (GT) item when their IoU is
  at least ``iou_threshold`` (0.5; compared with a 1e-9 tolerance so that an
  IoU of exactly one half, computed in floating point, counts). Matching is
  one-to-one and greedy by decreasing IoU over all GT items, ignored ones
  included; ties go to the lower GT index, then the lower prediction index.
* **Ignore.** GT marked ``ignore`` is neither a hit nor a miss. A prediction
  matched to an ignored GT item is *discarded* (it is not counted at all), and
  so is an unmatched prediction lying more than half inside one ignored GT item
  (intersection / prediction area > 0.5). A prediction that matched a
  non-ignored item is a true positive even if it also lies inside an ignored one.
* **Detection** precision / recall / F count the matches alone.
* **End-to-end** counts a match only when the texts agree too, lexicon-free:
  ``e2e_exact`` compares the strings as they are (case-sensitive);
  ``e2e_normalized`` compares :func:`normalize_text` of both sides (NFC,
  whitespace runs collapsed, case-folded, leading and trailing
  :data:`STRIP_CHARACTERS` removed). A text that is nothing but such
  punctuation does **not** normalize to the empty string: it keeps its
  (case-folded) punctuation and must be read exactly, so ``"..."`` matches
  ``"..."`` but not ``"."`` or ``""``. (Punctuation-only words are usually
  marked ``ignore`` anyway.)
* **Micro average.** Counts are summed over all images (or all images of a
  document for :meth:`EvaluationResult.by_doc`) before any ratio is taken.
* **Zero denominators.** Precision with no (counted) predictions, or recall
  with no (non-ignored) GT, is 1.0 when the other side is empty too (nothing
  to find and nothing claimed) and 0.0 otherwise. F is the harmonic mean, 0.0
  when precision + recall is 0.
* **CER** is the sum of Levenshtein distances over matched, non-ignored pairs
  divided by the sum of their GT lengths (exact strings; ``cer_normalized``
  on normalized strings). It is ``None`` when there is no GT character to
  divide by.

Predictions are matched to GT images by file name: a prediction ``file``
equal to a GT ``file`` (the path relative to the annotation file) wins;
otherwise the base names must agree, and a base name shared by two GT images is
an error. GT images missing from the predictions score as having no
predictions; predictions for unknown images are reported in a warning and in
:attr:`EvaluationResult.unknown_predictions`.

>>> gt = AnnotationSet.load("test/labels.json", check_images=False)  # doctest: +SKIP
>>> result = evaluate(gt, load_predictions("predictions.json"))       # doctest: +SKIP
>>> result.to_dict()["e2e_normalized"]["f"]                          # doctest: +SKIP
0.87
>>> print(result)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from keras_textnet.data.annotation import (
    AnnotationError,
    AnnotationSet,
    ImageRecord,
    Line,
    Word,
    parse_json,
)
from keras_textnet.evaluation.matching import as_boxes, greedy_match, pairwise_ioa, pairwise_iou
from keras_textnet.evaluation.text_metrics import levenshtein

#: Characters removed from both ends of a text by :func:`normalize_text`
#: (the ICDAR end-to-end set, plus ``;``, brackets, dashes and typographic quotes).
#: Symbols that carry meaning (``$ % # & @ + =``) are kept.
STRIP_CHARACTERS = ("!?.:,;*\"'()[]{}<>/\\-"
                    "\u2013\u2014\u00b7\u00ab\u00bb\u2018\u2019\u201c\u201d\u201e\u2026")

_LEVELS = ("words", "lines")


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

def normalize_text(text: str) -> str:
    """The text compared by the normalized end-to-end score.

    NFC, whitespace runs collapsed to one space and stripped, case-folded, then
    :data:`STRIP_CHARACTERS` removed from both ends, unless that would leave
    nothing: then the case-folded text is kept as is.

    >>> normalize_text(' "Hello," ')
    'hello'
    >>> normalize_text("...")
    '...'
    """
    t = " ".join(unicodedata.normalize("NFC", text).split()).casefold()
    stripped = t.strip(STRIP_CHARACTERS).strip()
    return stripped if stripped else t


# ---------------------------------------------------------------------------
# Counts and results
# ---------------------------------------------------------------------------

def _ratio(num: int, den: int, other: int) -> float:
    if den > 0:
        return num / den
    return 1.0 if other == 0 else 0.0


def precision_recall_f(matched: int, num_gt: int, num_pred: int) -> dict[str, float]:
    """``{"precision", "recall", "f"}`` with the zero-denominator convention of the module."""
    p = _ratio(matched, num_pred, num_gt)
    r = _ratio(matched, num_gt, num_pred)
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return {"precision": p, "recall": r, "f": f}


@dataclass
class MatchCounts:
    """Counts of one image or summed over many (micro average).

    Attributes:
        gt: non-ignored GT items.
        gt_ignored: GT items marked ``ignore``.
        pred: predictions that count (all minus the discarded ones).
        pred_discarded: predictions matched to, or lying inside, ignored GT.
        matched: detection true positives (matches to non-ignored GT).
        matched_exact: matches whose texts are equal.
        matched_normalized: matches whose normalized texts are equal.
        edit_distance: summed Levenshtein distance over the matches.
        gt_chars: summed GT text length over the matches.
        edit_distance_normalized, gt_chars_normalized: the same on normalized texts.
        images: images counted.
        images_without_predictions: GT images the predictions did not mention.
    """

    gt: int = 0
    gt_ignored: int = 0
    pred: int = 0
    pred_discarded: int = 0
    matched: int = 0
    matched_exact: int = 0
    matched_normalized: int = 0
    edit_distance: int = 0
    gt_chars: int = 0
    edit_distance_normalized: int = 0
    gt_chars_normalized: int = 0
    images: int = 0
    images_without_predictions: int = 0

    def __add__(self, other: MatchCounts) -> MatchCounts:
        return MatchCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                              for f in fields(self)})

    @property
    def missed(self) -> int:
        """Non-ignored GT items no prediction matched (detection false negatives)."""
        return self.gt - self.matched

    @property
    def false_positives(self) -> int:
        """Counted predictions that matched nothing (detection false positives)."""
        return self.pred - self.matched

    def to_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["missed"] = self.missed
        d["false_positives"] = self.false_positives
        return d

    # -- scores -------------------------------------------------------------
    def detection(self) -> dict[str, float]:
        return precision_recall_f(self.matched, self.gt, self.pred)

    def e2e_exact(self) -> dict[str, float]:
        return precision_recall_f(self.matched_exact, self.gt, self.pred)

    def e2e_normalized(self) -> dict[str, float]:
        return precision_recall_f(self.matched_normalized, self.gt, self.pred)

    def cer(self) -> float | None:
        return self.edit_distance / self.gt_chars if self.gt_chars else None

    def cer_normalized(self) -> float | None:
        return (self.edit_distance_normalized / self.gt_chars_normalized
                if self.gt_chars_normalized else None)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready scores and counts (the body of :meth:`EvaluationResult.to_dict`)."""
        return {"detection": self.detection(), "e2e_exact": self.e2e_exact(),
                "e2e_normalized": self.e2e_normalized(), "cer": self.cer(),
                "cer_normalized": self.cer_normalized(), "counts": self.to_dict()}


@dataclass
class ImageResult:
    """What happened on one image.

    Attributes:
        file: the GT image's ``file``.
        doc: the GT record's ``doc`` (or None).
        counts: this image's :class:`MatchCounts`.
        matches: ``(gt_index, pred_index, iou)`` of the detection true positives,
            indices into the image's GT and predicted items (words or lines).
        exact, normalized: per match, whether the texts agree.
        missed: indices of non-ignored GT items left unmatched.
        false_positives: indices of counted predictions left unmatched.
        discarded: indices of predictions discarded by the ignore rule.
        has_predictions: False when the predictions did not mention this image.
    """

    file: str
    doc: str | None
    counts: MatchCounts
    matches: list[tuple[int, int, float]] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)
    normalized: list[bool] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    false_positives: list[int] = field(default_factory=list)
    discarded: list[int] = field(default_factory=list)
    has_predictions: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = {"file": self.file}
        if self.doc is not None:
            d["doc"] = self.doc
        d.update(self.counts.summary())
        d["matches"] = [{"gt": g, "pred": p, "iou": iou, "exact": e, "normalized": n}
                        for (g, p, iou), e, n in zip(self.matches, self.exact, self.normalized)]
        d["missed"] = list(self.missed)
        d["false_positives"] = list(self.false_positives)
        d["discarded"] = list(self.discarded)
        d["has_predictions"] = self.has_predictions
        return d


def _fmt(v: float | None) -> str:
    return "   n/a" if v is None else f"{v:6.4f}"


@dataclass
class EvaluationResult:
    """Scores of a prediction set against a GT set.

    Attributes:
        images: one :class:`ImageResult` per GT image, in GT order.
        level: ``"words"`` or ``"lines"``.
        iou_threshold: the matching threshold used.
        unknown_predictions: prediction ``file`` names that match no GT image.
    """

    images: list[ImageResult]
    level: str = "words"
    iou_threshold: float = 0.5
    unknown_predictions: list[str] = field(default_factory=list)

    @property
    def totals(self) -> MatchCounts:
        """Counts summed over all images (micro average)."""
        total = MatchCounts()
        for im in self.images:
            total = total + im.counts
        return total

    def detection(self) -> dict[str, float]:
        return self.totals.detection()

    def e2e_exact(self) -> dict[str, float]:
        return self.totals.e2e_exact()

    def e2e_normalized(self) -> dict[str, float]:
        return self.totals.e2e_normalized()

    def cer(self) -> float | None:
        return self.totals.cer()

    def has_docs(self) -> bool:
        return any(im.doc is not None for im in self.images)

    def by_doc(self) -> dict[str | None, EvaluationResult]:
        """One result per document (``doc`` of the GT records), in first-seen order.

        Images without a ``doc`` are grouped under ``None``.
        """
        groups: dict[str | None, list[ImageResult]] = {}
        for im in self.images:
            groups.setdefault(im.doc, []).append(im)
        return {doc: EvaluationResult(images=ims, level=self.level,
                                      iou_threshold=self.iou_threshold)
                for doc, ims in groups.items()}

    def to_dict(self, per_image: bool = False) -> dict[str, Any]:
        """JSON-ready: ``detection``/``e2e_exact``/``e2e_normalized`` each
        ``{precision, recall, f}``, ``cer``, ``cer_normalized``, ``counts``, and
        ``by_doc`` (same shape per document; images without a doc under
        ``"<no doc>"``) when any record carries a ``doc``; ``per_image`` on request.
        """
        d: dict[str, Any] = {"level": self.level, "iou_threshold": self.iou_threshold}
        d.update(self.totals.summary())
        d["unknown_predictions"] = list(self.unknown_predictions)
        if self.has_docs():
            d["by_doc"] = {("<no doc>" if doc is None else doc): r.totals.summary()
                           for doc, r in self.by_doc().items()}
        if per_image:
            d["per_image"] = [im.to_dict() for im in self.images]
        return d

    def __str__(self) -> str:
        t = self.totals
        rows = [f"Evaluation ({self.level}, IoU >= {self.iou_threshold:g}) over {t.images} "
                f"image(s)" + (f", {t.images_without_predictions} without predictions"
                               if t.images_without_predictions else ""),
                f"{'':16s} {'precision':>9s} {'recall':>9s} {'f':>9s}"]
        for name, s in (("detection", t.detection()), ("e2e exact", t.e2e_exact()),
                        ("e2e normalized", t.e2e_normalized())):
            rows.append(f"{name:16s} {s['precision']:9.4f} {s['recall']:9.4f} {s['f']:9.4f}")
        rows.append(f"CER (matched)    {_fmt(t.cer())}   normalized {_fmt(t.cer_normalized())}")
        rows.append(f"counts: gt {t.gt} (+{t.gt_ignored} ignored), pred {t.pred} "
                    f"(+{t.pred_discarded} discarded), matched {t.matched}, "
                    f"exact {t.matched_exact}, normalized {t.matched_normalized}")
        if self.has_docs():
            rows.append("")
            rows.append(f"{'document':24s} {'images':>6s} {'det f':>7s} {'e2e f':>7s} "
                        f"{'norm f':>7s} {'cer':>7s}")
            for doc, r in self.by_doc().items():
                c = r.totals
                name = "<no doc>" if doc is None else doc
                name = name if len(name) <= 24 else name[:21] + "..."
                rows.append(f"{name:24s} {c.images:6d} {c.detection()['f']:7.4f} "
                            f"{c.e2e_exact()['f']:7.4f} {c.e2e_normalized()['f']:7.4f} "
                            f"{_fmt(c.cer()):>7s}")
        if self.unknown_predictions:
            rows.append(f"{len(self.unknown_predictions)} prediction image(s) match no GT image")
        return "\n".join(rows)


# ---------------------------------------------------------------------------
# Scoring one image
# ---------------------------------------------------------------------------

def evaluate_image(gt_items: Sequence[Word | Line], pred_items: Sequence[Word | Line],
                   iou_threshold: float = 0.5, file: str = "", doc: str | None = None,
                   has_predictions: bool = True) -> ImageResult:
    """Scores the predicted items (words or lines) of one image against its GT items.

    Only ``box`` and ``text`` of the predictions are read (their ``ignore`` is
    not); ``box``, ``text`` and ``ignore`` of the GT.
    """
    gt_boxes = as_boxes([g.box for g in gt_items])
    pred_boxes = as_boxes([p.box for p in pred_items])
    ignored = np.asarray([bool(g.ignore) for g in gt_items], bool)
    matches = greedy_match(pairwise_iou(gt_boxes, pred_boxes), iou_threshold)

    discarded = np.zeros(len(pred_items), bool)
    true_matches, matched_pred = [], np.zeros(len(pred_items), bool)
    for g, p, iou in matches:
        matched_pred[p] = True
        if ignored[g]:
            discarded[p] = True
        else:
            true_matches.append((g, p, iou))
    if ignored.any() and len(pred_items):
        inside = pairwise_ioa(pred_boxes, gt_boxes[ignored])
        discarded |= ~matched_pred & (inside.max(axis=1) > 0.5)

    counts = MatchCounts(gt=int((~ignored).sum()), gt_ignored=int(ignored.sum()),
                         pred=int(len(pred_items) - discarded.sum()),
                         pred_discarded=int(discarded.sum()), matched=len(true_matches),
                         images=1, images_without_predictions=int(not has_predictions))
    exact, normalized = [], []
    for g, p, _ in true_matches:
        gt_text, pred_text = gt_items[g].text, pred_items[p].text
        gt_norm, pred_norm = normalize_text(gt_text), normalize_text(pred_text)
        exact.append(gt_text == pred_text)
        normalized.append(gt_norm == pred_norm)
        counts.edit_distance += levenshtein(gt_text, pred_text)
        counts.gt_chars += len(gt_text)
        counts.edit_distance_normalized += levenshtein(gt_norm, pred_norm)
        counts.gt_chars_normalized += len(gt_norm)
    counts.matched_exact = sum(exact)
    counts.matched_normalized = sum(normalized)

    matched_gt = {g for g, _, _ in true_matches}
    matched_p = {p for _, p, _ in true_matches}
    return ImageResult(
        file=file, doc=doc, counts=counts, matches=true_matches, exact=exact,
        normalized=normalized,
        missed=[i for i in range(len(gt_items)) if not ignored[i] and i not in matched_gt],
        false_positives=[i for i in range(len(pred_items))
                         if not discarded[i] and i not in matched_p],
        discarded=[int(i) for i in np.flatnonzero(discarded)],
        has_predictions=has_predictions)


# ---------------------------------------------------------------------------
# Prediction files
# ---------------------------------------------------------------------------

def _is_number(v) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer too large for a float (hundreds of digits)
        return False


def _plain(v) -> int | float:
    f = float(v)
    return int(f) if f.is_integer() else f


class _PredictionParser:
    """Decoded prediction JSON -> records, raising :class:`AnnotationError`."""

    def __init__(self, source):
        self.source = source

    def fail(self, message, image=None, item=None, field_name=None):
        raise AnnotationError(message, self.source, image, item, field_name)

    def box(self, value, image, item):
        if isinstance(value, (list, tuple)) and any(
                isinstance(v, int) and not isinstance(v, bool) and not _is_number(v)
                for v in value):
            digits = max(len(str(abs(v))) for v in value if isinstance(v, int))
            self.fail(f"holds a number too large to use (a {digits}-digit integer)", image,
                      item, "box")
        if (not isinstance(value, (list, tuple)) or len(value) != 4
                or not all(_is_number(v) for v in value)):
            self.fail(f"must be a list of 4 finite numbers [x0, y0, x1, y1]; received {value!r}",
                      image, item, "box")
        x0, y0, x1, y1 = value
        if x1 <= x0 or y1 <= y0:
            self.fail(f"is degenerate (needs x1 > x0 and y1 > y0); received {list(value)!r}",
                      image, item, "box")
        return tuple(_plain(v) for v in value)

    def item(self, d, image, index, kind):
        item = f"{kind} {index}"
        if isinstance(d, (Word, Line)):
            return d
        if not isinstance(d, Mapping):
            self.fail(f"must be an object; received {d!r}", image, item)
        for key in ("box", "text"):
            if key not in d:
                self.fail("is missing", image, item, key)
        if not isinstance(d["text"], str):
            self.fail(f"must be a string; received {type(d['text']).__name__} {d['text']!r}",
                      image, item, "text")
        score = d.get("score")
        if score is not None and not _is_number(score):
            self.fail(f"must be a finite number; received {score!r}", image, item, "score")
        angle = d.get("angle")
        if angle is not None and not _is_number(angle):
            self.fail(f"must be a number (degrees); received {angle!r}", image, item, "angle")
        quad = d.get("quad")
        if quad is not None:
            ok = (isinstance(quad, (list, tuple)) and len(quad) == 4
                  and all(isinstance(p, (list, tuple)) and len(p) == 2
                          and all(_is_number(c) for c in p) for p in quad))
            if not ok:
                self.fail(f"must be four [x, y] corners; received {quad!r}", image, item, "quad")
            quad = [[_plain(x), _plain(y)] for x, y in quad]
        box = self.box(d["box"], image, item)
        extra = {k: v for k, v in d.items() if k not in ("box", "text", "angle", "quad")}
        if kind == "word":
            return Word(box=box, text=d["text"], quad=quad,
                        angle=None if angle is None else _plain(angle), extra=extra)
        return Line(box=box, text=d["text"], angle=0.0 if angle is None else _plain(angle),
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
        if not isinstance(d, Mapping):
            self.fail(f"images[{index}] must be an object; received {d!r}")
        name = d.get("file")
        if not isinstance(name, str) or not name:
            self.fail(f"images[{index}] needs a non-empty string 'file'; received {name!r}",
                      field_name="file")
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
                                  self.source, field_name="images")
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


def _prediction_records(predictions) -> list[ImageRecord]:
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


def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------
# Scoring a set
# ---------------------------------------------------------------------------

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


def evaluate(gt: AnnotationSet | Sequence[ImageRecord] | str | os.PathLike,
             predictions: AnnotationSet | Mapping | Sequence[ImageRecord] | str | os.PathLike,
             iou_threshold: float = 0.5, level: str = "words",
             warn_unknown: bool = True) -> EvaluationResult:
    """Scores predictions against ground truth with the protocol of this module.

    Args:
        gt: the ground truth: an :class:`AnnotationSet`, a list of
            :class:`ImageRecord`, or the path of an annotation file (loaded
            without opening the images).
        predictions: an :class:`AnnotationSet` (e.g. :func:`load_predictions`),
            decoded prediction JSON ``{"images": [...]}``, a mapping
            ``{file: [word dicts or Word]}``, a list of :class:`ImageRecord`,
            or the path of a prediction file.
        iou_threshold: least IoU of a match, in ``(0, 1]``.
        level: ``"words"`` scores ``words``; ``"lines"`` scores the GT's
            :meth:`ImageRecord.lines_or_grouped_words` against the predicted
            ``lines``.
        warn_unknown: warn when predictions name images absent from the GT.

    Returns:
        An :class:`EvaluationResult`.

    Raises:
        ValueError: a bad threshold or level, a prediction file name that fits
            two GT images, or two prediction entries for one GT image.
        AnnotationError: invalid prediction JSON.
    """
    if not _is_number(iou_threshold) or not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be a number in (0, 1]; received {iou_threshold!r}")
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}; received {level!r}")
    if isinstance(gt, (str, os.PathLike)):
        gt = AnnotationSet.load(gt, check_images=False)
    gt_records = list(gt.images if isinstance(gt, AnnotationSet) else gt)
    pred_records = _prediction_records(predictions)

    by_file: dict[str, int] = {}
    by_base: dict[str, list[int]] = {}
    for i, rec in enumerate(gt_records):
        by_file[rec.file] = i
        by_base.setdefault(_base_name(rec.file), []).append(i)

    assigned: dict[int, ImageRecord] = {}
    unknown: list[str] = []
    for rec in pred_records:
        if rec.file in by_file:
            i = by_file[rec.file]
        else:
            candidates = by_base.get(_base_name(rec.file), [])
            if not candidates:
                unknown.append(rec.file)
                continue
            if len(candidates) > 1:
                names = ", ".join(repr(gt_records[k].file) for k in candidates)
                raise ValueError(f"prediction file {rec.file!r} fits several ground-truth "
                                 f"images ({names}); name it by its path in the annotation file")
            i = candidates[0]
        if i in assigned:
            raise ValueError(f"ground-truth image {gt_records[i].file!r} has two prediction "
                             f"entries ({assigned[i].file!r} and {rec.file!r})")
        assigned[i] = rec

    if unknown and warn_unknown:
        sample = ", ".join(repr(n) for n in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        warnings.warn(f"{len(unknown)} prediction image(s) match no ground-truth image and "
                      f"are not scored: {sample}", stacklevel=2)

    results = []
    for i, rec in enumerate(gt_records):
        pred = assigned.get(i)
        if level == "words":
            gt_items, pred_items = rec.words, ([] if pred is None else pred.words)
        else:
            gt_items = rec.lines_or_grouped_words()
            pred_items = [] if pred is None else pred.lines
        results.append(evaluate_image(gt_items, pred_items, iou_threshold, file=rec.file,
                                      doc=rec.doc, has_predictions=pred is not None))
    return EvaluationResult(images=results, level=level, iou_threshold=float(iou_threshold),
                            unknown_predictions=unknown)
