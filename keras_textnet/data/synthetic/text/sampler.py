"""The text sampler: every kind of text, seeded from the page's generator, fit to a charset."""

from __future__ import annotations

import itertools
import random
import threading
from collections import OrderedDict

import numpy as np

from keras_textnet.charset import Charset, CharsetError
from keras_textnet.data.synthetic.text import code, contacts, prose
from keras_textnet.data.synthetic.text.kinds import CELL_KINDS, CELL_MAKERS, TEXT_KINDS
from keras_textnet.data.synthetic.text.numbers import CURRENCY_SYMBOLS
from keras_textnet.data.synthetic.text.vocabulary import transliterate, vocabulary
from keras_textnet.data.synthetic.text.words import word

_MAX_TRIES = 25  # redraws before deciding the charset cannot express a kind of text


class TextSampler:
    """Draws the text of synthetic documents; every string fits ``charset``.

    Every kind of :data:`~keras_textnet.data.synthetic.text.kinds.TEXT_KINDS` is a
    method ``kind(rng) -> str``, made from that table below the class:
    :meth:`word`, :meth:`heading`, :meth:`number`, :meth:`percent`,
    :meth:`amount`, :meth:`date`, :meth:`time`, :meth:`identifier`,
    :meth:`email`, :meth:`url`, :meth:`phone`, :meth:`person_name`,
    :meth:`company`, :meth:`form_label`, :meth:`code_line` and :meth:`product`.
    The methods with arguments, or that return several strings, are written
    out: :meth:`words`, :meth:`sentence`, :meth:`paragraph`,
    :meth:`address_lines`, :meth:`code_block`, :meth:`cell` and :meth:`fit`.

    Args:
        charset: the characters outputs may use; default ``Charset()``
            (printable ASCII plus space). Characters outside it are
            transliterated or dropped.
        locale: Faker locale for names, companies, addresses, phone numbers
            (e.g. ``"en_US"``, ``"de_DE"``); its language also picks the
            wordfreq word list (``"de"``), English when wordfreq lacks it.
        vocabulary_size: how many of the language's most frequent words to
            draw from. Words are drawn with Zipf-Mandelbrot weights
            ``(rank + 2.7) ** -0.9``: the 100 most common words make up about
            a quarter of running text and words ranked beyond 10,000 about a
            sixth.

    Raises:
        ValueError: for an unknown locale or a vocabulary size below 100.

    Thread safety: one sampler may be shared by threads (each thread gets its
    own Faker and ``random.Random``); the ``rng`` passed in must not be.

    The topic modules' makers read the sampler's ``_words`` and ``_cum`` (the
    vocabulary and its cumulative weights), ``_code_words``,
    ``_currency_symbols``, ``_fake`` (this thread's Faker) and ``locale``.

    Example:

    >>> import numpy as np
    >>> s = TextSampler()
    >>> rng = np.random.default_rng(3)
    >>> [len(s.word(rng)) > 0 for _ in range(3)]
    [True, True, True]
    >>> s.cell(rng, "amount") != ""
    True
    """

    def __init__(self, charset: Charset | None = None, locale: str = "en_US",
                 vocabulary_size: int = 30000):
        import faker.config

        if charset is None:
            charset = Charset()
        if not isinstance(charset, Charset):
            raise TypeError(f"charset must be a keras_textnet.charset.Charset; received "
                            f"{type(charset).__name__}.")
        if locale not in faker.config.AVAILABLE_LOCALES:
            raise ValueError(f"Unknown Faker locale {locale!r}; pick one of "
                             f"faker.config.AVAILABLE_LOCALES, e.g. 'en_US', 'en_GB', 'de_DE'.")
        if int(vocabulary_size) != vocabulary_size or vocabulary_size < 100:
            raise ValueError(f"vocabulary_size must be an integer >= 100; received "
                             f"{vocabulary_size!r}.")
        self.charset = charset
        self.locale = locale
        self.vocabulary_size = int(vocabulary_size)
        self._chars = frozenset(charset.characters)
        words, cum = vocabulary(locale.split("_")[0], self.vocabulary_size, self._chars,
                                charset.normalize_form)
        self._words, self._cum = words, cum
        self._code_words = tuple(w for w in words[:3000] if w.isalpha() and w.islower()
                                 and len(w) > 2) or ("value", "data", "item")
        self._currency_symbols = tuple(c for c in CURRENCY_SYMBOLS if c in self._chars)
        self._local = threading.local()

    def __repr__(self) -> str:
        return (f"TextSampler(charset={self.charset!r}, locale={self.locale!r}, "
                f"vocabulary_size={self.vocabulary_size})")

    # ---------------------------------------------------------------- public
    def words(self, rng: np.random.Generator, n: int) -> list[str]:
        """``n`` words as :meth:`word` draws them (one seed for all, cheaper)."""
        r = self._seeded(rng)
        return [self._finish(word(self, r), word, r) for _ in range(int(n))]

    def sentence(self, rng: np.random.Generator, min_words: int = 4,
                 max_words: int = 18) -> str:
        """A sentence: capitalized, with commas, parentheses, quotes, hyphens,
        numbers, now and then an e-mail, URL, amount or date; ends in ``.``,
        ``!``, ``?``, ``:`` or ``...``."""
        _check_range("min_words", min_words, "max_words", max_words, 1)
        return self._draw(rng, prose.sentence, int(min_words), int(max_words))

    def paragraph(self, rng: np.random.Generator, min_sentences: int = 2,
                  max_sentences: int = 6) -> str:
        """Sentences joined by single spaces."""
        _check_range("min_sentences", min_sentences, "max_sentences", max_sentences, 1)
        return self._draw(rng, prose.paragraph, int(min_sentences), int(max_sentences))

    def address_lines(self, rng: np.random.Generator) -> list[str]:
        """A postal address, one string per line (2 to 5 lines)."""
        r = self._seeded(rng)
        for _ in range(_MAX_TRIES):
            lines = [t for t in (self._fit(x) for x in contacts.address_lines(self, r)) if t]
            if lines:
                return lines
        raise self._cannot("address_lines")

    def code_block(self, rng: np.random.Generator, min_lines: int = 3,
                   max_lines: int = 12) -> list[tuple[int, str]]:
        """Consecutive lines of one language as ``(indent, text)`` pairs.

        ``indent`` is the indentation in character widths (spaces) that the
        renderer should leave before ``text``; ``text`` itself has no leading
        space.
        """
        _check_range("min_lines", min_lines, "max_lines", max_lines, 1)
        return code.code_block(self, self._seeded(rng), int(min_lines), int(max_lines))

    def cell(self, rng: np.random.Generator, kind: str) -> str:
        """A table cell of ``kind``, one of :data:`CELL_KINDS`.

        Raises:
            ValueError: for an unknown kind.
        """
        make = CELL_MAKERS.get(kind)
        if make is None:
            raise ValueError(f"Unknown cell kind {kind!r}; expected one of {CELL_KINDS}.")
        return self._draw(rng, make)

    def fit(self, text: str) -> str:
        """``text`` made encodable by the charset, spaces collapsed and stripped
        (may be ``""``). What every method applies to its output."""
        return self._fit(text)

    # ------------------------------------------------------------ machinery
    def _seeded(self, rng: np.random.Generator) -> random.Random:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(...)); "
                            f"received {type(rng).__name__}.")
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _thread_state(self.locale)
        r = state[0]
        r.seed(int(rng.integers(0, 2**63)))
        return r

    @property
    def _fake(self):
        return self._local.state[1]

    def _draw(self, rng, make, *args) -> str:
        r = self._seeded(rng)
        for _ in range(_MAX_TRIES):
            text = self._fit(make(self, r, *args))
            if text:
                return text
        raise self._cannot(getattr(make, "__name__", "text").lstrip("_"))

    def _finish(self, text: str, make, r) -> str:
        """Fits ``text``; redraws with ``make(self, r)`` while the result is empty."""
        for _ in range(_MAX_TRIES):
            text = self._fit(text)
            if text:
                return text
            text = make(self, r)
        raise self._cannot(getattr(make, "__name__", "text").lstrip("_"))

    def _cannot(self, what: str) -> CharsetError:
        return CharsetError(f"TextSampler could not make a non-empty {what} from the "
                            f"characters of {self.charset!r} ({self.charset.characters[:40]!r}"
                            f"...) in {_MAX_TRIES} tries.")

    def _fit(self, text: str) -> str:
        if not self._chars.issuperset(text):
            text = transliterate(text, self._chars, self.charset.normalize_form)
        if "  " in text or text[:1] == " " or text[-1:] == " " or "\n" in text or "\t" in text:
            text = " ".join(text.split())
        return text


