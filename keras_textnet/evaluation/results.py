"""What the evaluation protocol reports: counts, scores, and the results of a set.

:class:`MatchCounts` holds the counts of one image, or summed over many (the
micro average of :mod:`keras_textnet.evaluation.protocol`), and turns them into
precision, recall, F and CER; :class:`ImageResult` is one image's matches and
misses; :class:`EvaluationResult` is a whole set, per document too, as JSON
(:meth:`EvaluationResult.to_dict`) or as the printed report (``str()``).

Zero denominators: precision with no (counted) predictions, or recall with no
(non-ignored) GT, is 1.0 when the other side is empty too and 0.0 otherwise;
F is 0.0 when precision + recall is 0; a CER with no GT character is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from keras_textnet.evaluation.text_metrics import character_error_rate


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
        return character_error_rate(self.edit_distance, self.gt_chars)

    def cer_normalized(self) -> float | None:
        return character_error_rate(self.edit_distance_normalized, self.gt_chars_normalized)

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


__all__ = ["EvaluationResult", "ImageResult", "MatchCounts", "precision_recall_f"]
