"""Letters the recognizer confuses (``e``/``c``, ``n``/``m``, ``l``/``1``), put right
where English makes it certain.

Small type leaves a letter a few pixels to tell ``e`` from ``c``, ``n`` from
``m`` or ``f`` from ``t``. The shipped model read "betwcen", "colunn", "nunber"
and "fioating" on our real validation pages. Its ten most frequent one-letter
misreads there were the math-italic ``x`` (which training addresses) and the
pairs of :data:`CONFUSIONS`, which are also the classic confusions of OCR.

A word (its letters, with any punctuation around them) is changed only when all
of this holds:

* it is not English as read (``wordfreq`` does not know it: Zipf frequency 0),
  and it is not a technical word of the documents our training pages come from
  (:func:`technical_words`: ``ctan``, ``setf``, ``grobs``);
* it has at least :data:`MIN_LETTERS` letters and no backslash before them
  (TeX macros stay as read);
* replacing **one** letter by one it is confused with (:data:`CONFUSIONS`),
  or taking out one thin letter the recognizer reads into noise (:data:`EXTRA_LETTERS`),
  or putting in one it drops (:data:`MISSING_LETTERS`; not in words of capitals),
  gives a common English word (Zipf at least :data:`MIN_ZIPF`), and no other
  such replacement comes within :data:`MIN_LEAD` of it.

Identifiers are thus left alone: ``nrow`` and ``strlen`` are not one confusion
away from a word, and those that are (``ctan`` -> ``clan``) are technical words.
With the technical words of half our 240 training PDFs, it changed 10 of the
70,753 words on the training pages of the other half, whose own words it did not
know (``midl`` -> ``midi`` five times, ``Cormen`` -> ``Carmen``, ``erates`` ->
``crates``, what is left of "op-erates" after a hyphen). On our real validation
pages word e2e F rose 0.8658 -> 0.8684 clean and 0.8183 -> 0.8240 degraded
(these pairs are the shipped model's frequent misreads there, so that gain is
optimistic).

>>> correct_confusions("the colunn betwcen them")
'the column between them'
>>> correct_confusions("nrow strlen \\\\fbox")
'nrow strlen \\\\fbox'
"""

from __future__ import annotations

import functools
import gzip
import re
from importlib import resources

import numpy as np

#: read letter -> the letters it may stand for
CONFUSIONS = {"e": "c", "c": "e", "n": "m", "m": "n", "r": "tn", "t": "fl", "f": "t",
              "l": "1ih", "1": "l", "i": "l", "I": "l", "u": "vn", "v": "u", "h": "b",
              "a": "o", "o": "a"}
#: Thin letters the recognizer reads into a word (``columins``, ``Coniference``: noise
#: between the strokes of an ``m`` or an ``n``) ...
EXTRA_LETTERS = "i"
#: ... and thin letters it drops (``fles``, ``confict``, ``Outine``): a word English
#: does not know is also tried without one of the first and with one of the second
#: more (not in words of capitals only: acronyms). On our real validation pages
#: this raised word e2e F 0.9145 -> 0.9152 clean and 0.8629 -> 0.8644 degraded; run on
#: those pages' own ground-truth words (14,226), the rules changed 3 (``isect`` -> ``sect``,
#: ``resolutioni/``, and the source's own typo ``eligble``).
MISSING_LETTERS = "il"
#: The corrected word must be at least this common (Zipf scale, as in
#: :mod:`keras_textnet.double_letters`).
MIN_ZIPF = 3.0
#: ... and at least this much more common than any other correction of the word.
MIN_LEAD = 0.5
#: Shorter runs of letters are left alone.
MIN_LETTERS = 4
#: The technical words, one per line, gzip: ``training/build_vocabulary.py``.
TECHNICAL_WORDS = "technical_words.txt.gz"

_WORD = re.compile(r"^([^A-Za-z]*)([A-Za-z1]*[A-Za-z][A-Za-z1]*)([^A-Za-z]*)$")


@functools.lru_cache(maxsize=1)
def technical_words() -> frozenset[str]:
    """Lower-case words of our training documents that English does not know.

    Built by ``training/build_vocabulary.py`` from the text layer of the PDFs of
    our training pages; shipped in ``keras_textnet/assets``.
    """
    path = resources.files("keras_textnet") / "assets" / TECHNICAL_WORDS
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


@functools.lru_cache(maxsize=1)
def _zipf():
    from wordfreq import zipf_frequency

    return functools.lru_cache(maxsize=65536)(lambda word: zipf_frequency(word, "en"))


@functools.lru_cache(maxsize=65536)
def _corrected(letters: str) -> str:
    if len(letters) < MIN_LETTERS:
        return letters
    zipf = _zipf()
    low = letters.lower()
    if zipf(low) > 0.0 or low in technical_words():
        return letters
    candidates = set()
    for i, ch in enumerate(letters):
        for other in CONFUSIONS.get(ch, ""):
            candidates.add(letters[:i] + other + letters[i + 1:])
    if letters.isalpha() and not letters.isupper():     # acronyms (AARM) stay as read
        for i, ch in enumerate(letters):
            if ch in EXTRA_LETTERS:
                candidates.add(letters[:i] + letters[i + 1:])
            for other in MISSING_LETTERS:
                if i > 0:
                    candidates.add(letters[:i] + other + letters[i:])
    found = [(z, c) for c in candidates if (z := zipf(c.lower())) >= MIN_ZIPF]
    if not found:
        return letters
    found.sort(reverse=True)
    if len(found) > 1 and found[0][0] - found[1][0] < MIN_LEAD:
        return letters
    return found[0][1]


def correct_confusions(text: str, positions=None):
    """``text`` with each word's confused, extra or missing letter put right.

    Words are what spaces separate; one letter at most changes in each. A word
    right after a digit (``1inear``: the ``1`` is read as punctuation around
    the letters) is left alone. With ``positions`` (one CTC column per
    character), returns ``(text, positions)``: a letter taken out takes its
    column along, a letter put in takes the column of the letter before it.
    """
    from keras_textnet.double_letters import rewrite_tokens

    def rewrite(token, columns):
        match = _WORD.match(token)
        if match is None or "\\" in match.group(1) or match.group(1)[-1:].isdigit():
            return token, columns
        letters = match.group(2)
        fixed = _corrected(letters)
        if fixed == letters:
            return token, columns
        token = match.group(1) + fixed + match.group(3)
        if columns is not None:
            columns = _moved_columns(columns, len(match.group(1)), letters, fixed)
        return token, columns

    return rewrite_tokens(text, positions, rewrite)


def _moved_columns(columns, offset: int, letters: str, fixed: str):
    """``columns`` of a token whose ``letters`` (from ``offset``) became ``fixed``."""
    if len(fixed) == len(letters):
        return columns
    i = next((k for k, (a, b) in enumerate(zip(letters, fixed)) if a != b), len(fixed))
    if len(fixed) < len(letters):                               # letter i taken out
        return np.delete(columns, offset + i)
    at = offset + i                                             # letter i put in
    return np.insert(columns, at, columns[max(at - 1, 0)])


__all__ = ["CONFUSIONS", "EXTRA_LETTERS", "MISSING_LETTERS", "MIN_LEAD", "MIN_LETTERS", "MIN_ZIPF",
           "TECHNICAL_WORDS", "correct_confusions", "technical_words"]
