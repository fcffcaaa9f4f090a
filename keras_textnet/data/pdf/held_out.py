"""The held-out guard: PDFs of Debian packages kept for the independent evaluation.

The PDFs of the Debian packages in :data:`HELD_OUT_PACKAGES` are kept for the
project's independent evaluation. :func:`~keras_textnet.data.pdf.pdf_to_annotations`
refuses them with :class:`HeldOutPDFError` unless ``allow_held_out=True``;
**that flag exists only for building the independent evaluation set** and must
never be used to build training or validation data.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from keras_textnet.data.pdf.poppler import _is_gzip

#: Debian packages whose PDFs belong to the independent evaluation set.
HELD_OUT_PACKAGES = ("python-reportlab-doc", "gutenprint-doc", "texlive-latex-recommended-doc",
                     "texlive-humanities-doc", "auto-multiple-choice-doc-pdf", "octave-doc",
                     "r-doc-pdf", "ghostscript-doc", "debmake-doc", "mrbayes-doc", "nauty-doc")


class HeldOutPDFError(ValueError):
    """A PDF belongs to a held-out Debian package (see :data:`HELD_OUT_PACKAGES`)."""

    def __init__(self, path, package: str):
        super().__init__(
            f"{path}: belongs to the held-out Debian package {package!r}, whose documents "
            f"are reserved for the independent evaluation; use another PDF "
            f"(allow_held_out=True exists only for building that evaluation set).")
        self.path = str(path)
        self.package = package


def _dpkg_owners(paths: Sequence[str]) -> dict[str, set[str]]:
    """``{path: {package, ...}}`` from ``dpkg -S`` ({} where dpkg is absent)."""
    if not shutil.which("dpkg"):
        return {}
    try:
        res = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    owners: dict[str, set[str]] = {}
    for row in res.stdout.splitlines():
        if row.startswith("diversion by"):
            continue
        head, sep, path = row.partition(": ")
        if not sep:
            continue
        pkgs = {p.strip().split(":")[0] for p in head.split(",")}
        owners.setdefault(path.strip(), set()).update(pkgs)
    return owners


def _installed_held_out() -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    try:
        res = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n",
                              *HELD_OUT_PACKAGES], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [row.split()[0] for row in res.stdout.splitlines()
            if len(row.split()) == 2 and row.split()[1] == "installed"]


def _content_size(path: str) -> int | None:
    """Size of a file's content (the uncompressed size for ``.gz``)."""
    try:
        if path.endswith(".gz"):
            with open(path, "rb") as f:
                f.seek(-4, os.SEEK_END)
                return int.from_bytes(f.read(4), "little")
        return os.path.getsize(path)
    except OSError:
        return None


def _content_sha1(path: str) -> str | None:
    h = hashlib.sha1()
    try:
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _held_out_fingerprints() -> dict[int, list[tuple[str, str]]]:
    """``{content size: [(file, package)]}`` for the PDFs of installed held-out packages."""
    index: dict[int, list[tuple[str, str]]] = {}
    for pkg in _installed_held_out():
        try:
            res = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for name in res.stdout.splitlines():
            if name.lower().endswith((".pdf", ".pdf.gz")) and os.path.isfile(name):
                size = _content_size(name)
                if size is not None:
                    index.setdefault(size, []).append((name, pkg))
    return index


def held_out_package(pdf_path) -> str | None:
    """The held-out Debian package a PDF comes from, or ``None``.

    Three checks, cheapest first: a path component named after a held-out
    package (``/usr/share/doc/octave-doc/...``, or a copy kept in a folder of
    that name), ``dpkg -S`` on the path as given and resolved (held-out TeX Live
    packages share ``/usr/share/doc/texlive-doc/`` with others), and a
    fingerprint (content size, then SHA-1, ``.gz`` looked through) against the
    PDFs of every installed held-out package, which catches renamed copies.
    """
    return held_out_packages([pdf_path])[0]


def held_out_packages(pdf_paths: Sequence) -> list[str | None]:
    """:func:`held_out_package` for many paths, with one ``dpkg -S`` call."""
    found: list[str | None] = [None] * len(pdf_paths)
    candidates: list[tuple[int, str, str]] = []
    for k, pdf_path in enumerate(pdf_paths):
        given = os.path.abspath(os.fspath(pdf_path))
        real = os.path.realpath(given)
        for cand in dict.fromkeys((given, real)):
            for part in Path(cand).parts:
                if part in HELD_OUT_PACKAGES and found[k] is None:
                    found[k] = part
        if found[k] is None:
            candidates.append((k, given, real))
    if not candidates:
        return found
    owners = _dpkg_owners(list(dict.fromkeys(p for _, g, r in candidates for p in (g, r))))
    for k, given, real in candidates:
        pkgs = sorted(owners.get(given, set()) | owners.get(real, set()))
        held = [p for p in pkgs if p in HELD_OUT_PACKAGES]
        if held:
            found[k] = held[0]
            continue
        if os.path.isfile(real):
            size = _content_size(real)
            matches = _held_out_fingerprints().get(size, []) if size is not None else []
            digest = _content_sha1(real) if matches else None
            for name, pkg in matches:
                if digest is not None and _content_sha1(name) == digest:
                    found[k] = pkg
                    break
    return found
