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

Layout: :mod:`~keras_textnet.data.synthetic.text.sampler` holds
:class:`TextSampler` (seeding, retries, the charset fit);
:mod:`~keras_textnet.data.synthetic.text.kinds` the table of text kinds
(:data:`TEXT_KINDS`, :data:`CELL_KINDS`); one module per topic makes the
text: ``words``, ``prose``, ``numbers``, ``dates``, ``identifiers``,
``contacts`` (Faker), ``business``, ``code``; ``vocabulary`` the word list
and the transliteration into the charset.

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

from keras_textnet.data.synthetic.text.kinds import CELL_KINDS, TEXT_KINDS
from keras_textnet.data.synthetic.text.sampler import TextSampler

__all__ = ["CELL_KINDS", "TEXT_KINDS", "TextSampler"]
