"""Box overlap and one-to-one matching in NumPy: the one IoU outside the graph.

Boxes are ``(x0, y0, x1, y1)`` in image pixels, ``x1``/``y1`` exclusive, as in
the annotation and prediction files. Area, intersection, IoU and IoA do not
change when both box sets swap their axes, so the model's ``(y0, x0, y1, x1)``
boxes may be given as they are (:mod:`keras_textnet.export.parity` does);
only the two arguments must share one order. Inverted boxes have area 0.

The graph's own IoU (anchors, proposals, target assignment) is
:func:`keras_textnet.ops.box_ops.pairwise_iou`, in TensorFlow; this module
is for NumPy code (evaluation, export parity) and needs no TensorFlow.

>>> pairwise_iou([[0, 0, 10, 10]], [[0, 0, 10, 5], [0, 0, 10, 10]]).tolist()
[[0.5, 1.0]]
>>> greedy_match(np.array([[0.9, 0.6], [0.7, 0.2]]))
[(0, 0, 0.9)]
"""

from __future__ import annotations

import numpy as np

#: Slack under the matching threshold: an IoU of exactly one half, computed in
#: floating point, still counts as ``>= 0.5``.
IOU_TOLERANCE = 1e-9


def as_boxes(boxes) -> np.ndarray:
    """``(N, 4)`` float64 boxes from any nested sequence or array (``(0, 4)`` when empty)."""
    return np.asarray(boxes, np.float64).reshape(-1, 4)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """``(N,)`` areas of ``(N, 4)`` boxes; inverted boxes have area 0."""
    return (np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
            * np.clip(boxes[:, 3] - boxes[:, 1], 0, None))


def pairwise_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` intersection areas of ``(N, 4)`` and ``(M, 4)`` boxes."""
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def pairwise_iou(a, b) -> np.ndarray:
    """``(len(a), len(b))`` IoU of two box sets (0 where a union is empty)."""
    a, b = as_boxes(a), as_boxes(b)
    inter = pairwise_intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def pairwise_ioa(a, b) -> np.ndarray:
    """``(len(a), len(b))`` share of each ``a`` box covered by each ``b`` box (0: empty ``a``)."""
    a, b = as_boxes(a), as_boxes(b)
    inter = pairwise_intersection(a, b)
    area = box_area(a)[:, None]
    return np.divide(inter, area, out=np.zeros_like(inter), where=area > 0)


def greedy_match(iou: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(gt_index, pred_index, iou)``, greedy by decreasing IoU.

    Args:
        iou: ``(num_gt, num_pred)``.
        threshold: the least IoU of a match (compared with :data:`IOU_TOLERANCE`).

    Pairs with equal IoU are taken in order of GT index, then prediction index.
    """
    iou = np.asarray(iou, np.float64)
    gi, pi = np.nonzero(iou >= threshold - IOU_TOLERANCE)
    if gi.size == 0:
        return []
    values = iou[gi, pi]
    order = np.lexsort((pi, gi, -values))
    used_g, used_p, out = set(), set(), []
    for k in order:
        g, p = int(gi[k]), int(pi[k])
        if g in used_g or p in used_p:
            continue
        used_g.add(g)
        used_p.add(p)
        out.append((g, p, float(values[k])))
    return out


__all__ = ["IOU_TOLERANCE", "as_boxes", "box_area", "greedy_match", "pairwise_intersection",
           "pairwise_ioa", "pairwise_iou"]
