"""Text content for synthetic documents: words, sentences, numbers, dates, ids, code.

:class:`TextSampler` draws the strings a synthetic page is made of: running
text with word-frequency English (``wordfreq``), headings, form labels,
invoice line items, table cells, lines of code, and the names, companies,
addresses, e-mails, URLs and phone numbers of ``Faker``.

Guarantees, for every string a method returns:

* it is encodable by the sampler's :class:`~keras_textnet.charset.Charset`
  (NFC; characters outside it are transliterated, ``"café"`` -> ``"cafe"``,
  ``"ß"`` -> ``"ss"``, ``"€"`` -> ``"EUR"``, or dropped);
* it is not empty, has no leading or trailing space and no run of spaces
  (so :meth:`code_line` returns a line without its indentation;
  :meth:`code_block` gives the indentation separately);
* it depends only on the state of the ``rng`` passed in: the same state gives
  the same string, in any process, on any thread.

Each call draws one 64-bit integer from ``rng`` and seeds a per-thread
``random.Random`` (shared with a per-thread Faker generator) with it; all
further choices use that, which is about ten times cheaper than NumPy scalar
draws. Faker's weighted choices (first names, address formats ...) rebuild
their cumulative weights on every call; the sampler's Faker caches them,
which makes a name ~10x faster with the same distribution.

Example:

>>> import numpy as np
>>> sampler = TextSampler()
>>> rng = np.random.default_rng(0)
>>> line = sampler.sentence(rng)
>>> sampler.charset.can_encode(line) and line == line.strip()
True
>>> TextSampler().date(np.random.default_rng(7)) == sampler.date(np.random.default_rng(7))
True
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import re
import string
import threading
import unicodedata
from collections import OrderedDict

import numpy as np

from keras_textnet.charset import Charset, CharsetError

#: The kinds :meth:`TextSampler.cell` accepts.
CELL_KINDS = ("text", "number", "amount", "date", "id", "percent", "name", "code")

_MAX_TRIES = 25  # redraws before deciding the charset cannot express a kind of text

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

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SMALL_WORDS = frozenset("a an and as at but by for from in into nor of on or per the to "
                         "vs via with".split())
_HEADINGS = (
    "Introduction", "Summary", "Executive Summary", "Background", "Methods", "Results",
    "Discussion", "Conclusion", "Conclusions", "References", "Appendix", "Abstract",
    "Acknowledgements", "Table of Contents", "Overview", "Scope", "Definitions",
    "Terms and Conditions", "Payment Terms", "Payment Details", "Invoice", "Receipt",
    "Remittance Advice", "Billing Address", "Shipping Address", "Order Summary", "Notes",
    "Contact Information", "Personal Details", "Employment History", "Education",
    "Statement of Account", "Purchase Order", "Delivery Note", "Quotation", "Credit Note",
    "Balance Sheet", "Income Statement", "Cash Flow", "Risk Factors", "Warranty",
    "Privacy Policy", "Safety Instructions", "Installation", "Troubleshooting",
    "Specifications", "Frequently Asked Questions", "Minutes of the Meeting", "Agenda",
    "Action Items", "Project Plan", "Budget", "Timeline", "Deliverables", "Signatures",
)
_FORM_LABELS = (
    "Invoice No.", "Invoice number", "Invoice date", "Due date", "Order No.", "Order date",
    "PO number", "Customer ID", "Customer No.", "Account number", "Account holder",
    "Reference", "Our ref.", "Your ref.", "Date", "Date of birth", "Place of birth",
    "Name", "First name", "Last name", "Surname", "Given names", "Full name", "Title",
    "Company", "Company name", "Department", "Position", "Job title", "Address",
    "Street", "City", "State", "ZIP code", "Postal code", "Country", "Phone", "Telephone",
    "Mobile", "Fax", "E-mail", "Email address", "Website", "Tax ID", "VAT No.", "VAT",
    "IBAN", "BIC", "SWIFT", "Bank", "Sort code", "Routing number", "Amount", "Total",
    "Subtotal", "Total due", "Balance due", "Amount paid", "Discount", "Tax", "Shipping",
    "Quantity", "Qty", "Unit price", "Price", "Description", "Item", "Item No.", "SKU",
    "Payment method", "Payment terms", "Signature", "Signed", "Approved by", "Prepared by",
    "Checked by", "Issued by", "Valid until", "Start date", "End date", "Period",
    "Nationality", "Passport No.", "ID number", "Gender", "Marital status", "Occupation",
    "Employer", "Annual income", "Emergency contact", "Relationship", "Notes", "Comments",
    "Remarks", "Status", "Priority", "Project", "Contract No.", "Policy number",
    "Claim number", "Patient name", "Doctor", "Diagnosis", "Case No.", "Serial No.",
    "Model", "Version", "Page", "Sheet", "Ship to", "Bill to", "Sold to", "Deliver to",
    "Tracking number", "Carrier", "Weight", "Dimensions", "Time", "Hours", "Rate",
)
_PRODUCTS = (
    "cable", "adapter", "charger", "keyboard", "mouse", "monitor", "laptop stand", "headset",
    "printer paper", "toner cartridge", "ink cartridge", "notebook", "ballpoint pens",
    "stapler", "folder", "envelopes", "desk lamp", "office chair", "desk", "whiteboard",
    "marker set", "coffee beans", "green tea", "mineral water", "orange juice", "milk",
    "bread", "olive oil", "pasta", "rice", "chocolate bar", "apples", "bananas", "cheese",
    "screws", "bolts", "washers", "drill bit", "hammer", "paint", "brush", "gloves",
    "safety glasses", "hard drive", "SSD", "memory module", "router", "switch", "license",
    "battery", "light bulb", "extension lead", "USB stick", "backpack", "t-shirt", "jacket",
    "shoes", "socks", "towel", "soap", "shampoo", "toothpaste", "detergent", "sponge",
)
_SERVICES = (
    "Consulting services", "Maintenance", "Support contract", "Annual subscription",
    "Monthly subscription", "Installation", "Shipping and handling", "Delivery",
    "Labour", "Design work", "Software development", "Training session", "Hosting",
    "Cleaning service", "Repair", "Inspection", "Translation", "Legal advice",
    "Setup fee", "Late payment fee", "Service charge", "Travel expenses",
)
_ATTRIBUTES = (
    "black", "white", "grey", "blue", "red", "green", "silver", "large", "small", "medium",
    "XL", "premium", "standard", "basic", "pro", "organic", "recycled", "wireless",
    "stainless steel", "cotton", "leather", "wooden", "plastic", "ergonomic", "refill",
)
_UNITS = ("kg", "g", "mg", "lb", "oz", "m", "cm", "mm", "km", "in", "ft", "l", "ml", "GB",
          "MB", "TB", "kB", "W", "kW", "V", "mA", "Hz", "MHz", "GHz", "h", "min", "s", "ms",
          "pcs", "units", "km/h", "m2", "psi", "dpi")
_CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN",
               "CZK", "INR", "CNY", "SGD", "NZD")
_CURRENCY_SYMBOLS = ("$", "\u20ac", "\u00a3", "\u00a5")
_SHORT_CODES = ("US", "DE", "FR", "GB", "IT", "ES", "NL", "CH", "JP", "CN", "IN", "BR",
                "CA", "AU", "N/A", "TBD", "OK", "NA", "Y", "N", "A1", "B2", "C3", "EA", "PC",
                "BOX", "SET", "KG", "HR", "DAY")
_CODE_SHORT = ("i", "j", "k", "n", "x", "y", "df", "ctx", "buf", "cfg", "idx", "tmp", "ret",
               "err", "msg", "req", "res", "obj", "val", "key", "args", "opts", "data", "item")
_PY_MODULES = ("os", "sys", "re", "json", "math", "time", "random", "logging", "pathlib",
               "collections", "itertools", "functools", "typing", "numpy as np",
               "pandas as pd", "tensorflow as tf", "keras", "requests", "argparse",
               "dataclasses", "subprocess", "datetime")
_C_HEADERS = ("stdio", "stdlib", "string", "math", "stdint", "unistd", "assert", "errno",
              "pthread", "time", "signal", "ctype")
_C_TYPES = ("int", "char *", "double", "float", "size_t", "uint8_t", "int64_t", "bool",
            "long", "unsigned int", "const char *", "void *")
_SHELL_CMDS = ("ls -la", "cd", "mkdir -p", "rm -rf", "cp -r", "mv", "cat", "less", "tail -f",
               "grep -rn", "find . -name", "chmod +x", "du -sh", "df -h", "ps aux |", "kill -9",
               "ssh", "scp", "rsync -avz", "tar -xzf", "docker run --rm", "git log --oneline",
               "git status", "make -j4", "python3", "pip install", "npm install", "curl -sSL")
_INVOICE_PREFIXES = ("INV", "INV", "RE", "BILL", "CN")
_ORDER_PREFIXES = ("PO", "SO", "ORD", "DN", "RMA")
_SKU_VARIANTS = ("X", "BLK", "WHT", "L", "M", "S")
_VAT_COUNTRIES = ("GB", "DE", "FR", "NL", "IT", "ES")
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_COMPANY_SUFFIXES = ("Ltd.", "GmbH", "LLC", "Inc.", "S.A.", "AG", "Co.", "Group", "Holdings",
                     "Partners")
_PY_COMPARE = ("==", "!=", "<", ">=", "is", "in")
_PY_BASES = ("object", "Exception", "keras.layers.Layer", "Base")
_EXTENSIONS = ("txt", "json", "csv")
_SQL_WORDS = ("users", "orders", "customers", "invoices", "products", "payments", "items",
              "accounts", "events", "sessions", "logs", "employees", "departments")


class TextSampler:
    """Draws the text of synthetic documents; every string fits ``charset``.

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
        words, cum = _vocabulary(locale.split("_")[0], self.vocabulary_size, self._chars,
                                 charset.normalize_form)
        self._words, self._cum = words, cum
        self._code_words = tuple(w for w in words[:3000] if w.isalpha() and w.islower()
                                 and len(w) > 2) or ("value", "data", "item")
        self._currency_symbols = tuple(c for c in _CURRENCY_SYMBOLS if c in self._chars)
        self._local = threading.local()

    def __repr__(self) -> str:
        return (f"TextSampler(charset={self.charset!r}, locale={self.locale!r}, "
                f"vocabulary_size={self.vocabulary_size})")

    # ---------------------------------------------------------------- public
    def word(self, rng: np.random.Generator) -> str:
        """One word: mostly lower case, sometimes Capitalized, now and then ALL CAPS."""
        return self._draw(rng, self._word)

    def words(self, rng: np.random.Generator, n: int) -> list[str]:
        """``n`` words as :meth:`word` draws them (one seed for all, cheaper)."""
        r = self._seeded(rng)
        return [self._finish(self._word(r), self._word, r) for _ in range(int(n))]

    def sentence(self, rng: np.random.Generator, min_words: int = 4,
                 max_words: int = 18) -> str:
        """A sentence: capitalized, with commas, parentheses, quotes, hyphens,
        numbers, now and then an e-mail, URL, amount or date; ends in ``.``,
        ``!``, ``?``, ``:`` or ``...``."""
        _check_range("min_words", min_words, "max_words", max_words, 1)
        return self._draw(rng, self._sentence, int(min_words), int(max_words))

    def paragraph(self, rng: np.random.Generator, min_sentences: int = 2,
                  max_sentences: int = 6) -> str:
        """Sentences joined by single spaces."""
        _check_range("min_sentences", min_sentences, "max_sentences", max_sentences, 1)
        return self._draw(rng, self._paragraph, int(min_sentences), int(max_sentences))

    def heading(self, rng: np.random.Generator) -> str:
        """A heading: Title Case, ALL CAPS, or numbered (``"3.2 Results"``)."""
        return self._draw(rng, self._heading)

    def number(self, rng: np.random.Generator) -> str:
        """Integers, decimals, thousands separators, percentages, ranges, ordinals,
        fractions, numbers with units."""
        return self._draw(rng, self._number)

    def percent(self, rng: np.random.Generator) -> str:
        """``"12%"``, ``"3.75 %"``, ``"-0.5%"``."""
        return self._draw(rng, self._percent)

    def amount(self, rng: np.random.Generator) -> str:
        """Money: ``"$1,234.56"``, ``"12.00 EUR"``, ``"(45.10)"``, ``"-3.50"`` ..."""
        return self._draw(rng, self._amount)

    def date(self, rng: np.random.Generator) -> str:
        """A date in one of many formats (``"2024-03-05"``, ``"March 5, 2024"`` ...)."""
        return self._draw(rng, self._date)

    def time(self, rng: np.random.Generator) -> str:
        """A time of day (``"14:30"``, ``"2:30 PM"``, ``"08:15:02"`` ...)."""
        return self._draw(rng, self._time)

    def identifier(self, rng: np.random.Generator) -> str:
        """Invoice/order numbers, SKUs, IBAN-like, ISBN, hashes, UUID parts, part numbers."""
        return self._draw(rng, self._identifier)

    def email(self, rng: np.random.Generator) -> str:
        return self._draw(rng, self._email)

    def url(self, rng: np.random.Generator) -> str:
        return self._draw(rng, self._url)

    def phone(self, rng: np.random.Generator) -> str:
        return self._draw(rng, self._phone)

    def person_name(self, rng: np.random.Generator) -> str:
        return self._draw(rng, self._person_name)

    def company(self, rng: np.random.Generator) -> str:
        return self._draw(rng, self._company)

    def address_lines(self, rng: np.random.Generator) -> list[str]:
        """A postal address, one string per line (2 to 5 lines)."""
        r = self._seeded(rng)
        for _ in range(_MAX_TRIES):
            lines = [t for t in (self._fit(x) for x in self._address_lines(r)) if t]
            if lines:
                return lines
        raise self._cannot("address_lines")

    def form_label(self, rng: np.random.Generator) -> str:
        """A form field label: ``"Invoice No.:"``, ``"Date of birth"``, ``"ACCOUNT HOLDER"``."""
        return self._draw(rng, self._form_label)

    def code_line(self, rng: np.random.Generator) -> str:
        """One line of Python, C, shell, JSON, SQL, JavaScript or YAML, without indentation."""
        return self._draw(rng, self._code_line)

    def code_block(self, rng: np.random.Generator, min_lines: int = 3,
                   max_lines: int = 12) -> list[tuple[int, str]]:
        """Consecutive lines of one language as ``(indent, text)`` pairs.

        ``indent`` is the indentation in character widths (spaces) that the
        renderer should leave before ``text``; ``text`` itself has no leading
        space.
        """
        _check_range("min_lines", min_lines, "max_lines", max_lines, 1)
        r = self._seeded(rng)
        lang = r.choice(_CODE_LANGUAGES)
        step = 2 if lang in ("json", "yaml", "js") else 4
        out, indent = [], 0
        for _ in range(r.randint(int(min_lines), int(max_lines))):
            text = self._finish(self._code_text(r, lang), lambda rr: "}", r)
            if text[0] in "}])" and indent:
                indent -= step
            out.append((indent, text))
            if text[-1] in "{[:(" and indent < 6 * step:
                indent += step
            elif indent and r.random() < 0.15:
                indent -= step
        return out

    def cell(self, rng: np.random.Generator, kind: str) -> str:
        """A table cell of ``kind``, one of :data:`CELL_KINDS`.

        Raises:
            ValueError: for an unknown kind.
        """
        make = self._cell_makers().get(kind)
        if make is None:
            raise ValueError(f"Unknown cell kind {kind!r}; expected one of {CELL_KINDS}.")
        return self._draw(rng, make)

    def product(self, rng: np.random.Generator) -> str:
        """An invoice / receipt line item (``"USB-C cable 1 m, black (pack of 3)"``)."""
        return self._draw(rng, self._product)

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
            text = self._fit(make(r, *args))
            if text:
                return text
        raise self._cannot(getattr(make, "__name__", "text").lstrip("_"))

    def _finish(self, text: str, make, r) -> str:
        """Fits ``text``; redraws with ``make(r)`` while the result is empty."""
        for _ in range(_MAX_TRIES):
            text = self._fit(text)
            if text:
                return text
            text = make(r)
        raise self._cannot(getattr(make, "__name__", "text").lstrip("_"))

    def _cannot(self, what: str) -> CharsetError:
        return CharsetError(f"TextSampler could not make a non-empty {what} from the "
                            f"characters of {self.charset!r} ({self.charset.characters[:40]!r}"
                            f"...) in {_MAX_TRIES} tries.")

    def _fit(self, text: str) -> str:
        if not self._chars.issuperset(text):
            text = _transliterate(text, self._chars, self.charset.normalize_form)
        if "  " in text or text[:1] == " " or text[-1:] == " " or "\n" in text or "\t" in text:
            text = " ".join(text.split())
        return text

    # ------------------------------------------------------------- words
    def _word(self, r) -> str:
        w = self._words[bisect.bisect(self._cum, r.random() * self._cum[-1])]
        u = r.random()
        if u < 0.74:
            return w
        if u < 0.94:
            return w[:1].upper() + w[1:]
        return w.upper()

    def _plain_words(self, r, n: int) -> list[str]:
        return r.choices(self._words, cum_weights=self._cum, k=n)

    def _sentence(self, r, min_words: int = 4, max_words: int = 18) -> str:
        n = r.randint(min_words, max_words)
        tokens = self._plain_words(r, n)
        for i in range(n):
            u = r.random()
            if u < 0.05:
                tokens[i] = tokens[i][:1].upper() + tokens[i][1:]
            elif u < 0.06:
                tokens[i] = tokens[i].upper()
            elif u < 0.09 and len(tokens[i]) > 2:  # a compound of two content words
                tokens[i] += "-" + self._words[r.randrange(min(100, len(self._words) // 2),
                                                           min(8000, len(self._words)))]
            elif u < 0.15:
                tokens[i] = self._embedded(r)
        if n >= 3 and r.random() < 0.08:  # (a parenthetical)
            i = r.randrange(1, n)
            j = min(n - 1, i + r.randint(0, 3))
            tokens[i] = "(" + tokens[i]
            tokens[j] = tokens[j] + ")"
        elif n >= 3 and r.random() < 0.09:  # "a quotation" (never across a parenthesis)
            q = '"' if r.random() < 0.75 else "'"
            i = r.randrange(0, n)
            j = min(n - 1, i + r.randint(0, 4))
            tokens[i] = q + tokens[i]
            tokens[j] = tokens[j] + q
        for i in range(n - 1):
            u = r.random()
            if u < 0.09:
                tokens[i] += ","
            elif u < 0.105:
                tokens[i] += ";"
            elif u < 0.112:
                tokens[i] += ":"
            elif u < 0.12:
                tokens[i] += " -"
        first = tokens[0]
        if not any(c in first for c in "@/:"):  # not an e-mail or URL
            k = 1 if first[:1] in "(\"'" else 0
            tokens[0] = first[:k] + first[k:k + 1].upper() + first[k + 1:]
        u = r.random()
        end = ("." if u < 0.8 else "?" if u < 0.87 else "!" if u < 0.92
               else ":" if u < 0.97 else "...")
        text = " ".join(tokens)
        return text.rstrip(",;:- ") + end

    def _embedded(self, r) -> str:
        u = r.random()
        if u < 0.42:
            return self._number(r)
        if u < 0.52:
            return self._amount(r)
        if u < 0.6:
            return self._date(r)
        if u < 0.66:
            return self._percent(r)
        if u < 0.72:
            return self._identifier(r)
        if u < 0.78:
            return self._email(r)
        if u < 0.84:
            return self._url(r)
        if u < 0.88:
            return self._time(r)
        if u < 0.95:
            return self._fake.last_name()
        return self._plain_words(r, 1)[0].upper()[:r.randint(2, 5)]  # an acronym

    def _paragraph(self, r, min_sentences: int = 2, max_sentences: int = 6) -> str:
        return " ".join(self._sentence(r, 3, 22)
                        for _ in range(r.randint(min_sentences, max_sentences)))

    def _title_case(self, words: list[str]) -> str:
        return " ".join(w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:]
                        for i, w in enumerate(words))

    def _heading(self, r) -> str:
        u = r.random()
        if u < 0.3:
            text = self._title_case(self._plain_words(r, r.randint(1, 6)))
        elif u < 0.5:
            text = r.choice(_HEADINGS)
        elif u < 0.62:
            text = " ".join(self._plain_words(r, r.randint(1, 4))).upper()
        elif u < 0.7:
            text = r.choice(_HEADINGS).upper()
        else:
            title = (r.choice(_HEADINGS) if r.random() < 0.5
                     else self._title_case(self._plain_words(r, r.randint(1, 5))))
            a, b, c = r.randint(1, 12), r.randint(1, 9), r.randint(1, 6)
            form = r.randrange(9)
            if form == 0:
                return f"{a}. {title}"
            if form == 1:
                return f"{a}.{b} {title}"
            if form == 2:
                return f"{a}.{b}.{c} {title}"
            if form == 3:
                return f"{a} {title}"
            if form == 4:
                return f"Section {a}: {title}"
            if form == 5:
                return f"Chapter {a} - {title}"
            if form == 6:
                return f"{_roman(a)}. {title.upper()}"
            if form == 7:
                return f"Appendix {string.ascii_uppercase[a % 26]}: {title}"
            return f"({string.ascii_lowercase[a % 26]}) {title}"
        return text

    # ----------------------------------------------------------- numbers
    def _int_text(self, r, max_digits: int = 7, sep: str | None = None) -> str:
        v = int(10 ** (r.random() * max_digits))
        if sep is None:
            sep = "," if v >= 1000 and r.random() < 0.6 else ""
        return _group(str(v), sep)

    def _number(self, r) -> str:
        u = r.random()
        if u < 0.2:
            return str(r.randint(0, 100))
        if u < 0.35:
            return self._int_text(r)
        if u < 0.5:
            v = 10 ** (r.random() * 5)
            return f"{v:,.{r.randint(1, 3)}f}" if r.random() < 0.4 else f"{v:.{r.randint(1, 3)}f}"
        if u < 0.54:  # European style
            v = 10 ** (r.random() * 6)
            return f"{v:,.2f}".replace(",", "#").replace(".", ",").replace("#", ".")
        if u < 0.62:
            return self._percent(r)
        if u < 0.69:
            a = r.randint(0, 500)
            b = a + r.randint(1, 500)
            if r.random() < 0.3:
                a, b = r.randint(1900, 2024), r.randint(1900, 2030)
                a, b = min(a, b), max(a, b)
            form = r.randrange(4)
            return (f"{a}-{b}" if form < 2 else f"{a} to {b}" if form == 2
                    else f"pp. {a}-{b}")
        if u < 0.76:
            return _ordinal(r.randint(1, 120) if r.random() < 0.8 else r.randint(1, 2030))
        if u < 0.8:
            sign = "-" if r.random() < 0.8 else "+"
            return f"{sign}{r.random() * 10 ** r.randint(0, 4):.{r.randint(0, 2)}f}"
        if u < 0.82:
            mantissa = f"{r.random() * 9 + 1:.{r.randint(1, 3)}f}"
            return f"{mantissa}{r.choice('eE')}{r.choice('-+')}{r.randint(1, 12):02d}"
        if u < 0.85:
            d = r.choice((2, 3, 4, 8, 16))
            f = f"{r.randint(1, d - 1)}/{d}"
            return f if r.random() < 0.6 else f"{r.randint(1, 9)} {f}"
        if u < 0.95:
            v = r.random() * 10 ** r.randint(0, 3)
            num = f"{v:.{r.randint(0, 2)}f}"
            return f"{num} {r.choice(_UNITS)}" if r.random() < 0.7 else num + r.choice(_UNITS)
        form = r.randrange(4)
        n = r.randint(1, 999)
        return (f"No. {n}" if form == 0 else f"#{n}" if form == 1
                else f"x{r.randint(1, 24)}" if form == 2 else f"{n}x")

    def _percent(self, r) -> str:
        v = r.random() * (100 if r.random() < 0.85 else 1000)
        text = f"{v:.{r.choice((0, 0, 1, 1, 2))}f}"
        if r.random() < 0.12:
            text = "-" + text
        elif r.random() < 0.06:
            text = "+" + text
        return text + ("%" if r.random() < 0.85 else " %")

    def _amount(self, r) -> str:
        v = 10 ** (r.random() * 6.3 - 1.5)
        decimals = 0 if v >= 1 and r.random() < 0.12 else 2
        sep = "," if r.random() < 0.75 else ""
        num = f"{v:,.{decimals}f}" if sep else f"{v:.{decimals}f}"
        form = r.random()
        if form < 0.08:  # 1.234,56 EUR
            num = num.replace(",", "#").replace(".", ",").replace("#", ".")
            return f"{num} {r.choice(_CURRENCIES)}" if r.random() < 0.7 else num
        sym = r.choice(self._currency_symbols) if self._currency_symbols else "$"
        if form < 0.4:
            text = sym + num if r.random() < 0.85 else f"{sym} {num}"
        elif form < 0.55:
            text = f"{num} {r.choice(_CURRENCIES)}"
        elif form < 0.65:
            text = f"{r.choice(_CURRENCIES)} {num}"
        else:
            text = num
        u = r.random()
        if u < 0.07:
            return f"({text})"
        if u < 0.15:
            return "-" + text
        if u < 0.17:
            return text + "-"
        if u < 0.19:
            return text + " CR"
        return text

    # -------------------------------------------------------- dates, times
    def _date(self, r) -> str:
        year = r.randint(1990, 2035) if r.random() < 0.85 else r.randint(1900, 1989)
        month = r.randint(1, 12)
        day = r.randint(1, _days_in_month(year, month))
        mon = _MONTHS[month - 1]
        wday = _DAYS[_weekday(year, month, day)]
        yy = year % 100
        form = r.randrange(22)
        if form == 0:
            return f"{year}-{month:02d}-{day:02d}"
        if form == 1:
            return f"{day:02d}/{month:02d}/{year}"
        if form == 2:
            return f"{month:02d}/{day:02d}/{year}"
        if form == 3:
            return f"{month}/{day}/{yy:02d}"
        if form == 4:
            return f"{mon} {day}, {year}"
        if form == 5:
            return f"{day} {mon[:3]} {year}"
        if form == 6:
            return f"{wday[:3]} {day:02d}.{month:02d}.{yy:02d}"
        if form == 7:
            return f"{day:02d}.{month:02d}.{year}"
        if form == 8:
            return f"{day}.{month}.{year}"
        if form == 9:
            return f"{mon[:3]} {day}"
        if form == 10:
            return f"{_ordinal(day)} {mon} {year}"
        if form == 11:
            return f"{wday}, {mon} {day}, {year}"
        if form == 12:
            return f"{year}/{month:02d}/{day:02d}"
        if form == 13:
            return f"{year}{month:02d}{day:02d}"
        if form == 14:
            return f"{day:02d}-{mon[:3]}-{year}"
        if form == 15:
            return f"{mon[:3].upper()} {day:02d} {year}"
        if form == 16:
            return f"Q{(month - 1) // 3 + 1} {year}"
        if form == 17:
            return f"{mon} {year}"
        if form == 18:
            return f"{month:02d}/{year}"
        if form == 19:
            return f"{day} {mon} {year}"
        if form == 20:
            return f"{wday[:3]}, {day} {mon[:3]} {year}"
        return f"{mon[:3]}. {day}, {year}"

    def _time(self, r) -> str:
        h, m, s = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        h12 = h % 12 or 12
        ampm = "AM" if h < 12 else "PM"
        form = r.randrange(12)
        if form < 3:
            return f"{h:02d}:{m:02d}"
        if form == 3:
            return f"{h}:{m:02d}"
        if form == 4:
            return f"{h12}:{m:02d} {ampm}"
        if form == 5:
            return f"{h12}:{m:02d}{ampm.lower()}"
        if form == 6:
            return f"{h:02d}:{m:02d}:{s:02d}"
        if form == 7:
            return f"{h12}.{m:02d} {ampm.lower()}"
        if form == 8:
            return f"{h:02d}:{m:02d} {r.choice(('UTC', 'GMT', 'CET', 'EST', 'PST', 'h'))}"
        if form == 9:
            return f"{h:02d}h{m:02d}"
        if form == 10:
            return f"{h12}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}"
        return f"T{h:02d}:{m:02d}:{s:02d}Z"

    # -------------------------------------------------------- identifiers
    def _identifier(self, r) -> str:
        form = r.randrange(18)
        year = r.randint(2015, 2030)
        if form == 0:
            return f"{r.choice(_INVOICE_PREFIXES)}-{year}-{r.randint(1, 99999):05d}"
        if form == 1:
            sep = r.choice(("-", " ", "#", ""))
            return f"{r.choice(_ORDER_PREFIXES)}{sep}{r.randint(1000, 9999999)}"
        if form == 2:
            if r.random() < 0.5:
                return f"{_letters(r, 3)}{r.randint(10, 9999)}"
            return f"{_letters(r, 2)}-{r.randint(100, 9999)}-{r.choice(_SKU_VARIANTS)}"
        if form == 3:  # IBAN-like, grouped or not
            country = r.choice(("DE", "GB", "FR", "NL", "ES", "IT", "CH", "BE", "AT"))
            body = f"{r.randint(10, 99)}" + _digits(r, r.randint(14, 24))
            if country in ("GB", "NL"):
                body = body[:2] + _letters(r, 4) + body[6:]
            text = country + body
            if r.random() < 0.4:
                return text
            return " ".join(text[i:i + 4] for i in range(0, len(text), 4))
        if form == 4:
            return _isbn(r)
        if form == 5:
            return _hex(r, r.choice((7, 8, 12, 16, 40)))
        if form == 6:
            return "0x" + _hex(r, r.choice((4, 8, 8, 12)))
        if form == 7:
            text = "-".join(_hex(r, k) for k in (8, 4, 4, 4, 12)[:r.choice((2, 3, 5))])
            return text if r.random() < 0.8 else text.upper()
        if form == 8:
            label = r.choice(("P/N ", "Part No. ", "PN: ", ""))
            return f"{label}{r.randint(1000, 9999)}-{r.randint(0, 999):03d}-{_letters(r, 1)}"
        if form == 9:
            return "1Z" + "".join(r.choice(_UPPER_ALNUM) for _ in range(16))
        if form == 10:
            return f"{r.choice(_VAT_COUNTRIES)}{r.randint(100000000, 999999999)}"
        if form == 11:
            return f"{_letters(r, r.randint(2, 5))}-{r.randint(1, 9999)}"
        if form == 12:
            return "S/N: " + "-".join(_hex(r, 4).upper() for _ in range(3))
        if form == 13:
            return f"Acct. {r.randint(0, 10**12 - 1):012d}"
        if form == 14:
            return f"Ref: {year}/{_letters(r, 3)}/{r.randint(1, 9999):04d}"
        if form == 15:
            return f"No. {year}/{r.randint(1, 9999):04d}"
        if form == 16:
            return f"#{r.randint(10000, 99999999)}"
        return f"{_letters(r, 1)}{r.randint(10, 99)}-{r.randint(1000, 9999)}-{r.randint(10, 99)}"

    # ------------------------------------------------------------- Faker
    def _person_name(self, r) -> str:
        fake = self._fake
        u = r.random()
        if u < 0.6:
            return fake.name()
        first, last = fake.first_name(), fake.last_name()
        if u < 0.7:
            return f"{last}, {first}"
        if u < 0.8:
            return f"{first[:1]}. {last}"
        if u < 0.9:
            return f"{first} {r.choice(string.ascii_uppercase)}. {last}"
        if u < 0.95:
            return f"{last.upper()} {first}"
        return first if r.random() < 0.5 else last

    def _company(self, r) -> str:
        name = self._fake.company()
        if r.random() < 0.15:
            name = f"{name.split(',')[0].split(' ')[0]} {r.choice(_COMPANY_SUFFIXES)}"
        return name.upper() if r.random() < 0.07 else name

    def _email(self, r) -> str:
        fake = self._fake
        if r.random() < 0.6:
            return fake.email(safe=r.random() < 0.3)
        first, last = _ascii_slug(fake.first_name()), _ascii_slug(fake.last_name())
        user = r.choice((f"{first}.{last}", f"{first[:1]}{last}", f"{first}_{last}",
                         f"{first}{r.randint(1, 99)}", r.choice(("info", "sales", "support",
                                                                 "billing", "office", "hr"))))
        return f"{user}@{fake.domain_name()}"

    def _url(self, r) -> str:
        fake = self._fake
        u = r.random()
        if u < 0.35:
            return fake.url()
        if u < 0.75:
            path = "/".join(self._code_word(r) for _ in range(r.randint(1, 3)))
            url = f"{r.choice(('https://', 'https://www.', 'http://'))}{fake.domain_name()}/{path}"
            v = r.random()
            if v < 0.25:
                url += f"?id={r.randint(1, 99999)}"
            elif v < 0.4:
                url += r.choice((".html", ".pdf", ".php", "/"))
            return url
        return f"www.{fake.domain_name()}"

    def _phone(self, r) -> str:
        if r.random() < 0.7:
            return self._fake.phone_number()
        def d(n):
            return _digits(r, n)

        form = r.randrange(5)
        if form == 0:
            return f"+1 ({d(3)}) {d(3)}-{d(4)}"
        if form == 1:
            return f"+44 {d(2)} {d(4)} {d(4)}"
        if form == 2:
            return f"+49 {d(3)} {d(7)}"
        if form == 3:
            return f"Tel. {d(3)}/{d(6)}"
        return f"+33 {d(1)} {d(2)} {d(2)} {d(2)} {d(2)}"

    def _address_lines(self, r) -> list[str]:
        fake = self._fake
        lines = []
        u = r.random()
        if u < 0.35:
            lines.append(self._person_name(r))
        elif u < 0.55:
            lines.append(self._company(r))
        lines.extend(x for x in fake.address().split("\n") if x.strip())
        if r.random() < 0.2:
            lines.append(r.choice(("United States", "USA", "U.S.A.")) if self.locale == "en_US"
                         else fake.country())
        return lines[:5]

    # ----------------------------------------------------- forms, products
    def _form_label(self, r) -> str:
        label = r.choice(_FORM_LABELS)
        u = r.random()
        if u < 0.12:
            label = label.upper()
        elif u < 0.2:
            label = label.lower()
        v = r.random()
        if v < 0.5:
            label += ":"
        elif v < 0.55:
            label += " *"
        elif v < 0.58:
            label += " (optional)"
        elif v < 0.6:
            label = f"{r.randint(1, 30)}. {label}"
        return label

    def _product(self, r) -> str:
        if r.random() < 0.25:
            text = r.choice(_SERVICES)
            v = r.random()
            if v < 0.3:
                text += f" - {_MONTHS[r.randrange(12)]} {r.randint(2018, 2030)}"
            elif v < 0.5:
                text += f": {r.randint(1, 40) / 2:g} h @ {r.randint(20, 250)}.00"
            elif v < 0.6:
                text += f" ({self._identifier(r)})"
            return text
        name = r.choice(_PRODUCTS)
        if r.random() < 0.5:
            name = f"{r.choice(_ATTRIBUTES)} {name}"
        name = name[:1].upper() + name[1:]
        if r.random() < 0.3:
            name += f" {_letters(r, r.randint(1, 3))}-{r.randint(10, 9999)}"
        if r.random() < 0.3:
            name += f" {r.randint(1, 1000)}{r.choice(_UNITS)}"
        if r.random() < 0.25:
            name += f", {r.choice(_ATTRIBUTES)}"
        if r.random() < 0.15:
            name += f" (pack of {r.choice((2, 3, 4, 5, 6, 10, 12, 24, 50, 100))})"
        if r.random() < 0.2:
            name = f"{r.randint(1, 20)} x {name}"
        return name.upper() if r.random() < 0.08 else name

    def _cell_makers(self) -> dict:
        return {"text": self._cell_text, "number": self._cell_number, "amount": self._amount,
                "date": self._date, "id": self._identifier, "percent": self._percent,
                "name": self._person_name, "code": self._cell_code}

    def _cell_text(self, r) -> str:
        u = r.random()
        if u < 0.5:
            words = self._plain_words(r, r.randint(1, 4))
            words[0] = words[0][:1].upper() + words[0][1:]
            return " ".join(words)
        if u < 0.7:
            return self._product(r)
        if u < 0.8:
            return r.choice(_HEADINGS)
        if u < 0.9:
            return r.choice(("Yes", "No", "Paid", "Open", "Pending", "Closed", "Approved",
                             "Rejected", "In progress", "Done", "N/A", "-", "Total", "Subtotal"))
        return self._title_case(self._plain_words(r, r.randint(1, 3)))

    def _cell_number(self, r) -> str:
        u = r.random()
        if u < 0.4:
            return str(r.randint(0, 999))
        if u < 0.65:
            return self._int_text(r, 7)
        if u < 0.9:
            return f"{r.random() * 10 ** r.randint(0, 5):,.{r.randint(1, 3)}f}"
        return self._number(r)

    def _cell_code(self, r) -> str:
        u = r.random()
        if u < 0.35:
            return r.choice(_SHORT_CODES)
        if u < 0.55:
            return r.choice(_CURRENCIES)
        if u < 0.75:
            return f"{_letters(r, r.randint(1, 3))}{r.randint(1, 999)}"
        if u < 0.9:
            return f"{_letters(r, 2)}-{r.randint(10, 99)}"
        return r.choice(_UNITS)

    # --------------------------------------------------------------- code
    def _code_word(self, r) -> str:
        return r.choice(self._code_words)

    def _ident(self, r, style: str = "snake") -> str:
        if r.random() < 0.25:
            return r.choice(_CODE_SHORT)
        parts = [self._code_word(r) for _ in range(r.choice((1, 1, 2, 2, 3)))]
        if style == "camel":
            return parts[0] + "".join(p.capitalize() for p in parts[1:])
        if style == "pascal":
            return "".join(p.capitalize() for p in parts)
        if style == "const":
            return "_".join(parts).upper()
        return "_".join(parts)

    def _code_line(self, r) -> str:
        return self._code_text(r, r.choice(_CODE_LANGUAGES))

    def _code_text(self, r, lang: str) -> str:
        return _CODE_MAKERS[lang](self, r)

    def _py_line(self, r) -> str:
        v, w = self._ident(r), self._ident(r)
        n = r.randint(0, 100)
        s = self._code_word(r)
        form = r.randrange(24)
        lines = (
            lambda: f"def {self._ident(r)}({', '.join(self._ident(r) for _ in range(n % 4))}):",
            lambda: f"{v} = {w} {r.choice(('+', '-', '*', '/', '//', '%', '**'))} {n}",
            lambda: f"return {v}" if r.random() < 0.5 else f"return {v}[{w}]",
            lambda: f"if {v} {r.choice(_PY_COMPARE)} {r.choice((str(n), 'None', w))}:",
            lambda: f"for {r.choice(('i', 'k', 'item', 'row', 'line'))} in range({n}):",
            lambda: f"for {r.choice(('k', 'key', 'name'))}, value in {v}.items():",
            lambda: f"import {r.choice(_PY_MODULES)}",
            lambda: f"from {r.choice(_PY_MODULES).split()[0]} import {self._ident(r)}",
            lambda: f'print(f"{s}: {{{v}}}")',
            lambda: f"{v}.append({w})",
            lambda: f"class {self._ident(r, 'pascal')}({r.choice(_PY_BASES)}):",
            lambda: f'raise ValueError(f"Invalid {s}: {{{v}!r}}")',
            lambda: f"# {' '.join(self._plain_words(r, r.randint(2, 8)))}",
            lambda: f'with open("{s}.{r.choice(_EXTENSIONS)}", "{r.choice("rwa")}") as f:',
            lambda: f"{v}[{r.choice(('i', 'j', str(n)))}] = {w}[i] * {r.random() * 10:.2f}",
            lambda: r.choice(("else:", "try:", "finally:", "pass", "continue", "break", "@property",
                              "@staticmethod", "return None", 'if __name__ == "__main__":')),
            lambda: f"except {r.choice(('KeyError', 'ValueError', 'OSError', 'Exception'))} as e:",
            lambda: f"{v} = [x for x in {w} if x {r.choice(_PY_COMPARE[:4])} {n}]",
            lambda: f'assert {v} == {n}, "{s}"',
            lambda: f"{v} = {{'{s}': {n}, '{self._code_word(r)}': {w}}}",
            lambda: f"self.{v} = {w}",
            lambda: f"{v} = np.{r.choice(('zeros', 'ones', 'empty'))}(({n}, {r.randint(1, 64)}))",
            lambda: f"elif {v} is None:",
            lambda: f"logger.{r.choice(('info', 'debug', 'warning'))}(\"%s {s}\", {v})",
        )
        return lines[form]()

    def _c_line(self, r) -> str:
        v, w = self._ident(r), self._ident(r)
        n = r.randint(0, 1024)
        form = r.randrange(18)
        lines = (
            lambda: f"{r.choice(_C_TYPES)} {v} = {n};".replace("* ", "*"),
            lambda: f"for (int i = 0; i < {r.choice((str(n), w, 'n', 'len'))}; i++) {{",
            lambda: f"if ({v} != NULL && {v}->{w} > {n}) {{",
            lambda: r.choice(("}", "} else {", "};", "break;", "continue;", "return 0;",
                              "return -1;", "default:", "#endif", "#else")),
            lambda: f"return {v};",
            lambda: f"#include <{r.choice(_C_HEADERS)}.h>",
            lambda: f"#define {self._ident(r, 'const')} {n}",
            lambda: f"static {r.choice(('void', 'int', 'size_t'))} {v}(const char *{w}, size_t n);",
            lambda: f'printf("%d: %s\\n", {v}, {w});',
            lambda: f"{v} {r.choice(('+=', '-=', '*=', '|=', '&=', '<<='))} {w} * {n};",
            lambda: f"/* {' '.join(self._plain_words(r, r.randint(2, 7)))} */",
            lambda: f"// {' '.join(self._plain_words(r, r.randint(2, 7)))}",
            lambda: f"struct {w} *{v} = malloc(sizeof(*{v}));",
            lambda: f"while ({v}-- > 0) {{",
            lambda: f"case {self._ident(r, 'const')}:",
            lambda: f"{v}[i] = ({r.choice(_C_TYPES).strip(' *')}){w}[j] >> {r.randint(1, 16)};",
            lambda: f"memcpy({v}, {w}, {n} * sizeof(uint8_t));",
            lambda: f"typedef struct {{ int {v}; char *{w}; }} {self._ident(r, 'pascal')};",
        )
        return lines[form]()

    def _shell_line(self, r) -> str:
        s = self._code_word(r)
        path = "/".join(self._code_word(r) for _ in range(r.randint(1, 3)))
        form = r.randrange(10)
        if form < 3:
            prompt, root = r.choice(("$ ", "# ", "")), r.choice(("", "/", "~/", "./", "/var/"))
            return f"{prompt}{r.choice(_SHELL_CMDS)} {root}{path}"
        if form == 3:
            value = r.choice((s, str(r.randint(0, 9999)), "/usr/local/" + path))
            return f"export {self._ident(r, 'const')}={value}"
        if form == 4:
            return f'grep -rn "{s}" {path}/ | wc -l'
        if form == 5:
            return f"pip install {s}=={r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}"
        if form == 6:
            return f'git commit -m "{" ".join(self._plain_words(r, r.randint(2, 6))).capitalize()}"'
        if form == 7:
            return f"curl -s https://{s}.{r.choice(('com', 'io', 'org'))}/{path} | jq '.{s}'"
        if form == 8:
            return f"python3 {s}.py --{self._code_word(r)} {r.randint(1, 512)} > {path}.log 2>&1"
        return f'for f in *.{r.choice(("txt", "csv", "log"))}; do echo "$f"; done'

    def _json_line(self, r) -> str:
        k = self._ident(r, r.choice(("snake", "camel")))
        form = r.randrange(9)
        if form == 0:
            return f'"{k}": "{self._code_word(r)}",'
        if form == 1:
            return f'"{k}": {r.randint(-100, 99999)},'
        if form == 2:
            return f'"{k}": {r.random() * 1000:.{r.randint(1, 4)}f},'
        if form == 3:
            return f'"{k}": [{", ".join(str(r.randint(0, 99)) for _ in range(r.randint(1, 6)))}],'
        if form == 4:
            return f'"{k}": {{'
        if form == 5:
            return r.choice(("},", "}", "],", "{", "["))
        if form == 6:
            return f'"{k}": {r.choice(("true", "false", "null"))},'
        if form == 7:
            return f'"{k}": "{self._date(r)}"'
        return f'{{"id": {r.randint(1, 9999)}, "{k}": "{self._code_word(r)}"}},'

    def _sql_line(self, r) -> str:
        t, c = r.choice(_SQL_WORDS), self._ident(r)
        cols = ", ".join(self._ident(r) for _ in range(r.randint(1, 4)))
        form = r.randrange(8)
        kw = (lambda x: x) if r.random() < 0.8 else str.lower
        n, word = r.randint(1, 9999), self._code_word(r)
        if form == 0:
            return f"{kw('SELECT')} {cols} {kw('FROM')} {t} {kw('WHERE')} {c} = {n};"
        if form == 1:
            values = ", ".join(repr(self._code_word(r)) for _ in cols.split(", "))
            return f"{kw('INSERT INTO')} {t} ({cols}) {kw('VALUES')} ({values});"
        if form == 2:
            return f"{kw('UPDATE')} {t} {kw('SET')} {c} = '{word}' {kw('WHERE')} id = {n};"
        if form == 3:
            width = r.choice((16, 32, 64, 255))
            return (f"{kw('CREATE TABLE')} {t} (id {kw('INTEGER PRIMARY KEY')}, "
                    f"{c} {kw('VARCHAR')}({width}));")
        if form == 4:
            return f"{kw('JOIN')} {r.choice(_SQL_WORDS)} {t[0]} {kw('ON')} {t[0]}.{c} = o.{c}"
        if form == 5:
            return (f"{kw('GROUP BY')} {c} {kw('ORDER BY')} {c} {kw('DESC')} "
                    f"{kw('LIMIT')} {n % 100 + 1};")
        if form == 6:
            day = f"{r.randint(2015, 2030)}-{r.randint(1, 12):02d}-01"
            return f"{kw('DELETE FROM')} {t} {kw('WHERE')} {c} < '{day}';"
        return f"{kw('SELECT')} {kw('COUNT')}(*) {kw('AS')} n, {kw('SUM')}({c}) {kw('FROM')} {t};"

    def _js_line(self, r) -> str:
        v, w = self._ident(r, "camel"), self._ident(r, "camel")
        form = r.randrange(8)
        if form == 0:
            return f"const {v} = await fetch(`/api/{self._code_word(r)}/${{{w}}}`);"
        if form == 1:
            return f"let {v} = {w}.map((x) => x * {r.randint(2, 10)});"
        if form == 2:
            default = r.choice(("default ", ""))
            return f"export {default}function {self._ident(r, 'pascal')}({{ {v}, {w} }}) {{"
        if form == 3:
            return f"console.log(`{self._code_word(r)}: ${{{v}}}`);"
        if form == 4:
            return r.choice(("});", "}", "})", "};", "return null;", "} catch (err) {", "try {"))
        if form == 5:
            return f"if ({v} === undefined || {v}.length === 0) {{"
        if form == 6:
            return f"import {{ {v} }} from './{self._code_word(r)}';"
        return f"{v}.{r.choice(('push', 'add', 'set', 'emit'))}({w}, '{self._code_word(r)}');"

    def _yaml_line(self, r) -> str:
        k = self._ident(r)
        form = r.randrange(6)
        if form == 0:
            return f"{k}: {self._code_word(r)}"
        if form == 1:
            return f"{k}: {r.randint(0, 9999)}"
        if form == 2:
            return f"- name: {self._code_word(r)}"
        if form == 3:
            return f"{k}:"
        if form == 4:
            return f"image: {self._code_word(r)}:{r.randint(1, 20)}.{r.randint(0, 9)}"
        return f"- {self._code_word(r)}"