def _kind_method(name: str, make):
    """The sampler's method for one entry of :data:`TEXT_KINDS`: ``name(rng) -> str``."""
    def draw(self, rng: np.random.Generator) -> str:
        return self._draw(rng, make)

    draw.__name__ = name
    draw.__qualname__ = f"TextSampler.{name}"
    draw.__doc__ = make.__doc__
    return draw


for _name, _make in TEXT_KINDS.items():
    setattr(TextSampler, _name, _kind_method(_name, _make))
del _name, _make


def _check_range(lo_name: str, lo, hi_name: str, hi, minimum: int) -> None:
    if int(lo) != lo or int(hi) != hi or lo < minimum or hi < lo:
        raise ValueError(f"Need integers {minimum} <= {lo_name} <= {hi_name}; received "
                         f"{lo_name}={lo!r}, {hi_name}={hi!r}.")



def _thread_state(locale: str):
    """A ``random.Random`` and a Faker generator drawing from it, for one thread."""
    from faker import Faker

    r = random.Random()
    generator = Faker(locale).factories[0]
    generator.random = r
    _cache_weighted_choices(generator)
    return r, generator


def _cache_weighted_choices(generator) -> None:
    """Makes Faker's single weighted draws O(log n) by caching cumulative weights.

    ``BaseProvider.random_elements`` hands its weights to ``random.choices``,
    which re-accumulates them on every call (~7,000 first names, ~1,000 last
    names): 70-100 us per name. Only our own generator's providers are
    patched; the distribution is unchanged.
    """
    cache: dict[int, tuple] = {}

    def patch(provider):
        original = provider.random_elements

        def random_elements(elements=("a", "b", "c"), length=None, unique=False,
                            use_weighting=None):
            weighted = provider.__use_weighting__ if use_weighting is None else use_weighting
            if length == 1 and not unique and weighted and isinstance(elements, OrderedDict):
                entry = cache.get(id(elements))
                if entry is None or entry[0] is not elements:
                    entry = cache[id(elements)] = (
                        elements, tuple(elements), list(itertools.accumulate(elements.values())))
                return generator.random.choices(entry[1], cum_weights=entry[2], k=1)
            return original(elements, length, unique, use_weighting)

        provider.random_elements = random_elements

    for provider in generator.providers:
        patch(provider)
