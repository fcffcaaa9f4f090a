"""Identifiers: invoice and order numbers, SKUs, IBAN-like, ISBN, hashes, serial numbers."""

from __future__ import annotations

import string

_INVOICE_PREFIXES = ("INV", "INV", "RE", "BILL", "CN")
_ORDER_PREFIXES = ("PO", "SO", "ORD", "DN", "RMA")
_SKU_VARIANTS = ("X", "BLK", "WHT", "L", "M", "S")
_VAT_COUNTRIES = ("GB", "DE", "FR", "NL", "IT", "ES")
_UPPER_ALNUM = string.ascii_uppercase + string.digits


def letters(r, n: int) -> str:
    return "".join(r.choice(string.ascii_uppercase) for _ in range(n))


def digits(r, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _hex(r, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _isbn(r, year: int) -> str:
    numbers = [9, 7, 8] + [r.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(numbers)) % 10) % 10
    s = "".join(map(str, numbers)) + str(check)
    text = f"{s[:3]}-{s[3]}-{s[4:6]}-{s[6:12]}-{s[12]}" if r.random() < 0.7 else s
    return "ISBN " + text if r.random() < 0.5 else text


def _order_number(r, year: int) -> str:
    sep = r.choice(("-", " ", "#", ""))
    return f"{r.choice(_ORDER_PREFIXES)}{sep}{r.randint(1000, 9999999)}"


def _sku(r, year: int) -> str:
    if r.random() < 0.5:
        return f"{letters(r, 3)}{r.randint(10, 9999)}"
    return f"{letters(r, 2)}-{r.randint(100, 9999)}-{r.choice(_SKU_VARIANTS)}"


def _iban(r, year: int) -> str:
    """IBAN-like, grouped by four or not."""
    country = r.choice(("DE", "GB", "FR", "NL", "ES", "IT", "CH", "BE", "AT"))
    body = f"{r.randint(10, 99)}" + digits(r, r.randint(14, 24))
    if country in ("GB", "NL"):
        body = body[:2] + letters(r, 4) + body[6:]
    text = country + body
    if r.random() < 0.4:
        return text
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def _uuid_part(r, year: int) -> str:
    text = "-".join(_hex(r, k) for k in (8, 4, 4, 4, 12)[:r.choice((2, 3, 5))])
    return text if r.random() < 0.8 else text.upper()


# One form is drawn uniformly; each takes the random generator and a year.
_IDENTIFIER_FORMS = (
    lambda r, year: f"{r.choice(_INVOICE_PREFIXES)}-{year}-{r.randint(1, 99999):05d}",
    _order_number,
    _sku,
    _iban,
    _isbn,
    lambda r, year: _hex(r, r.choice((7, 8, 12, 16, 40))),
    lambda r, year: "0x" + _hex(r, r.choice((4, 8, 8, 12))),
    _uuid_part,
    lambda r, year: (f"{r.choice(('P/N ', 'Part No. ', 'PN: ', ''))}{r.randint(1000, 9999)}"
                     f"-{r.randint(0, 999):03d}-{letters(r, 1)}"),
    lambda r, year: "1Z" + "".join(r.choice(_UPPER_ALNUM) for _ in range(16)),
    lambda r, year: f"{r.choice(_VAT_COUNTRIES)}{r.randint(100000000, 999999999)}",
    lambda r, year: f"{letters(r, r.randint(2, 5))}-{r.randint(1, 9999)}",
    lambda r, year: "S/N: " + "-".join(_hex(r, 4).upper() for _ in range(3)),
    lambda r, year: f"Acct. {r.randint(0, 10**12 - 1):012d}",
    lambda r, year: f"Ref: {year}/{letters(r, 3)}/{r.randint(1, 9999):04d}",
    lambda r, year: f"No. {year}/{r.randint(1, 9999):04d}",
    lambda r, year: f"#{r.randint(10000, 99999999)}",
    lambda r, year: (f"{letters(r, 1)}{r.randint(10, 99)}-{r.randint(1000, 9999)}"
                     f"-{r.randint(10, 99)}"),
)


def identifier(sampler, r) -> str:
    """Invoice/order numbers, SKUs, IBAN-like, ISBN, hashes, UUID parts, part numbers."""
    form = _IDENTIFIER_FORMS[r.randrange(len(_IDENTIFIER_FORMS))]
    return form(r, r.randint(2015, 2030))
