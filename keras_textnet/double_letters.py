"""Doubled letters that CTC decoding merged, restored where English makes it certain.

CTC writes a letter twice only when a blank separates the two: in small type a
recognizer step spans about a quarter of the line's height, and two narrow
letters side by side (``tt``, ``ll``, ``ff``, ``ss``) often leave no step for
the blank. The shipped model read "curent", "atribute", "diferent" and
"procesor" on our real validation pages (~0.5% of the words; "Typeseting" too,
which this leaves: "typesetting" is rarer than :data:`MIN_ZIPF`).

A word (its letters, with any punctuation around them) is given a letter
twice when that makes a common English word of a rare one: the best such
doubling has a Zipf frequency (``wordfreq``) of at least :data:`MIN_ZIPF` and
at least :data:`MIN_GAIN` above the word as read. Only doublings are tried, so
identifiers stay as read (``nrow``, ``strlen``, ``ctan``, ``nauty`` and 120
other names of code and TeX macros checked). Case is kept: the added letter
copies the one it doubles.

>>> restore_double_letters("the curent atribute")
'the current attribute'
>>> restore_double_letters("nrow ncol strlen")
'nrow ncol strlen'
"""

from __future__ import annotations

import functools
import re

import numpy as np

#: The doubled word must be at least this common (Zipf scale: 3 is once per
#: million words, 6 once per thousand).
MIN_ZIPF = 3.0
#: ... and this much more common than the word as read.
MIN_GAIN = 2.5
#: Shorter runs of letters are left alone.
MIN_LETTERS = 3

_WORD = re.compile(r"^([^A-Za-z]*)([A-Za-z]+)([^A-Za-z]*)$")


@functools.lru_cache(maxsize=1)
def _zipf():
    from wordfreq import zipf_frequency

    return functools.lru_cache(maxsize=65536)(lambda word: zipf_frequency(word, "en"))


def _doubled_at(letters: str) -> int | None:
    """Index of the letter to write twice in ``letters``, or None."""
    if len(letters) < MIN_LETTERS:
        return None
    zipf = _zipf()
    low = letters.lower()
    best, best_z = None, 0.0
    for i in range(len(low)):
        if i + 1 < len(low) and low[i + 1] == low[i]:
            continue                      # already doubled here: the same word again
        z = zipf(low[:i + 1] + low[i:])
        if z > best_z:
            best, best_z = i, z
    if best is None or best_z < MIN_ZIPF or best_z - zipf(low) < MIN_GAIN:
        return None
    return best


def rewrite_tokens(text: str, positions, rewrite):
    """``text`` with each space-separated token replaced by ``rewrite(token, columns)``.

    ``rewrite`` returns ``(token, columns)``: the token's new text and, when
    ``positions`` (one CTC column per character) is given, its columns
    (``columns`` is None otherwise). Returns the text, or ``(text, positions)``
    with positions; the spaces keep their columns.
    """
    out, cols, start = [], [], 0
    positions = None if positions is None else np.asarray(positions)
    for token in text.split(" "):
        end = start + len(token)
        token, own = rewrite(token, None if positions is None else positions[start:end])
        out.append(token)
        if positions is not None:
            cols.append(own)
            if end < len(positions):
                cols.append(positions[end:end + 1])          # the space
        start = end + 1
    joined = " ".join(out)
    if positions is None:
        return joined
    return joined, (np.concatenate(cols) if cols else positions[:0])


def restore_double_letters(text: str, positions=None):
    """``text`` with the merged doubled letters of its words restored.

    With ``positions`` (one CTC column per character), returns ``(text,
    positions)``: each added letter takes the column of the letter it doubles.
    """
    def rewrite(token, columns):
        match = _WORD.match(token)
        index = None if match is None else _doubled_at(match.group(2))
        if index is None:
            return token, columns
        at = len(match.group(1)) + index
        token = token[:at + 1] + token[at] + token[at + 1:]
        return token, None if columns is None else np.insert(columns, at + 1, columns[at])

    return rewrite_tokens(text, positions, rewrite)


__all__ = ["MIN_GAIN", "MIN_LETTERS", "MIN_ZIPF", "restore_double_letters", "rewrite_tokens"]
