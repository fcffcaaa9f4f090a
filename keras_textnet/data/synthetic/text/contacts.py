"""People and organisations, from Faker: names, companies, e-mails, URLs, phones, addresses."""

from __future__ import annotations

import string
import unicodedata

from keras_textnet.data.synthetic.text.code import code_word
from keras_textnet.data.synthetic.text.identifiers import digits

_COMPANY_SUFFIXES = ("Ltd.", "GmbH", "LLC", "Inc.", "S.A.", "AG", "Co.", "Group", "Holdings",
                     "Partners")
# Digit groups filled into each form, drawn uniformly (when Faker's own number is not used).
_PHONE_FORMS = (
    ("+1 ({}) {}-{}", (3, 3, 4)),
    ("+44 {} {} {}", (2, 4, 4)),
    ("+49 {} {}", (3, 7)),
    ("Tel. {}/{}", (3, 6)),
    ("+33 {} {} {} {} {}", (1, 2, 2, 2, 2)),
)


def _ascii_slug(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.lower())
                   if c in string.ascii_lowercase) or "user"


def person_name(sampler, r) -> str:
    """A name: ``"Jane Doe"``, ``"Doe, Jane"``, ``"J. Doe"`` ..."""
    fake = sampler._fake
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


def last_name(sampler, r) -> str:
    return sampler._fake.last_name()


def company(sampler, r) -> str:
    """A company name."""
    name = sampler._fake.company()
    if r.random() < 0.15:
        name = f"{name.split(',')[0].split(' ')[0]} {r.choice(_COMPANY_SUFFIXES)}"
    return name.upper() if r.random() < 0.07 else name


def email(sampler, r) -> str:
    """An e-mail address."""
    fake = sampler._fake
    if r.random() < 0.6:
        return fake.email(safe=r.random() < 0.3)
    first, last = _ascii_slug(fake.first_name()), _ascii_slug(fake.last_name())
    user = r.choice((f"{first}.{last}", f"{first[:1]}{last}", f"{first}_{last}",
                     f"{first}{r.randint(1, 99)}", r.choice(("info", "sales", "support",
                                                             "billing", "office", "hr"))))
    return f"{user}@{fake.domain_name()}"


def url(sampler, r) -> str:
    """A web address, with or without its scheme."""
    fake = sampler._fake
    u = r.random()
    if u < 0.35:
        return fake.url()
    if u < 0.75:
        path = "/".join(code_word(sampler, r) for _ in range(r.randint(1, 3)))
        text = f"{r.choice(('https://', 'https://www.', 'http://'))}{fake.domain_name()}/{path}"
        v = r.random()
        if v < 0.25:
            text += f"?id={r.randint(1, 99999)}"
        elif v < 0.4:
            text += r.choice((".html", ".pdf", ".php", "/"))
        return text
    return f"www.{fake.domain_name()}"


def phone(sampler, r) -> str:
    """A telephone number, in the locale's form or an international one."""
    if r.random() < 0.7:
        return sampler._fake.phone_number()
    form, groups = _PHONE_FORMS[r.randrange(len(_PHONE_FORMS))]
    return form.format(*[digits(r, n) for n in groups])


def address_lines(sampler, r) -> list[str]:
    fake = sampler._fake
    lines = []
    u = r.random()
    if u < 0.35:
        lines.append(person_name(sampler, r))
    elif u < 0.55:
        lines.append(company(sampler, r))
    lines.extend(x for x in fake.address().split("\n") if x.strip())
    if r.random() < 0.2:
        lines.append(r.choice(("United States", "USA", "U.S.A.")) if sampler.locale == "en_US"
                     else fake.country())
    return lines[:5]
