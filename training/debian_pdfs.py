"""The files of installed Debian packages that a sources file's patterns name.

Shared by ``training/build_pdf_dataset.sh`` and ``training/build_val_set.sh`` (their
Python reads it from this folder). A row of a sources file is a package followed by
glob patterns of its files: ``**`` crosses folders, ``*`` and ``?`` stay in one, a
relative pattern matches at any depth, and ``!PATTERN`` excludes.

>>> bool(glob_regex("*.pdf").match("/usr/share/doc/a/b.pdf"))
True
>>> bool(glob_regex("/usr/*/b.pdf").match("/usr/share/doc/b.pdf"))
False
"""

from __future__ import annotations

import os
import re
import subprocess


def glob_regex(pattern: str) -> re.Pattern:
    """`**` crosses folders, `*` and `?` stay in one; relative patterns match at any depth."""
    rx, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            rx, i = rx + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            rx, i = rx + ".*", i + 2
        elif pattern[i] == "*":
            rx, i = rx + "[^/]*", i + 1
        elif pattern[i] == "?":
            rx, i = rx + "[^/]", i + 1
        else:
            rx, i = rx + re.escape(pattern[i]), i + 1
    return re.compile(("" if pattern.startswith("/") else "(?:.*/)?") + rx + r"\Z")


def dpkg_files(package: str) -> list[str] | None:
    """The paths ``dpkg -L`` lists for an installed package; ``None`` when it is not installed."""
    res = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    return res.stdout.splitlines() if res.returncode == 0 else None


def matching_files(paths, patterns) -> list[str]:
    """The real paths of the existing files among ``paths`` that ``patterns`` select.

    A path is selected when it matches a pattern and no ``!`` pattern; the result
    keeps the order of ``paths`` and names each real file once.
    """
    include = [glob_regex(p) for p in patterns if not p.startswith("!")]
    exclude = [glob_regex(p[1:]) for p in patterns if p.startswith("!")]
    out, seen = [], set()
    for name in paths:
        if (any(r.match(name) for r in include) and not any(r.match(name) for r in exclude)
                and os.path.isfile(name)):
            real = os.path.realpath(name)
            if real not in seen:
                seen.add(real)
                out.append(real)
    return out