_CODE_LANGUAGES = ("python", "python", "c", "shell", "json", "sql", "js", "yaml")
_CODE_MAKERS = {"python": TextSampler._py_line, "c": TextSampler._c_line,
                "shell": TextSampler._shell_line, "json": TextSampler._json_line,
                "sql": TextSampler._sql_line, "js": TextSampler._js_line,
                "yaml": TextSampler._yaml_line}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

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


_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# Profanity and slurs of the English list, left out so that sample pages can
# be shown to anyone; they are not needed to learn letter shapes.
_UNPRESENTABLE = re.compile(
    r"(fuck|shit|bitch|cunt|nigg|whore|slut|porn|fag|dildo|blowjob|jerkoff|motherf).*"
    r"|pussy|pussies|dick|dicks|dickhead|cock|cocks|asshole|assholes|retard|retarded|tits"
    r"|titties|boobs|rape|raped|rapist|bastard|bastards|wank|wanker|twat|prick|horny|cum")


@functools.lru_cache(maxsize=8)
def _vocabulary(lang: str, size: int, chars: frozenset, normalize: str):
    """Words (most frequent first) that fit ``chars``, and Zipf cumulative weights."""
    from wordfreq import available_languages, top_n_list

    if lang not in available_languages():
        lang = "en"
    words, seen = [], set()
    for w in top_n_list(lang, size):
        if (not _WORD_RE.fullmatch(w) or (len(w) == 1 and w not in "ai")
                or _UNPRESENTABLE.fullmatch(w)):
            continue
        w = _transliterate(unicodedata.normalize(normalize, w), chars, normalize)
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


