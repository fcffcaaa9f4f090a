"""Comparing texts: the one edit distance of the library, and the normalized text.

The end-to-end scores of :mod:`keras_textnet.evaluation.protocol` compare a
predicted text with its ground truth as it is (``e2e_exact``) and after
:func:`normalize_text` (``e2e_normalized``); the character error rate sums
:func:`levenshtein` distances. Pure Python: nothing here needs NumPy or
TensorFlow.

>>> levenshtein("kitten", "sitting")
3
>>> normalize_text(' "Hello," ') == normalize_text("hello")
True
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Characters removed from both ends of a text by :func:`normalize_text`
#: (the ICDAR end-to-end set, plus ``;``, brackets, dashes and typographic quotes).
#: Symbols that carry meaning (``$ % # & @ + =``) are kept.
STRIP_CHARACTERS = ("!?.:,;*\"'()[]{}<>/\\-"
                    "\u2013\u2014\u00b7\u00ab\u00bb\u2018\u2019\u201c\u201d\u201e\u2026")



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


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1).

    Hyyrö's bit-parallel form of Myers' algorithm: one pass over ``a`` with the
    columns of the dynamic programme for ``b`` packed into a Python integer, so
    it is linear in ``len(a)`` for any length of ``b``.

    >>> levenshtein("kitten", "sitting")
    3
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask = (1 << m) - 1
    last = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def character_error_rate(edits: int, chars: int) -> float | None:
    """Summed edit distance over summed ground-truth characters; None with no character."""
    return edits / chars if chars else None


@dataclass(frozen=True)
class TextComparison:
    """A ground-truth text against the text read for it (one matched word or line).

    Attributes:
        exact: the strings are equal (case-sensitive).
        normalized: their :func:`normalize_text` forms are equal.
        edits, chars: :func:`levenshtein` distance and ground-truth length.
        edits_normalized, chars_normalized: the same on the normalized forms.
    """

    exact: bool
    normalized: bool
    edits: int
    chars: int
    edits_normalized: int
    chars_normalized: int


def compare_texts(truth: str, prediction: str) -> TextComparison:
    """How the text read for a matched item compares with its ground truth.

    >>> compare_texts("Invoice:", "invoice")
    TextComparison(exact=False, normalized=True, edits=2, chars=8, edits_normalized=0, \
chars_normalized=7)
    """
    truth_norm, prediction_norm = normalize_text(truth), normalize_text(prediction)
    return TextComparison(exact=truth == prediction, normalized=truth_norm == prediction_norm,
                          edits=levenshtein(truth, prediction), chars=len(truth),
                          edits_normalized=levenshtein(truth_norm, prediction_norm),
                          chars_normalized=len(truth_norm))


__all__ = ["STRIP_CHARACTERS", "TextComparison", "character_error_rate", "compare_texts",
           "levenshtein", "normalize_text"]
