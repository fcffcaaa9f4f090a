"""The words of a language that fit a charset, and text made to fit a charset."""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

from keras_textnet.charset import CharsetError

# Characters NFKD does not reduce to ASCII, by hand. Used only for characters
# the charset lacks.
_TRANSLITERATIONS = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
    "ı": "i", "ħ": "h", "Ħ": "H", "ŀ": "l", "Ŀ": "L",
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201b": "'", "\u201c": '"', "\u201d": '"',
    "\u201e": '"', "\u2032": "'", "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2039": "'", "\u203a": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
    "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2026": "...", "\u2022": "-", "\u00b7": ".",
    "\u00d7": "x", "\u00f7": "/", "\u20ac": "EUR", "\u00a3": "GBP", "\u00a5": "JPY",
    "\u00a9": "(c)", "\u00ae": "(R)", "\u2122": "TM", "\u00b0": "deg", "\u00a0": " ",
    "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4", "\u00b5": "u", "\u2116": "No.",
    "\u00a7": "S", "\u00b6": "P", "\u00bf": "?", "\u00a1": "!",
}

_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# Profanity and slurs of the English list, left out so that sample pages can
# be shown to anyone; they are not needed to learn letter shapes.
_UNPRESENTABLE = re.compile(
    r"(fuck|shit|bitch|cunt|nigg|whore|slut|porn|fag|dildo|blowjob|jerkoff|motherf).*"
    r"|pussy|pussies|dick|dicks|dickhead|cock|cocks|asshole|assholes|retard|retarded|tits"
    r"|titties|boobs|rape|raped|rapist|bastard|bastards|wank|wanker|twat|prick|horny|cum")


@functools.lru_cache(maxsize=8)
def vocabulary(lang: str, size: int, chars: frozenset, normalize: str):
    """Words (most frequent first) that fit ``chars``, and Zipf cumulative weights."""
    from wordfreq import available_languages, top_n_list

    if lang not in available_languages():
        lang = "en"
    words, seen = [], set()
    for w in top_n_list(lang, size):
        if (not _WORD_RE.fullmatch(w) or (len(w) == 1 and w not in "ai")
                or _UNPRESENTABLE.fullmatch(w)):
            continue
        w = transliterate(unicodedata.normalize(normalize, w), chars, normalize)
        if lang == "en" and (w == "i" or w.startswith("i'")):
            w = "I" + w[1:]
        if not w or " " in w or w in seen:
            continue
        seen.add(w)
        words.append(w)
    if not words:
        raise CharsetError(f"No word of the {lang!r} word list fits the charset's characters.")
    weights = (np.arange(1, len(words) + 1, dtype=np.float64) + 2.7) ** -0.9
    return tuple(words), np.cumsum(weights).tolist()


def transliterate(text: str, chars: frozenset, normalize: str = "NFC") -> str:
    """``text`` with characters outside ``chars`` replaced, stripped of accents, or dropped."""
    text = unicodedata.normalize(normalize, text)
    out = []
    for c in text:
        if c in chars:
            out.append(c)
            continue
        rep = _TRANSLITERATIONS.get(c)
        if rep is not None and chars.issuperset(rep):
            out.append(rep)
            continue
        if c.isspace():
            out.append(" " if " " in chars else "")
            continue
        out.extend(d for d in unicodedata.normalize("NFKD", c) if d in chars)
    return "".join(out)
