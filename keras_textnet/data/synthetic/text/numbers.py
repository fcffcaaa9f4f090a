"""Numbers, percentages and amounts of money."""

from __future__ import annotations

UNITS = ("kg", "g", "mg", "lb", "oz", "m", "cm", "mm", "km", "in", "ft", "l", "ml", "GB",
         "MB", "TB", "kB", "W", "kW", "V", "mA", "Hz", "MHz", "GHz", "h", "min", "s", "ms",
         "pcs", "units", "km/h", "m2", "psi", "dpi")
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN",
              "CZK", "INR", "CNY", "SGD", "NZD")
CURRENCY_SYMBOLS = ("$", "\u20ac", "\u00a3", "\u00a5")


def group(digits: str, sep: str) -> str:
    if not sep or len(digits) <= 3:
        return digits
    head = len(digits) % 3 or 3
    return digits[:head] + "".join(sep + digits[i:i + 3] for i in range(head, len(digits), 3))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def roman(n: int) -> str:
    out = []
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


def int_text(sampler, r, max_digits: int = 7, sep: str | None = None) -> str:
    v = int(10 ** (r.random() * max_digits))
    if sep is None:
        sep = "," if v >= 1000 and r.random() < 0.6 else ""
    return group(str(v), sep)


def number(sampler, r) -> str:
    """Integers, decimals, thousands separators, percentages, ranges, ordinals,
    fractions, numbers with units."""
    u = r.random()
    if u < 0.2:
        return str(r.randint(0, 100))
    if u < 0.35:
        return int_text(sampler, r)
    if u < 0.5:
        v = 10 ** (r.random() * 5)
        return f"{v:,.{r.randint(1, 3)}f}" if r.random() < 0.4 else f"{v:.{r.randint(1, 3)}f}"
    if u < 0.54:  # European style
        v = 10 ** (r.random() * 6)
        return f"{v:,.2f}".replace(",", "#").replace(".", ",").replace("#", ".")
    if u < 0.62:
        return percent(sampler, r)
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
        return ordinal(r.randint(1, 120) if r.random() < 0.8 else r.randint(1, 2030))
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
        return f"{num} {r.choice(UNITS)}" if r.random() < 0.7 else num + r.choice(UNITS)
    form = r.randrange(4)
    n = r.randint(1, 999)
    return (f"No. {n}" if form == 0 else f"#{n}" if form == 1
            else f"x{r.randint(1, 24)}" if form == 2 else f"{n}x")


def percent(sampler, r) -> str:
    """``"12%"``, ``"3.75 %"``, ``"-0.5%"``."""
    v = r.random() * (100 if r.random() < 0.85 else 1000)
    text = f"{v:.{r.choice((0, 0, 1, 1, 2))}f}"
    if r.random() < 0.12:
        text = "-" + text
    elif r.random() < 0.06:
        text = "+" + text
    return text + ("%" if r.random() < 0.85 else " %")


def amount(sampler, r) -> str:
    """Money: ``"$1,234.56"``, ``"12.00 EUR"``, ``"(45.10)"``, ``"-3.50"`` ..."""
    v = 10 ** (r.random() * 6.3 - 1.5)
    decimals = 0 if v >= 1 and r.random() < 0.12 else 2
    sep = "," if r.random() < 0.75 else ""
    num = f"{v:,.{decimals}f}" if sep else f"{v:.{decimals}f}"
    form = r.random()
    if form < 0.08:  # 1.234,56 EUR
        num = num.replace(",", "#").replace(".", ",").replace("#", ".")
        return f"{num} {r.choice(CURRENCIES)}" if r.random() < 0.7 else num
    sym = r.choice(sampler._currency_symbols) if sampler._currency_symbols else "$"
    if form < 0.4:
        text = sym + num if r.random() < 0.85 else f"{sym} {num}"
    elif form < 0.55:
        text = f"{num} {r.choice(CURRENCIES)}"
    elif form < 0.65:
        text = f"{r.choice(CURRENCIES)} {num}"
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