def _transliterate(text: str, chars: frozenset, normalize: str = "NFC") -> str:
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


def _ascii_slug(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.lower())
                   if c in string.ascii_lowercase) or "user"


def _letters(r, n: int) -> str:
    return "".join(r.choice(string.ascii_uppercase) for _ in range(n))


def _digits(r, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _hex(r, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _group(digits: str, sep: str) -> str:
    if not sep or len(digits) <= 3:
        return digits
    head = len(digits) % 3 or 3
    return digits[:head] + "".join(sep + digits[i:i + 3] for i in range(head, len(digits), 3))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _roman(n: int) -> str:
    out = []
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _weekday(year: int, month: int, day: int) -> int:
    """Monday = 0 (Sakamoto's method; no datetime objects on the hot path)."""
    t = (0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4)
    y = year - (month < 3)
    return (y + y // 4 - y // 100 + y // 400 + t[month - 1] + day + 6) % 7


def _isbn(r) -> str:
    digits = [9, 7, 8] + [r.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    s = "".join(map(str, digits)) + str(check)
    text = f"{s[:3]}-{s[3]}-{s[4:6]}-{s[6:12]}-{s[12]}" if r.random() < 0.7 else s
    return "ISBN " + text if r.random() < 0.5 else text


__all__ = ["CELL_KINDS", "TextSampler"]
