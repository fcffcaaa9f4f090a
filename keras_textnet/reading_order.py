"""Reading order of detected text lines: recursive XY-cut.

A region of the page is cut along its widest white band: a vertical band at
least ``min_column_gap`` wide (a column gutter: the pieces are read left to
right) or a horizontal band (the pieces are read top to bottom), whichever is
wider, at every band of nearly that width; each piece is cut again. A piece
without any band is read row by row (a row: lines overlapping vertically by
at least half the smaller height), left to right inside a row. So two columns
under a full-width title read as the title, the left column, the right
column, even when the columns' lines share baselines.

>>> boxes = [[300, 100, 500, 120], [10, 100, 200, 120], [10, 10, 500, 30]]
>>> reading_order(boxes)
[2, 1, 0]
"""

from __future__ import annotations

import numpy as np


def _bands(starts: np.ndarray, ends: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Positions grouped by the white gaps in the union of ``[start, end]`` intervals.

    Returns the groups (in order) and the widths of the gaps between them.
    """
    order = np.argsort(starts, kind="stable")
    groups, gaps, current, reach = [], [], [order[0]], ends[order[0]]
    for i in order[1:]:
        if starts[i] > reach:
            groups.append(current)
            gaps.append(starts[i] - reach)
            current = [i]
        else:
            current.append(i)
        reach = max(reach, ends[i])
    groups.append(current)
    return [np.array(g) for g in groups], np.array(gaps, dtype=np.float64)


def _merge(groups: list[np.ndarray], gaps: np.ndarray, keep) -> list[np.ndarray]:
    """Joins neighbouring groups whose gap is not kept."""
    merged = [groups[0]]
    for group, gap, k in zip(groups[1:], gaps, keep):
        if k:
            merged.append(group)
        else:
            merged[-1] = np.concatenate([merged[-1], group])
    return merged


def _rows(boxes: np.ndarray, idx: np.ndarray) -> list[int]:
    """Row by row (vertical overlap >= half the smaller height), left to right."""
    centres = (boxes[idx, 1] + boxes[idx, 3]) / 2
    rows: list[list[int]] = []
    for i in idx[np.argsort(centres, kind="stable")]:
        if rows:
            last = rows[-1]
            overlap = min(boxes[i, 3], boxes[last, 3].min()) - max(boxes[i, 1],
                                                                    boxes[last, 1].max())
            smaller = min(boxes[i, 3] - boxes[i, 1], (boxes[last, 3] - boxes[last, 1]).min())
            if overlap >= 0.5 * max(smaller, 1e-6):
                last.append(int(i))
                continue
        rows.append([int(i)])
    return [i for row in rows for i in sorted(row, key=lambda k: boxes[k, 0])]


def reading_order(boxes, min_column_gap: float | None = None) -> list[int]:
    """Indices of ``boxes`` in reading order (each exactly once).

    Args:
      boxes: ``(N, 4)`` line boxes ``[x0, y0, x1, y1]`` (image pixels).
      min_column_gap: narrowest vertical white band, in pixels, that
        separates columns; default 1.5 times the median line height (gaps
        between words are narrower, column gutters wider).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    column_gap = 1.5 * float(np.median(heights)) if min_column_gap is None else min_column_gap

    def cut(idx: np.ndarray, depth: int) -> list[int]:
        if len(idx) == 1:
            return [int(idx[0])]
        if depth > 200:  # pathological spacing: stop cutting
            return _rows(boxes, idx)
        rows, row_gaps = _bands(boxes[idx, 1], boxes[idx, 3])
        cols, col_gaps = _bands(boxes[idx, 0], boxes[idx, 2])
        widest_col = col_gaps.max() if col_gaps.size else 0.0
        widest_row = row_gaps.max() if row_gaps.size else 0.0
        if widest_col >= column_gap and widest_col > widest_row:
            pieces = _merge(cols, col_gaps, col_gaps >= max(column_gap, 0.8 * widest_col))
        elif row_gaps.size:
            pieces = _merge(rows, row_gaps, row_gaps >= 0.8 * widest_row)
        else:
            return _rows(boxes, idx)
        return [i for piece in pieces for i in cut(idx[piece], depth + 1)]

    return cut(np.arange(len(boxes)), 0)
