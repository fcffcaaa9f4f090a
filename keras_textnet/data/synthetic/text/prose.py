"""Running text: sentences, paragraphs and headings."""

from __future__ import annotations

import string

from keras_textnet.data.synthetic.text.contacts import email, last_name, url
from keras_textnet.data.synthetic.text.dates import date, time
from keras_textnet.data.synthetic.text.identifiers import identifier
from keras_textnet.data.synthetic.text.numbers import amount, number, percent, roman
from keras_textnet.data.synthetic.text.words import plain_words

_SMALL_WORDS = frozenset("a an and as at but by for from in into nor of on or per the to "
                         "vs via with".split())
HEADINGS = (
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
# What a sentence's word is replaced by: the first entry whose bound exceeds a
# uniform draw (an acronym above the last).
_EMBEDDED_KINDS = ((0.42, number), (0.52, amount), (0.6, date), (0.66, percent),
                   (0.72, identifier), (0.78, email), (0.84, url), (0.88, time),
                   (0.95, last_name))
# Numbered headings, one drawn uniformly: "3. Results", "3.2 Results", ...
_NUMBERED_HEADINGS = ("{a}. {title}", "{a}.{b} {title}", "{a}.{b}.{c} {title}", "{a} {title}",
                      "Section {a}: {title}", "Chapter {a} - {title}",
                      "{a_roman}. {title_upper}", "Appendix {a_letter}: {title}",
                      "({a_small_letter}) {title}")


def sentence(sampler, r, min_words: int = 4, max_words: int = 18) -> str:
    n = r.randint(min_words, max_words)
    tokens = plain_words(sampler, r, n)
    for i in range(n):
        u = r.random()
        if u < 0.05:
            tokens[i] = tokens[i][:1].upper() + tokens[i][1:]
        elif u < 0.06:
            tokens[i] = tokens[i].upper()
        elif u < 0.09 and len(tokens[i]) > 2:  # a compound of two content words
            tokens[i] += "-" + sampler._words[r.randrange(min(100, len(sampler._words) // 2),
                                                          min(8000, len(sampler._words)))]
        elif u < 0.15:
            tokens[i] = embedded(sampler, r)
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


def embedded(sampler, r) -> str:
    """A number, amount, date, e-mail ... standing for a word of a sentence."""
    u = r.random()
    for bound, make in _EMBEDDED_KINDS:
        if u < bound:
            return make(sampler, r)
    return plain_words(sampler, r, 1)[0].upper()[:r.randint(2, 5)]  # an acronym


def paragraph(sampler, r, min_sentences: int = 2, max_sentences: int = 6) -> str:
    return " ".join(sentence(sampler, r, 3, 22)
                    for _ in range(r.randint(min_sentences, max_sentences)))


def title_case(words: list[str]) -> str:
    return " ".join(w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:]
                    for i, w in enumerate(words))


def heading(sampler, r) -> str:
    """A heading: Title Case, ALL CAPS, or numbered (``"3.2 Results"``)."""
    u = r.random()
    if u < 0.3:
        text = title_case(plain_words(sampler, r, r.randint(1, 6)))
    elif u < 0.5:
        text = r.choice(HEADINGS)
    elif u < 0.62:
        text = " ".join(plain_words(sampler, r, r.randint(1, 4))).upper()
    elif u < 0.7:
        text = r.choice(HEADINGS).upper()
    else:
        title = (r.choice(HEADINGS) if r.random() < 0.5
                 else title_case(plain_words(sampler, r, r.randint(1, 5))))
        a, b, c = r.randint(1, 12), r.randint(1, 9), r.randint(1, 6)
        form = _NUMBERED_HEADINGS[r.randrange(len(_NUMBERED_HEADINGS))]
        return form.format(a=a, b=b, c=c, title=title, title_upper=title.upper(),
                           a_roman=roman(a), a_letter=string.ascii_uppercase[a % 26],
                           a_small_letter=string.ascii_lowercase[a % 26])
    return text
