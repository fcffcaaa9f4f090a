"""The evaluation protocol of ``docs/evaluation.md`` (ICDAR Robust Reading style).

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

This module scores (:func:`evaluate`, :func:`evaluate_image`) and re-exports
the parts, each in its own module: box IoU and greedy matching in
:mod:`~keras_textnet.evaluation.matching`, text normalization, edit distance
and CER in :mod:`~keras_textnet.evaluation.text_metrics`, the counts and
reports in :mod:`~keras_textnet.evaluation.results`, prediction files and
the GT box swap in :mod:`~keras_textnet.evaluation.records`.

>>> gt = AnnotationSet.load("test/labels.json", check_images=False)  # doctest: +SKIP
>>> result = evaluate(gt, load_predictions("predictions.json"))       # doctest: +SKIP
>>> result.to_dict()["e2e_normalized"]["f"]                          # doctest: +SKIP
0.87
>>> print(result)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line, Word, _is_number
from keras_textnet.evaluation.matching import as_boxes, greedy_match, pairwise_ioa, pairwise_iou
from keras_textnet.evaluation.records import (
    load_predictions,
    prediction_records,
    predictions_from_json,
    with_box_key,
)
from keras_textnet.evaluation.results import (
    EvaluationResult,
    ImageResult,
    MatchCounts,
    precision_recall_f,
)
from keras_textnet.evaluation.text_metrics import (
    STRIP_CHARACTERS,
    compare_texts,
    levenshtein,
    normalize_text,
)

_LEVELS = ("words", "lines")


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
        texts = compare_texts(gt_items[g].text, pred_items[p].text)
        exact.append(texts.exact)
        normalized.append(texts.normalized)
        counts.edit_distance += texts.edits
        counts.gt_chars += texts.chars
        counts.edit_distance_normalized += texts.edits_normalized
        counts.gt_chars_normalized += texts.chars_normalized
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
# Scoring a set
# ---------------------------------------------------------------------------

def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


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
    pred_records = prediction_records(predictions)

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



__all__ = [
    "STRIP_CHARACTERS",
    "EvaluationResult",
    "ImageResult",
    "MatchCounts",
    "evaluate",
    "evaluate_image",
    "greedy_match",
    "levenshtein",
    "load_predictions",
    "normalize_text",
    "pairwise_iou",
    "precision_recall_f",
    "predictions_from_json",
    "with_box_key",
]
