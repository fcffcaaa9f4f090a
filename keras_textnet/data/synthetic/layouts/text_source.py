"""The text a layout writes: a thin adapter over ``TextSampler``.

Layouts ask :class:`TextSource` for kinds of text (a sentence, an amount, an address).
It forwards to the project's ``TextSampler`` (``data/synthetic/text/``) and keeps every
string inside the charset. Where the sampler lacks a method, a small built-in
fallback answers, so layouts never depend on the sampler's exact feature set.
"""

from __future__ import annotations

import functools
import string

import numpy as np


@functools.lru_cache(maxsize=1)
def _fallback_words() -> tuple[str, ...]:
    try:
        from wordfreq import top_n_list
        words = [w for w in top_n_list("en", 8000) if w.isascii() and w.isalpha()]
    except ImportError:  # pragma: no cover - wordfreq is a dependency
        words = []
    if len(words) < 100:
        words = ("the of and to in is that for it as was with be by on not he this are or "
                 "his from at which but have an they you were her she there been one all "
                 "would their we him when who will more no if out so said what up its about "
                 "into than them can only other new some could time these two may then do "
                 "first any my now such like our over man me even most made after also did "
                 "many before must through back years where much your way well down should "
                 "because each just those people how too little state good very make world "
                 "still own see men work long get here between both life being under never "
                 "day same another know while last might us great old year off come since "
                 "against go came right used take three").split()
    return tuple(words)


class TextSource:
    """Text for layouts, drawn from ``sampler`` with the page's generator.

    Args:
        sampler: a ``TextSampler`` (or anything with some of its methods), or None.
        charset: the :class:`~keras_textnet.charset.Charset`; characters outside it are
            removed from what the fallbacks produce (the sampler is given it too).
        rng: the page's generator.
    """

    def __init__(self, sampler, charset, rng: np.random.Generator):
        self.sampler = sampler
        self.charset = charset
        self.rng = rng

    def _call(self, name, *args, **kwargs):
        fn = getattr(self.sampler, name, None) if self.sampler is not None else None
        if fn is None:
            return None
        return fn(self.rng, *args, **kwargs)

    def _clean(self, text: str) -> str:
        if self.charset is None:
            return text
        if self.charset.can_encode(text):
            return text
        return "".join(c for c in text if c in self.charset)

    # -- words and prose -----------------------------------------------------
    def word(self) -> str:
        out = self._call("word")
        if out is None:
            ws = _fallback_words()
            out = ws[int(self.rng.integers(len(ws)))]
        return self._clean(out)

    def sentence(self, min_words: int = 4, max_words: int = 16) -> str:
        out = self._call("sentence", min_words, max_words)
        if out is None:
            n = int(self.rng.integers(min_words, max_words + 1))
            ws = [self.word() for _ in range(n)]
            ws[0] = ws[0].capitalize()
            out = " ".join(ws) + self.rng.choice([".", ".", ".", "?", "!", ";"])
        return self._clean(out)

    def paragraph(self, min_sentences: int = 2, max_sentences: int = 6) -> str:
        out = self._call("paragraph", min_sentences, max_sentences)
        if out is None:
            n = int(self.rng.integers(min_sentences, max_sentences + 1))
            out = " ".join(self.sentence(5, 22) for _ in range(n))
        return self._clean(out)

    def code_block(self, min_lines: int = 3, max_lines: int = 12) -> list[tuple[int, str]]:
        """``[(indent in characters, text)]`` lines of one language."""
        out = self._call("code_block", min_lines, max_lines)
        if out is None:
            n = int(self.rng.integers(min_lines, max_lines + 1))
            out = [(4 * int(self.rng.integers(0, 3)), self.code_line()) for _ in range(n)]
        return [(int(i), self._clean(t)) for i, t in out]

    def percent(self) -> str:
        return self._value("percent", lambda: f"{self.rng.uniform(0, 100):.1f}%")

    def heading(self) -> str:
        out = self._call("heading")
        if out is None:
            n = int(self.rng.integers(1, 6))
            out = " ".join(self.word().capitalize() for _ in range(n))
        return self._clean(out)

    def title(self, max_words: int = 9) -> str:
        t = self.heading()
        ws = t.split()
        return " ".join(ws[:max_words]) if ws else "Report"

    def form_label(self) -> str:
        out = self._call("form_label")
        if out is None:
            out = " ".join(self.word().capitalize() for _ in range(int(self.rng.integers(1, 4))))
        return self._clean(out)

    # -- values --------------------------------------------------------------
    def _value(self, name: str, fallback) -> str:
        out = self._call(name)
        if out is None:
            out = fallback()
        return self._clean(str(out))

    def number(self) -> str:
        return self._value("number", lambda: str(int(self.rng.integers(0, 10000))))

    def amount(self) -> str:
        return self._value("amount", lambda: f"{self.rng.uniform(0, 5000):,.2f}")

    def date(self) -> str:
        def fb():
            return (f"{int(self.rng.integers(1, 13)):02d}/{int(self.rng.integers(1, 29)):02d}/"
                    f"{int(self.rng.integers(1990, 2031))}")
        return self._value("date", fb)

    def time(self) -> str:
        return self._value("time", lambda: f"{int(self.rng.integers(0, 24)):02d}:"
                                           f"{int(self.rng.integers(0, 60)):02d}")

    def identifier(self) -> str:
        def fb():
            letters = "".join(self.rng.choice(list(string.ascii_uppercase), 3))
            return f"{letters}-{int(self.rng.integers(1000, 99999))}"
        return self._value("identifier", fb)

    def email(self) -> str:
        return self._value("email", lambda: f"{self.word()}.{self.word()}@example.com")

    def url(self) -> str:
        return self._value("url", lambda: f"www.{self.word()}{self.word()}.com")

    def phone(self) -> str:
        def fb():
            d = self.rng.integers(0, 10, 10)
            return f"({d[0]+2}{d[1]}{d[2]}) {d[3]}{d[4]}{d[5]}-{d[6]}{d[7]}{d[8]}{d[9]}"
        return self._value("phone", fb)

    def person_name(self) -> str:
        return self._value("person_name",
                           lambda: f"{self.word().capitalize()} {self.word().capitalize()}")

    def company(self) -> str:
        return self._value("company", lambda: f"{self.word().capitalize()} "
                                              f"{self.rng.choice(['Inc.', 'LLC', 'Ltd', 'Corp.'])}")

    def product(self) -> str:
        return self._value("product", lambda: " ".join(
            self.word().capitalize() for _ in range(int(self.rng.integers(1, 4)))))

    def address_lines(self) -> list[str]:
        out = self._call("address_lines")
        if out is None:
            out = [f"{int(self.rng.integers(1, 9999))} {self.word().capitalize()} Street",
                   f"{self.word().capitalize()}, NY {int(self.rng.integers(10000, 99999))}"]
        return [self._clean(s) for s in out if s]

    def code_line(self) -> str:
        out = self._call("code_line")
        if out is None:
            out = f"{self.word()} = {self.word()}({self.word()}, {int(self.rng.integers(0, 99))})"
        return self._clean(out)

    def cell(self, kind: str) -> str:
        out = self._call("cell", kind)
        if out is None:
            out = {"number": self.number, "amount": self.amount, "date": self.date,
                   "id": self.identifier, "name": self.person_name,
                   "percent": lambda: f"{self.rng.uniform(0, 100):.1f}%",
                   "code": self.identifier}.get(kind, lambda: self.sentence(1, 3).rstrip("."))()
        return self._clean(str(out))
