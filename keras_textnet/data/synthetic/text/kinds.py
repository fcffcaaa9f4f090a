"""The kinds of text a :class:`~keras_textnet.data.synthetic.text.TextSampler` draws.

:data:`TEXT_KINDS` is the one table of the kinds drawn without arguments:
``{name: maker}``, a maker being a function ``(sampler, random.Random) -> str``
of a topic module (words, prose, numbers, dates, identifiers, contacts,
business, code) named after its kind. Each becomes a method of the sampler,
``sampler.<name>(rng) -> str``, documented by the maker's docstring.
:data:`CELL_MAKERS` is the table of the kinds of table cells
(``sampler.cell(rng, kind)``).
"""

from __future__ import annotations

from keras_textnet.data.synthetic.text import (business, code, contacts, dates, identifiers,
                                               numbers, prose, words)

#: ``{kind: maker}`` of the sampler's methods ``kind(rng) -> str``.
TEXT_KINDS = {make.__name__: make for make in (
    words.word, prose.heading, numbers.number, numbers.percent, numbers.amount, dates.date,
    dates.time, identifiers.identifier, contacts.email, contacts.url, contacts.phone,
    contacts.person_name, contacts.company, business.form_label, code.code_line,
    business.product)}

#: The kinds of table cells, and their makers.
CELL_MAKERS = {"text": business.cell_text, "number": business.cell_number,
               "amount": numbers.amount, "date": dates.date, "id": identifiers.identifier,
               "percent": numbers.percent, "name": contacts.person_name,
               "code": business.cell_code}

#: The kinds :meth:`~keras_textnet.data.synthetic.text.TextSampler.cell` accepts.
CELL_KINDS = tuple(CELL_MAKERS)
