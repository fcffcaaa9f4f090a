"""Dates and times of day, each in one of many written forms."""

from __future__ import annotations

from keras_textnet.data.synthetic.text.numbers import ordinal

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# One form is drawn uniformly; the comments show 5 March 2024.
_DATE_FORMS = (
    "{year}-{month:02d}-{day:02d}",             # 2024-03-05
    "{day:02d}/{month:02d}/{year}",             # 05/03/2024
    "{month:02d}/{day:02d}/{year}",             # 03/05/2024
    "{month}/{day}/{yy:02d}",                   # 3/5/24
    "{mon} {day}, {year}",                      # March 5, 2024
    "{day} {mon3} {year}",                      # 5 Mar 2024
    "{wday3} {day:02d}.{month:02d}.{yy:02d}",   # Tue 05.03.24
    "{day:02d}.{month:02d}.{year}",             # 05.03.2024
    "{day}.{month}.{year}",                     # 5.3.2024
    "{mon3} {day}",                             # Mar 5
    "{day_ordinal} {mon} {year}",               # 5th March 2024
    "{wday}, {mon} {day}, {year}",              # Tuesday, March 5, 2024
    "{year}/{month:02d}/{day:02d}",             # 2024/03/05
    "{year}{month:02d}{day:02d}",               # 20240305
    "{day:02d}-{mon3}-{year}",                  # 05-Mar-2024
    "{mon3_upper} {day:02d} {year}",            # MAR 05 2024
    "Q{quarter} {year}",                        # Q1 2024
    "{mon} {year}",                             # March 2024
    "{month:02d}/{year}",                       # 03/2024
    "{day} {mon} {year}",                       # 5 March 2024
    "{wday3}, {day} {mon3} {year}",             # Tue, 5 Mar 2024
    "{mon3}. {day}, {year}",                    # Mar. 5, 2024
)

_TIME_ZONES = ("UTC", "GMT", "CET", "EST", "PST", "h")
# One form is drawn uniformly (the first three times as often); the comments show 14:30:02.
_TIME_FORMS = (
    "{h:02d}:{m:02d}", "{h:02d}:{m:02d}", "{h:02d}:{m:02d}",   # 14:30
    "{h}:{m:02d}",                                             # 14:30 (9:05 at 9)
    "{h12}:{m:02d} {ampm}",                                    # 2:30 PM
    "{h12}:{m:02d}{ampm_lower}",                               # 2:30pm
    "{h:02d}:{m:02d}:{s:02d}",                                 # 14:30:02
    "{h12}.{m:02d} {ampm_lower}",                              # 2.30 pm
    "{h:02d}:{m:02d} {zone}",                                  # 14:30 UTC
    "{h:02d}h{m:02d}",                                         # 14h30
    "{h12}:{m:02d} {ampm_dotted}",                             # 2:30 p.m.
    "T{h:02d}:{m:02d}:{s:02d}Z",                               # T14:30:02Z
)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def weekday(year: int, month: int, day: int) -> int:
    """Monday = 0 (Sakamoto's method; no datetime objects on the hot path)."""
    t = (0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4)
    y = year - (month < 3)
    return (y + y // 4 - y // 100 + y // 400 + t[month - 1] + day + 6) % 7


def date(sampler, r) -> str:
    """A date in one of many formats (``"2024-03-05"``, ``"March 5, 2024"`` ...)."""
    year = r.randint(1990, 2035) if r.random() < 0.85 else r.randint(1900, 1989)
    month = r.randint(1, 12)
    day = r.randint(1, days_in_month(year, month))
    mon = MONTHS[month - 1]
    wday = DAYS[weekday(year, month, day)]
    form = _DATE_FORMS[r.randrange(len(_DATE_FORMS))]
    return form.format(year=year, month=month, day=day, yy=year % 100, mon=mon,
                       mon3=mon[:3], mon3_upper=mon[:3].upper(), wday=wday, wday3=wday[:3],
                       day_ordinal=ordinal(day), quarter=(month - 1) // 3 + 1)


def time(sampler, r) -> str:
    """A time of day (``"14:30"``, ``"2:30 PM"``, ``"08:15:02"`` ...)."""
    h, m, s = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
    ampm = "AM" if h < 12 else "PM"
    form = _TIME_FORMS[r.randrange(len(_TIME_FORMS))]
    zone = r.choice(_TIME_ZONES) if "{zone}" in form else ""   # drawn only where it is shown
    return form.format(h=h, m=m, s=s, h12=h % 12 or 12, ampm=ampm, ampm_lower=ampm.lower(),
                       ampm_dotted="a.m." if h < 12 else "p.m.", zone=zone)
