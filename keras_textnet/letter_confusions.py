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
* replacing **one** letter by one it is confused with (:data:`CONFUSIONS`)
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

#: read letter -> the letters it may stand for
CONFUSIONS = {"e": "c", "c": "e", "n": "m", "m": "n", "r": "tn", "t": "fl", "f": "t",
              "l": "1ih", "1": "l", "i": "l", "I": "l", "u": "vn", "v": "u", "h": "b",
              "a": "o", "o": "a"}
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
    found = []
    for i, ch in enumerate(letters):
        for other in CONFUSIONS.get(ch, ""):
            candidate = letters[:i] + other + letters[i + 1:]
            z = zipf(candidate.lower())
            if z >= MIN_ZIPF:
                found.append((z, candidate))
    if not found:
        return letters
    found.sort(reverse=True)
    if len(found) > 1 and found[0][0] - found[1][0] < MIN_LEAD:
        return letters
    return found[0][1]


def correct_confusions(text: str) -> str:
    """``text`` with each word's confused letter put right (same length).

    Words are what spaces separate; one letter at most changes in each.
    """
    out = []
    for token in text.split(" "):
        match = _WORD.match(token)
        if match is not None and "\\" not in match.group(1):
            token = match.group(1) + _corrected(match.group(2)) + match.group(3)
        out.append(token)
    return " ".join(out)


__all__ = ["CONFUSIONS", "MIN_LEAD", "MIN_LETTERS", "MIN_ZIPF", "TECHNICAL_WORDS",
           "correct_confusions", "technical_words"]
