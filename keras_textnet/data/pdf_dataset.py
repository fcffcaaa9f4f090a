"""Real-PDF datasets: pages of PDFs with a text layer, rendered, with word and line truth.

Each page is rendered by poppler (``pdftoppm``, media box, annotations hidden)
and its text layer is read with ``pdftotext -bbox-layout`` (page / flow / block
/ line / word, in PDF points, scaled by ``dpi / 72``). Poppler's word boxes
span the font's ascent and descent and the glyphs' advance widths; every word
box is **tightened to the ink** of the rendered page, the convention of
``shared/FORMATS.md`` (and of Tesseract's word boxes). Words of one line whose
boxes touch (poppler splits "LaTeX" into "L", "A", "TEX" at the baseline jumps)
are joined first.

Box convention: ``(x0, y0, x1, y1)`` in the pixels of the PNG as stored,
``x1`` / ``y1`` exclusive, axis-aligned, tight to the ink.

Tightening
----------
For one word, the *allowed region* is its poppler box widened by a margin
``m`` (2 px at 150 dpi) along the line, and its line's extent widened by ``m``
across the line. Inside a window 0.3 line heights larger:

1. the background colour is the per-channel median of the allowed region's
   one-pixel border; a pixel is ink when its largest per-channel difference
   from that colour exceeds ``max(20, 0.4 * contrast)``, ``contrast`` being the
   largest such difference inside the word's own poppler box. So coloured text,
   light-on-dark text and shaded backgrounds work alike; a box with a contrast
   under 40 of 255 has **no ink**;
2. ink runs entering the window from outside (horizontal ones at least the
   window padding long, vertical ones over half its height) are rules: table
   borders, staff lines, underlines. They are erased, which frees the glyphs
   touching them; the rest is split into 8-connected components. A component
   that still crosses the window is a frame or a background edge and is
   dropped. Every other component belongs to the word box covering the
   largest share of it (ties go to the smaller box, so a letter inside a huge
   symbol-font box stays with its own word). A word keeps its components whole
   when they lie mostly in its box. Of a component shared with a neighbour's
   box (touching glyphs, a descender meeting the next line's ascender) it keeps
   only the pixels in its own box and outside the owner's, and only if the
   component lies inside word boxes (a diagram arrow crossing several boxes
   does not). A neighbour's ascenders reaching into an overlapping line box
   are never stolen;
3. the box is the bounding box of the kept pixels, clipped to the allowed
   region. A word with no ink keeps its poppler box and is marked ignore.

Ignore rules (the reason is kept in a word's ``ignore_reason`` field)
---------------------------------------------------------------------
In this order; the first that applies names the reason.

* ``diagonal``: text at an angle that is not a multiple of 90 degrees: the
  fragments (at most 3 characters, alone on their line) that
  ``pdftotext -nodiag`` drops (see :func:`_flag_diagonal` for a poppler bug);
* ``off_page``: a word running off the page edge (its text is cut);
* ``rotated``: text at 90, 180 or 270 degrees. Poppler builds each block from
  text of one direction, so a block is rotated when its multi-word lines advance
  vertically or right-to-left, or when its words' boxes vote for it: a word of
  3+ characters whose box is taller than wide, or a single character whose box
  is much wider than tall (2-character words and symbols do not vote: their
  boxes look the same both ways);
* ``no_ink``: nothing drawn where the text layer says there is text (hidden,
  white, clipped or covered text);
* ``bad_box``: the only ink touching the box lies mostly outside it (the text
  layer's font metrics are wrong, or the box only grazes a graphic);
* ``busy_background``: the "ink" fills more than 85 % of its box although the
  word has 2+ letters or digits: a picture, not glyphs;
* ``symbol_font``: part of the word is set in a symbol, dingbat, music or
  phonetic font (:data:`SYMBOL_FONT_PATTERN`, font names from
  ``pdftohtml -xml``) whose text layer does not say what is drawn (eurosym's
  euro reads "e");
* ``overlap``: the ink box overlaps another word's ink box by more than 30 % of
  the smaller one (overprinted or garbled text layers);
* ``punctuation``: no letter and no digit;
* ``tiny``: an estimated x-height below 5 px in the output image (from the ink
  box height and which letters the word has: ascenders, descenders; raised to
  the median of its line's words);
* ``charset``: characters outside the charset after NFKC normalization
  (ligatures such as "ﬁ" become "fi") and mapping typographic quotes, dashes
  and the minus sign to ASCII ``'`` ``"`` ``-``.

A poppler ``<line>`` becomes one :class:`~keras_textnet.data.annotation.Line`:
its box is the union of its words' boxes, its text its words joined by single
spaces. It is ignore when all its words are ignore, or when its text or box
would be wrong for a line model: a word that is diagonal, off the page,
rotated, without ink, with a bad box, on a busy background, in a symbol font,
overlapping, or with characters outside the charset. (Punctuation and tiny
words do not spoil a line: its text still says what it shows.)

Held-out documents
------------------
The PDFs of the Debian packages in :data:`HELD_OUT_PACKAGES` are kept for the
project's independent evaluation. :func:`pdf_to_annotations` refuses them with
:class:`HeldOutPDFError` unless ``allow_held_out=True``; **that flag exists only
for building the independent evaluation set** and must never be used to build
training or validation data.

Example::

    from keras_textnet.data.pdf_dataset import pdf_to_annotations
    ann = pdf_to_annotations(["manual.pdf"], "data_cache/manual", dpi=150,
                             pages="1-5")
    ann.images[0].words[0].box      # (x0, y0, x1, y1), tight to the ink
"""

from __future__ import annotations

import concurrent.futures
import functools
import gzip
import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from keras_textnet.charset import Charset
from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line, Word

#: Debian packages whose PDFs belong to the independent evaluation set.
HELD_OUT_PACKAGES = ("python-reportlab-doc", "gutenprint-doc", "texlive-latex-recommended-doc",
                     "texlive-humanities-doc", "auto-multiple-choice-doc-pdf", "octave-doc",
                     "r-doc-pdf", "ghostscript-doc", "debmake-doc", "mrbayes-doc", "nauty-doc")

#: Minimum contrast (of 255) between ink and background for a word to have ink.
MIN_CONTRAST = 40
#: A word whose estimated x-height (output pixels) is below this is ``tiny``.
MIN_X_HEIGHT_PX = 5.0
#: Ink boxes overlapping by more than this fraction of the smaller one are ``overlap``.
MAX_INK_OVERLAP = 0.3

IGNORE_REASONS = ("diagonal", "off_page", "rotated", "no_ink", "bad_box", "busy_background",
                  "symbol_font", "overlap", "punctuation", "tiny", "charset")

#: Fonts whose text layer does not say what their glyphs show (no or wrong Unicode
#: mapping: the euro of eurosym reads "e", Emmentaler's note heads "."). Matched,
#: case-insensitive, against the font name without its subset prefix.
SYMBOL_FONT_PATTERN = re.compile(r"""(?ix)
    ^fey[mb] | eurosym | marvosym | ^wasy | ^lasy | ^manfnt | bbding | ^pzd | dingbat
  | wingding | webding | webomint | awesome | ^msam | ^msbm | ^stmary | mnsymbol | symbol
  | emmentaler | ^feta(?!mont) | parmesan | musix | bravura | lilyjazz | gonville
  | ^t?ipa | ^xipa | ^wsuipa | ^wncy | ^gr[mxuw][nlbo]\d | fourier-?orn | ^futs
  | ^ifsym | ^dice | ^skak | ^chess | ^cchess | ^skull | ^bbold | ^dsrom | ^cherokee""")

#: Typographic characters mapped to ASCII before the charset check (after NFKC).
TYPOGRAPHIC_TO_ASCII = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00ad": "-", "\u2043": "-",
}
_TYPO_TABLE = str.maketrans(TYPOGRAPHIC_TO_ASCII)


class PDFError(ValueError):
    """A PDF cannot be used: not a PDF, encrypted, damaged, or a bad page range.

    The message names the file.
    """


class HeldOutPDFError(ValueError):
    """A PDF belongs to a held-out Debian package (see :data:`HELD_OUT_PACKAGES`)."""

    def __init__(self, path, package: str):
        super().__init__(
            f"{path}: belongs to the held-out Debian package {package!r}, whose documents "
            f"are reserved for the independent evaluation; use another PDF "
            f"(allow_held_out=True exists only for building that evaluation set).")
        self.path = str(path)
        self.package = package


class PopplerNotFoundError(RuntimeError):
    """A poppler command-line tool is not installed."""


# ---------------------------------------------------------------------------
# Text normalization
# ---------------------------------------------------------------------------

def normalize_pdf_text(text: str) -> str:
    """NFKC (ligatures, NBSP, full-width forms) then typographic quotes/dashes to ASCII."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).translate(_TYPO_TABLE))


def is_punctuation_only(text: str) -> bool:
    """True when ``text`` has no letter and no digit (Unicode categories L* and N*)."""
    return not any(unicodedata.category(c)[0] in "LN" for c in text)


# Ink extent of characters in em, relative to the baseline: (top, bottom).
_CAP_TOP, _X_TOP, _DESC = 0.70, 0.45, -0.21
_ASCENDERS = set("bdfhklt") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") | set("!?#$%&@/\\|'\"")
_DESCENDERS = set("gjpqy")
_BRACKETS = set("()[]{}")


def _ink_extent_em(text: str) -> float:
    """Expected height in em of the ink of ``text`` (for the x-height estimate)."""
    top, bottom = 0.0, 0.0
    for c in text:
        if c in _BRACKETS:
            top, bottom = max(top, 0.75), min(bottom, -0.25)
            continue
        if c in _ASCENDERS or (c.isalpha() and c.isupper()):
            top = max(top, _CAP_TOP)
        elif c in "ij":
            top = max(top, 0.66)
        elif c.isalpha():
            top = max(top, _X_TOP)
        elif c in ",;":
            top, bottom = max(top, 0.1), min(bottom, -0.15)
        elif c in "-~=+*<>:":
            top = max(top, 0.35)
        else:
            top = max(top, 0.1)
        if c in _DESCENDERS:
            bottom = min(bottom, _DESC)
    return max(top - bottom, 0.1)


def estimate_x_height(text: str, ink_height: float) -> float:
    """x-height (same unit as ``ink_height``) of a word of ``text`` whose ink is that tall."""
    return _X_TOP * ink_height / _ink_extent_em(text)


# ---------------------------------------------------------------------------
# Held-out guard
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Poppler
# ---------------------------------------------------------------------------

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PopplerNotFoundError(
            f"{name} was not found on PATH. It comes with poppler: "
            f"`apt-get install poppler-utils` (Debian/Ubuntu), `brew install poppler` (macOS).")
    return path


def _run_tool(args: list[str], pdf: Path, what: str, timeout: float = 300) -> str:
    try:
        res = subprocess.run(args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PDFError(f"{pdf}: {what} took more than {timeout:.0f} s; the PDF may be "
                       f"damaged or very complex.") from None
    err = res.stderr.decode("utf-8", "replace").strip()
    if res.returncode != 0:
        if "password" in err.lower():
            raise PDFError(f"{pdf}: is encrypted with a password ({what} says: {err[-300:]!r}); "
                           f"decrypt it first (e.g. `qpdf --decrypt`).")
        raise PDFError(f"{pdf}: {what} failed with exit status {res.returncode}: {err[-500:]!r}")
    return res.stdout.decode("utf-8", "replace")


def _is_gzip(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


@dataclass
class _PDFInfo:
    path: Path          # the file poppler reads (a decompressed copy for .pdf.gz)
    source: Path        # the file the user named
    stem: str
    num_pages: int
    encrypted: bool


def _pdf_stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".pdf", ".PDF"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or "document"


def _check_pdf(source: Path, tmpdir: str) -> _PDFInfo:
    """Opens a PDF (or ``.pdf.gz``) with pdfinfo; raises :class:`PDFError` naming it."""
    if not source.exists():
        raise PDFError(f"{source}: no such file.")
    if not source.is_file():
        raise PDFError(f"{source}: is not a file.")
    path = source
    if _is_gzip(source):
        path = Path(tmpdir) / (hashlib.sha1(str(source).encode()).hexdigest()[:12] + ".pdf")
        try:
            with gzip.open(source, "rb") as fin, open(path, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise PDFError(f"{source}: is gzip-compressed but cannot be decompressed "
                           f"({e}).") from None
    with open(path, "rb") as f:
        head = f.read(1024)
    if b"%PDF-" not in head:
        raise PDFError(f"{source}: is not a PDF (it does not start with '%PDF-'; "
                       f"first bytes: {head[:16]!r}).")
    out = _run_tool([_tool("pdfinfo"), str(path)], source, "pdfinfo")
    fields = {}
    for row in out.splitlines():
        key, sep, value = row.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    try:
        num_pages = int(fields.get("Pages", ""))
    except ValueError:
        raise PDFError(f"{source}: pdfinfo reports no page count; the PDF may be "
                       f"damaged.") from None
    return _PDFInfo(path=path, source=source, stem=_pdf_stem(source), num_pages=num_pages,
                    encrypted=fields.get("Encrypted", "no").startswith("yes"))


def parse_page_spec(spec, num_pages: int | None = None, where: str = "pages") -> list[int]:
    """1-based page numbers from ``"1-5,8,10-"``, an int, a ``(first, last)`` tuple
    (inclusive range) or a list of ints.

    ``"10-"`` runs to the last page (needs ``num_pages``). Raises ``ValueError``
    naming the spec for malformed input, and :class:`PDFError` for pages beyond
    ``num_pages``.
    """
    if isinstance(spec, int) and not isinstance(spec, bool):
        pages = [spec]
    elif (isinstance(spec, tuple) and len(spec) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in spec)):
        if spec[1] < spec[0]:
            raise ValueError(f"{where}: page range {spec!r} runs backwards.")
        pages = list(range(spec[0], spec[1] + 1))
    elif isinstance(spec, str):
        pages = []
        for part in spec.replace(" ", "").split(","):
            m = re.fullmatch(r"(\d+)(?:-(\d*))?", part)
            if not m:
                raise ValueError(f"{where}: cannot read page range {spec!r} (expected e.g. "
                                 f"'1-5', '3', '1,4,9-12' or '10-').")
            a = int(m.group(1))
            if m.group(2) is None:
                b = a
            elif m.group(2) == "":
                if num_pages is None:
                    raise ValueError(f"{where}: open range {part!r} needs the page count.")
                b = max(num_pages, a)
            else:
                b = int(m.group(2))
            if b < a:
                raise ValueError(f"{where}: page range {part!r} runs backwards.")
            pages.extend(range(a, b + 1))
    else:
        try:
            pages = [int(p) for p in spec]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: pages must be a range string such as '1-5', an int or "
                             f"a list of ints; received {spec!r}.") from None
    if any(p < 1 for p in pages):
        raise ValueError(f"{where}: page numbers start at 1; received {spec!r}.")
    if num_pages is not None and pages and max(pages) > num_pages:
        raise PDFError(f"{where}: asks for page {max(pages)} but the document has "
                       f"{num_pages} page(s).")
    return list(dict.fromkeys(pages))


# ---------------------------------------------------------------------------
# pdftotext -bbox-layout
# ---------------------------------------------------------------------------

@dataclass
class _PWord:
    text: str
    box: tuple[float, float, float, float]      # points
    line: int
    diagonal: bool = False
    symbol_font: bool = False


@dataclass
class _PLine:
    block: int
    words: list[int] = field(default_factory=list)


@dataclass
class _PPage:
    width: float
    height: float
    words: list[_PWord]
    lines: list[_PLine]
    num_blocks: int


_BAD_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")


def _parse_bbox_layout(xhtml: str, pdf: Path, page: int) -> _PPage:
    """Parses the ``<doc>`` part of ``pdftotext -bbox-layout`` output (one page)."""
    start, end = xhtml.find("<doc>"), xhtml.rfind("</doc>")
    if start < 0 or end < 0:
        raise PDFError(f"{pdf}: pdftotext -bbox-layout gave no <doc> element for page {page}.")
    body = xhtml[start:end + len("</doc>")]
    body = _BARE_AMP.sub("&amp;", _BAD_XML_CHARS.sub("", body))
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise PDFError(f"{pdf}: cannot parse pdftotext's word boxes for page {page} "
                       f"({e}).") from None
    pages = root.findall("page")
    if len(pages) != 1:
        raise PDFError(f"{pdf}: pdftotext gave {len(pages)} pages for page {page}.")
    pg = pages[0]
    words: list[_PWord] = []
    lines: list[_PLine] = []
    nblock = 0
    for block in pg.iter("block"):
        for line in block.iter("line"):
            pl = _PLine(block=nblock)
            for w in line.iter("word"):
                text = "".join(w.itertext()).strip()
                try:
                    box = tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))
                except (TypeError, ValueError):
                    continue
                if not text or not all(math.isfinite(v) for v in box):
                    continue
                pl.words.append(len(words))
                words.append(_PWord(text=text, box=box, line=len(lines)))
            if pl.words:
                lines.append(pl)
        nblock += 1
    return _PPage(width=float(pg.get("width", 0)), height=float(pg.get("height", 0)),
                  words=words, lines=lines, num_blocks=nblock)


_FONTSPEC = re.compile(r'<fontspec id="(\d+)"[^>]*family="([^"]*)"')
_TEXT_RUN = re.compile(r'<text top="([-\d.]+)" left="([-\d.]+)" width="([-\d.]+)" '
                       r'height="([-\d.]+)" font="(\d+)"')


def _font_name(family: str) -> str:
    """``ABCDEF+TeX-feymr10`` -> ``feymr10``: no subset tag, no ``TeX-`` prefix."""
    name = family.split("+", 1)[-1]
    return name[4:] if name.lower().startswith("tex-") else name


def _symbol_font_runs(pdf: "_PDFInfo", page: int) -> np.ndarray:
    """``(n, 4)`` boxes (points, x0 y0 x1 y1) of the page's text in symbol fonts.

    ``pdftohtml -xml`` is the poppler tool that names the font of each run of
    text; the runs are matched to pdftotext's words by position.
    """
    args = [_tool("pdftohtml"), "-xml", "-i", "-q", "-stdout", "-zoom", "1", "-hidden",
            "-nomerge", "-noroundcoord", "-f", str(page), "-l", str(page), str(pdf.path)]
    try:
        out = _run_tool(args, pdf.source, "pdftohtml")
    except PDFError:
        # pdftohtml honours "no copying" permissions, which pdftotext does not.
        warnings.warn(f"{pdf.source}: pdftohtml cannot read it (copying not permitted?); "
                      f"words in symbol fonts are not detected.", stacklevel=2)
        return np.zeros((0, 4))
    symbol = {fid for fid, family in _FONTSPEC.findall(out)
              if SYMBOL_FONT_PATTERN.search(_font_name(family))}
    if not symbol:
        return np.zeros((0, 4))
    runs = [(float(left), float(top), float(left) + float(w), float(top) + float(h))
            for top, left, w, h, fid in _TEXT_RUN.findall(out) if fid in symbol]
    return np.asarray(runs, np.float64).reshape(-1, 4)


def _flag_symbol_fonts(page: _PPage, runs: np.ndarray) -> None:
    """Sets ``symbol_font`` on words holding text of a symbol-font run."""
    if not len(runs) or not page.words:
        return
    wb = np.asarray([w.box for w in page.words], np.float64)
    # A zero-width run (vertical text) gets a nominal width.
    r = runs.copy()
    r[:, 2] = np.maximum(r[:, 2], r[:, 0] + 0.5)
    iw = np.minimum(wb[:, None, 2], r[None, :, 2]) - np.maximum(wb[:, None, 0], r[None, :, 0])
    ih = np.minimum(wb[:, None, 3], r[None, :, 3]) - np.maximum(wb[:, None, 1], r[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    run_area = np.maximum((r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1]), 1e-6)
    hit = (inter / run_area[None, :] > 0.3).any(axis=1)
    for w, flag in zip(page.words, hit):
        w.symbol_font = w.symbol_font or bool(flag)


def _flag_diagonal(page: _PPage, kept: set[tuple]) -> None:
    """Sets ``diagonal`` on the words that ``pdftotext -nodiag`` dropped, with care.

    Poppler builds diagonal text out of short fragments, each alone on its line
    (every character sits on its own baseline). Its ``-nodiag`` has a bug: after
    a diagonal character in a PDF without space characters (TeX output), it
    drops every later character too. When it dropped anything but fragments,
    only fragments with another fragment diagonally next to them count.
    """
    missing = [i for i, w in enumerate(page.words) if _word_key(w) not in kept]
    if not missing:
        return

    def fragment(i: int) -> bool:
        return len(page.lines[page.words[i].line].words) == 1 and len(page.words[i].text) <= 3

    if all(fragment(i) for i in missing):
        for i in missing:
            page.words[i].diagonal = True
        return
    cand = [i for i in missing if fragment(i)]
    if len(cand) < 2:
        return
    b = np.asarray([page.words[i].box for i in cand], np.float64)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    dx, dy = np.abs(cx[:, None] - cx[None, :]), np.abs(cy[:, None] - cy[None, :])
    small = np.minimum(size[:, None], size[None, :])
    near = (np.hypot(dx, dy) < 1.2 * np.maximum(size[:, None], size[None, :])) \
        & (dx > 0.25 * small) & (dy > 0.25 * small)
    np.fill_diagonal(near, False)
    for k in np.flatnonzero(near.any(axis=1)):
        page.words[cand[k]].diagonal = True


def _word_key(w: _PWord) -> tuple:
    return (w.text, *(round(v, 1) for v in w.box))


def _merge_touching_words(page: _PPage) -> _PPage:
    """Joins words of a line whose boxes touch or overlap along the line.

    Poppler starts a new word where the baseline or the font size jumps even
    without a space: the raised "A" of the LaTeX logo gives "L", "A", "TEX".
    Words closer than 0.08 of the line height (a real space is over 0.1 em,
    poppler's own word-break) are one word on the page.
    """
    words: list[_PWord] = []
    lines: list[_PLine] = []
    for ln in page.lines:
        ws = [page.words[i] for i in ln.words]
        vertical = (len(ws) >= 2
                    and abs(ws[-1].box[1] - ws[0].box[1]) > abs(ws[-1].box[0] - ws[0].box[0]))
        a0, a1 = (1, 3) if vertical else (0, 2)      # along-the-line coordinates
        c0, c1 = (0, 2) if vertical else (1, 3)
        merged: list[_PWord] = []
        for w in ws:
            prev = merged[-1] if merged else None
            if prev is not None:
                cross = min(prev.box[c1] - prev.box[c0], w.box[c1] - w.box[c0])
                forward = w.box[a1] > prev.box[a1]
                gap = w.box[a0] - prev.box[a1]
                if forward and gap < 0.08 * cross:
                    box = (min(prev.box[0], w.box[0]), min(prev.box[1], w.box[1]),
                           max(prev.box[2], w.box[2]), max(prev.box[3], w.box[3]))
                    merged[-1] = _PWord(prev.text + w.text, box, len(lines),
                                        prev.diagonal or w.diagonal,
                                        prev.symbol_font or w.symbol_font)
                    continue
            merged.append(_PWord(w.text, w.box, len(lines), w.diagonal, w.symbol_font))
        first = len(words)
        lines.append(_PLine(block=ln.block, words=list(range(first, first + len(merged)))))
        words.extend(merged)
    return _PPage(width=page.width, height=page.height, words=words, lines=lines,
                  num_blocks=page.num_blocks)


# ---------------------------------------------------------------------------
# Orientation
# ---------------------------------------------------------------------------

def _rotated_blocks(page: _PPage) -> set[int]:
    """Blocks whose text is not upright (90, 180 or 270 degrees)."""
    votes: dict[int, list[float]] = {}
    strong: set[int] = set()
    for ln in page.lines:
        v = votes.setdefault(ln.block, [0.0, 0.0])          # [upright, rotated]
        if len(ln.words) >= 2:
            a, b = page.words[ln.words[0]].box, page.words[ln.words[-1]].box
            dx = (b[0] + b[2] - a[0] - a[2]) / 2
            dy = (b[1] + b[3] - a[1] - a[3]) / 2
            if abs(dy) > abs(dx) or dx < 0:
                strong.add(ln.block)
            else:
                v[0] += 3.0
        for i in ln.words:
            w = page.words[i]
            n = len(w.text)
            bw, bh = w.box[2] - w.box[0], w.box[3] - w.box[1]
            if bw <= 0 or bh <= 0 or is_punctuation_only(w.text):
                continue              # symbols (one glyph for ':=', say) do not vote
            if n >= 3:
                if bh > 1.1 * bw:
                    v[1] += n
                elif bw > bh:
                    v[0] += n
            elif n == 1:
                if bw > 1.3 * bh:
                    v[1] += 1
                elif bw < 0.9 * bh:
                    v[0] += 1
    return strong | {b for b, (up, rot) in votes.items() if rot > up}


def _is_vertical_line(page: _PPage, ln: _PLine) -> bool:
    """A rotated line runs vertically (90/270) rather than upside down (180)."""
    ws = [page.words[i].box for i in ln.words]
    x0 = min(b[0] for b in ws)
    y0 = min(b[1] for b in ws)
    x1 = max(b[2] for b in ws)
    y1 = max(b[3] for b in ws)
    if len(ws) >= 2:
        dx = abs(ws[-1][0] + ws[-1][2] - ws[0][0] - ws[0][2])
        dy = abs(ws[-1][1] + ws[-1][3] - ws[0][1] - ws[0][3])
        return dy > dx
    return (y1 - y0) > (x1 - x0) or len(page.words[ln.words[0]].text) == 1


# ---------------------------------------------------------------------------
# Ink tightening
# ---------------------------------------------------------------------------

def _pixel_box(box, scale, width, height) -> tuple[int, int, int, int]:
    """Poppler box (points) to the pixels it touches, clipped to the image (may be empty)."""
    x0 = max(0, int(math.floor(box[0] * scale + 1e-6)))
    y0 = max(0, int(math.floor(box[1] * scale + 1e-6)))
    x1 = min(width, int(math.ceil(box[2] * scale - 1e-6)))
    y1 = min(height, int(math.ceil(box[3] * scale - 1e-6)))
    if x0 < width and x1 <= x0:
        x1 = x0 + 1
    if y0 < height and y1 <= y0:
        y1 = y0 + 1
    return x0, y0, x1, y1


def _edge_runs(ink: np.ndarray) -> np.ndarray:
    """``(rows,)`` length of the ink run starting at column 0 of each row."""
    return np.where(ink.all(axis=1), ink.shape[1], np.argmin(ink, axis=1))


def _erase_rules(ink: np.ndarray, pad: int) -> None:
    """Erases, in place, ink runs that enter the window from outside.

    Horizontal runs touching the left or right edge and at least ``pad`` long,
    and vertical runs touching the top or bottom edge over half the height, are
    rules: table borders, staff lines, underlines. Erasing them frees the glyphs
    they touch (a digit sitting on a staff line, descenders through an underline).
    """
    hh, ww = ink.shape
    cols = np.arange(ww)[None, :]
    rows = np.arange(hh)[:, None]
    left, right = _edge_runs(ink), _edge_runs(ink[:, ::-1])
    top, bottom = _edge_runs(ink.T), _edge_runs(ink[::-1].T)
    pad = max(pad, 2)
    erase = (cols < np.where(left >= pad, left, 0)[:, None])
    erase |= (cols >= ww - np.where(right >= pad, right, 0)[:, None])
    half = max(hh // 2, 2)
    erase |= (rows < np.where(top >= half, top, 0)[None, :])
    erase |= (rows >= hh - np.where(bottom >= half, bottom, 0)[None, :])
    ink[erase] = False


class InkBox(NamedTuple):
    """What :func:`tighten_to_ink` found for one word."""

    box: tuple[int, int, int, int] | None   #: (x0, y0, x1, y1), x1/y1 exclusive; None unless "ok"
    status: str                             #: "ok", "no_ink", "bad_box" or "busy"
    fill: float = 0.0                       #: share of the box's pixels that are the word's ink


def tighten_to_ink(image: np.ndarray, boxes: np.ndarray, index: int,
                   allowed: tuple[int, int, int, int], window_pad: int) -> InkBox:
    """The ink box of word ``index`` (see the module docstring for the method).

    Args:
        image: ``(height, width, channels)`` uint8 page.
        boxes: ``(num_words, 4)`` int poppler boxes ``(x0, y0, x1, y1)`` of all the
            page's words, in pixels, x1/y1 exclusive.
        index: the word.
        allowed: ``(x0, y0, x1, y1)`` the region the ink box must stay in.
        window_pad: extra pixels around ``allowed`` in which components are
            followed (to recognize rules and neighbours' glyphs).

    Returns:
        An :class:`InkBox`. Its ``status`` is ``"ok"`` with a box, or, without
        one: ``"no_ink"`` (nothing drawn in the box), ``"bad_box"`` (the only ink
        touching the box lies mostly outside it and no other word claims it:
        wrong font metrics in the text layer, or a box grazing a graphic), or
        ``"busy"`` (over a third of the region's border differs from the
        background: the word sits on a picture or under one).
    """
    h, w = image.shape[:2]
    ax0, ay0, ax1, ay1 = allowed
    if ax1 <= ax0 or ay1 <= ay0:
        return InkBox(None, "no_ink")
    wx0, wy0 = max(0, ax0 - window_pad), max(0, ay0 - window_pad)
    wx1, wy1 = min(w, ax1 + window_pad), min(h, ay1 + window_pad)
    win = image[wy0:wy1, wx0:wx1].astype(np.int16)
    # Background: median of the allowed region's one-pixel border.
    reg = win[ay0 - wy0:ay1 - wy0, ax0 - wx0:ax1 - wx0]
    ring = np.concatenate([reg[0], reg[-1], reg[1:-1, 0], reg[1:-1, -1]], axis=0)
    bg = np.median(ring, axis=0)
    diff = np.abs(win - bg.astype(np.int16)).max(axis=2) if win.ndim == 3 else np.abs(win - bg)
    ox0, oy0, ox1, oy1 = (int(v) for v in boxes[index])
    own = np.zeros(diff.shape, bool)
    own[max(oy0 - wy0, 0):max(oy1 - wy0, 0), max(ox0 - wx0, 0):max(ox1 - wx0, 0)] = True
    own_diff = diff[own]
    if own_diff.size == 0:
        return InkBox(None, "no_ink")
    contrast = int(own_diff.max())
    if contrast < MIN_CONTRAST:
        return InkBox(None, "no_ink")
    ink = diff > max(MIN_CONTRAST // 2, 0.4 * contrast)
    _erase_rules(ink, window_pad)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return InkBox(None, "no_ink")
    # The word's box first, then every other word box that reaches into the window.
    hit = (boxes[:, 0] < wx1) & (boxes[:, 2] > wx0) & (boxes[:, 1] < wy1) & (boxes[:, 3] > wy0)
    hit[index] = False
    near = np.concatenate([boxes[index:index + 1], boxes[hit]], axis=0)
    rects = [(max(y0 - wy0, 0), max(y1 - wy0, 0), max(x0 - wx0, 0), max(x1 - wx0, 0))
             for x0, y0, x1, y1 in near.tolist()]
    counts = np.stack([np.bincount(labels[r0:r1, c0:c1].ravel(), minlength=n)
                       for r0, r1, c0, c1 in rects]).astype(np.float64)
    cover = counts / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)[None, :]
    in_any = np.zeros(labels.shape, bool)
    for r0, r1, c0, c1 in rects:
        in_any[r0:r1, c0:c1] = True
    free = 1.0 - np.bincount(labels[in_any], minlength=n) / np.maximum(
        stats[:, cv2.CC_STAT_AREA], 1)
    area = ((near[:, 2] - near[:, 0]) * (near[:, 3] - near[:, 1])).astype(np.float64)
    wh, ww = diff.shape
    cx, cy, cw, ch = (stats[:, k] for k in range(4))
    crosses = ((cx == 0) & (cw == ww)) | ((cy == 0) & (ch == wh))   # frames, background edges
    # The box covering most of a component owns it; ties go to the smaller box.
    by_area = np.argsort(area, kind="stable")
    best = by_area[np.argmax(cover[by_area], axis=0)]
    cols = np.arange(n)
    rest = cover.copy()
    rest[best, cols] = -1.0
    second = rest.max(axis=0) if len(near) > 1 else np.zeros(n)
    mine = (cover[0] > 0) & ~crosses
    mine[0] = False
    keep_whole = mine & (best == 0) & (cover[0] >= 0.5) & ((second < 0.2) | (cover[0] >= 0.8))
    # Mostly outside every box: a graphic grazing the box (an arrow tip), or, when
    # the word has nothing else, its own glyphs under wrong font metrics.
    stray = mine & ~keep_whole & (best == 0) & (second == 0)
    # Shared with a neighbour: only its pixels in this box and outside the owner's box
    # (nothing of a neighbour's glyph that merely reaches into this box).
    # Graphics crossing several boxes (diagram arrows) reach outside all of them.
    partial = mine & ~keep_whole & ~stray & ((best == 0) | (cover[0] >= 0.25)) & (free < 0.1)
    if not keep_whole.any() and not partial.any():
        return InkBox(None, "bad_box" if stray.any() else "no_ink")
    r0, r1, c0, c1 = rects[0]
    mask = np.zeros(diff.shape, bool)
    for c in np.flatnonzero(partial):
        part = np.zeros(diff.shape, bool)
        part[r0:r1, c0:c1] = labels[r0:r1, c0:c1] == c
        if best[c] != 0:
            b0, b1, d0, d1 = rects[best[c]]
            part[b0:b1, d0:d1] = False
        mask |= part
    mask |= keep_whole[labels]
    allowed_mask = np.zeros(diff.shape, bool)
    allowed_mask[ay0 - wy0:ay1 - wy0, ax0 - wx0:ax1 - wx0] = True
    mask &= allowed_mask
    if not mask.any():
        return InkBox(None, "no_ink")
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    fill = float(mask.sum()) / ((ys[-1] - ys[0] + 1) * (xs[-1] - xs[0] + 1))
    return InkBox((wx0 + int(xs[0]), wy0 + int(ys[0]), wx0 + int(xs[-1]) + 1,
                   wy0 + int(ys[-1]) + 1), "ok", fill)


def _overlapping_pairs(boxes: np.ndarray, frac: float) -> np.ndarray:
    """Indices of boxes overlapping another by more than ``frac`` of the smaller area."""
    if len(boxes) < 2:
        return np.zeros((0,), np.int64)
    b = boxes.astype(np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    ih = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    smaller = np.minimum(area[:, None], area[None, :])
    heavy = inter > frac * np.maximum(smaller, 1)
    np.fill_diagonal(heavy, False)
    return np.flatnonzero(heavy.any(axis=1))


# ---------------------------------------------------------------------------
# One page
# ---------------------------------------------------------------------------

def _annotate_page(image: np.ndarray, page: _PPage, dpi: float,
                   charset: Charset) -> tuple[list[Word], list[Line]]:
    """Words and lines of one rendered page (see the module docstring for the rules).

    Args:
        image: ``(height, width, 3)`` or ``(height, width)`` uint8 rendering of the page.
        page: the parsed text layer.
        dpi: the rendering resolution (points are scaled by ``dpi / 72``).
        charset: words with other characters are ignore.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    scale = dpi / 72.0
    margin = max(1, round(2 * dpi / 150))
    n = len(page.words)
    boxes = np.array([_pixel_box(w.box, scale, width, height) for w in page.words],
                     np.int64).reshape(-1, 4)
    on_page = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    raw = np.asarray([w.box for w in page.words], np.float64).reshape(-1, 4) * scale
    cut = ((raw[:, 0] < 0.5) | (raw[:, 1] < 0.5) | (raw[:, 2] > width - 0.5)
           | (raw[:, 3] > height - 0.5))                 # runs off the page edge
    rot_blocks = _rotated_blocks(page)
    line_rotated = [ln.block in rot_blocks for ln in page.lines]
    line_vertical = [rot and _is_vertical_line(page, ln)
                     for ln, rot in zip(page.lines, line_rotated)]

    final = boxes.copy()
    reason: list[str | None] = [None] * n
    texts = [normalize_pdf_text(w.text) for w in page.words]
    ink_found = np.zeros(n, bool)
    status = ["no_ink"] * n
    fill = np.zeros(n)
    for li, ln in enumerate(page.lines):
        idx = [i for i in ln.words if on_page[i]]
        if not idx:
            continue
        lb = boxes[idx]
        lx0, ly0, lx1, ly1 = lb[:, 0].min(), lb[:, 1].min(), lb[:, 2].max(), lb[:, 3].max()
        cross = (lx1 - lx0) if line_vertical[li] else (ly1 - ly0)
        pad = max(margin, int(round(0.3 * cross)))
        for i in idx:
            x0, y0, x1, y1 = boxes[i]
            if line_vertical[li]:
                allowed = (lx0 - margin, y0 - margin, lx1 + margin, y1 + margin)
            else:
                allowed = (x0 - margin, ly0 - margin, x1 + margin, ly1 + margin)
            allowed = (max(0, allowed[0]), max(0, allowed[1]), min(width, allowed[2]),
                       min(height, allowed[3]))
            found = tighten_to_ink(image, boxes, i, allowed, pad)
            status[i], fill[i] = found.status, found.fill
            if found.box is not None:
                final[i] = found.box
                ink_found[i] = True

    # x-height: each word's estimate, raised to its line's median (brackets and
    # odd fonts make single estimates low; the line's words share a font size).
    x_height = np.zeros(n)
    for i in range(n):
        if ink_found[i]:
            vertical = line_vertical[page.words[i].line]
            extent = (final[i, 2] - final[i, 0]) if vertical else (final[i, 3] - final[i, 1])
            x_height[i] = estimate_x_height(texts[i], float(extent))
    for ln in page.lines:
        votes = [x_height[i] for i in ln.words
                 if ink_found[i] and sum(c.isalnum() for c in texts[i]) >= 2]
        if votes:
            median = float(np.median(votes))
            for i in ln.words:
                x_height[i] = max(x_height[i], median)
    overlap = set(_overlapping_pairs(final[ink_found], MAX_INK_OVERLAP).tolist())
    overlap = {int(np.flatnonzero(ink_found)[k]) for k in overlap}
    for i, w in enumerate(page.words):
        li = w.line
        text = texts[i]
        if w.diagonal:
            reason[i] = "diagonal"
        elif cut[i]:
            reason[i] = "off_page"
        elif line_rotated[li]:
            reason[i] = "rotated"
        elif not ink_found[i]:
            reason[i] = "busy_background" if status[i] == "busy" else status[i]
        elif fill[i] > 0.85 and sum(c.isalnum() for c in text) >= 2:
            reason[i] = "busy_background"          # a solid block: a picture, not letters
        elif w.symbol_font:
            reason[i] = "symbol_font"
        elif i in overlap:
            reason[i] = "overlap"
        else:
            if is_punctuation_only(text):
                reason[i] = "punctuation"
            elif x_height[i] < MIN_X_HEIGHT_PX:
                reason[i] = "tiny"
            elif not charset.can_encode(text):
                reason[i] = "charset"

    words: list[Word] = []
    lines: list[Line] = []
    for li, ln in enumerate(page.lines):
        idx = [i for i in ln.words if on_page[i]]
        if not idx:
            continue
        line_id = len(lines)
        for i in idx:
            extra = {"ignore_reason": reason[i]} if reason[i] else {}
            words.append(Word(box=tuple(int(v) for v in final[i]), text=texts[i],
                              ignore=reason[i] is not None, line=line_id, extra=extra))
        fb = final[idx]
        text = " ".join(texts[i] for i in idx)
        bad = {"diagonal", "off_page", "rotated", "no_ink", "bad_box", "busy_background",
               "symbol_font", "overlap", "charset"}
        ignore = (all(reason[i] is not None for i in idx)
                  or any(reason[i] in bad for i in idx) or not charset.can_encode(text))
        lines.append(Line(box=(int(fb[:, 0].min()), int(fb[:, 1].min()),
                               int(fb[:, 2].max()), int(fb[:, 3].max())),
                          text=text, ignore=ignore))
    return words, lines


def _pdftotext_page(pdf: _PDFInfo, page: int, nodiag: bool) -> _PPage:
    args = [_tool("pdftotext"), "-q", "-f", str(page), "-l", str(page), "-bbox-layout",
            "-enc", "UTF-8"]
    if nodiag:
        args.append("-nodiag")
    out = _run_tool([*args, str(pdf.path), "-"], pdf.source, "pdftotext")
    return _parse_bbox_layout(out, pdf.source, page)


def _render_page(pdf: _PDFInfo, page: int, dpi: float, grayscale: bool) -> np.ndarray:
    """The page as ``(height, width, 3)`` BGR (or ``(height, width)`` gray) uint8.

    pdftoppm writes a PPM to stdout (PNG encoding inside pdftoppm is several
    times slower than OpenCV's); annotations such as link borders are hidden,
    as the text layer does not hold them either.
    """
    args = [_tool("pdftoppm"), "-q", "-f", str(page), "-l", str(page), "-r", f"{dpi:g}",
            "-singlefile", "-hide-annotations"]
    if grayscale:
        args.append("-gray")
    try:
        res = subprocess.run([*args, str(pdf.path)], capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise PDFError(f"{pdf.source}: pdftoppm took more than 300 s on page {page}.") from None
    image = None
    if res.returncode == 0 and res.stdout:
        image = cv2.imdecode(np.frombuffer(res.stdout, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        err = res.stderr.decode("utf-8", "replace").strip()
        raise PDFError(f"{pdf.source}: pdftoppm could not render page {page} "
                       f"(exit status {res.returncode}: {err[-300:]!r}).")
    return image


@dataclass
class _PageResult:
    record: ImageRecord | None
    seconds: float
    reasons: dict[str, int]


def _process_page(pdf: _PDFInfo, page: int, dpi: float, images_dir: Path, charset: Charset,
                  grayscale: bool) -> _PageResult:
    t0 = time.perf_counter()
    layer = _pdftotext_page(pdf, page, nodiag=False)
    if not layer.words:
        return _PageResult(None, time.perf_counter() - t0, {})
    kept = {_word_key(w) for w in _pdftotext_page(pdf, page, nodiag=True).words}
    _flag_diagonal(layer, kept)
    _flag_symbol_fonts(layer, _symbol_font_runs(pdf, page))
    layer = _merge_touching_words(layer)
    name = f"{pdf.stem}_p{page:04d}.png"
    image = _render_page(pdf, page, dpi, grayscale)
    if not cv2.imwrite(str(images_dir / name), image, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"cannot write {images_dir / name}")
    h, w = image.shape[:2]
    expect = (layer.width * dpi / 72, layer.height * dpi / 72)
    # A page with /Rotate 90 or 270 reports its unrotated size; its words are rotated.
    if (max(abs(expect[0] - w), abs(expect[1] - h)) > 2
            and max(abs(expect[1] - w), abs(expect[0] - h)) > 2):
        warnings.warn(f"{pdf.source}: page {page} renders at {w}x{h} px but its text layer "
                      f"is {layer.width:g}x{layer.height:g} pt ({expect[0]:.0f}x{expect[1]:.0f} px)"
                      f"; word boxes may be misplaced.", stacklevel=3)
    words, lines = _annotate_page(image, layer, dpi, charset)
    reasons: dict[str, int] = {}
    for wd in words:
        r = wd.extra.get("ignore_reason", "kept")
        reasons[r] = reasons.get(r, 0) + 1
    rec = ImageRecord(file=f"images/{name}", width=w, height=h, words=words, lines=lines,
                      doc=pdf.stem, extra={"page": page})
    return _PageResult(rec, time.perf_counter() - t0, reasons)


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------

PageSelector = Callable[[Path, int], Iterable[int]]


def _process_page_safe(args, catch_all: bool = False):
    """``_process_page``, returning a :class:`PDFError` instead of raising it.

    With ``catch_all`` (batch builds) any other exception on a page becomes a
    PDFError naming the file and page too, so that one odd page does not stop
    a build of thousands; the caller warns about each.
    """
    try:
        return _process_page(*args)
    except PDFError as e:
        return e
    except Exception as e:          # noqa: BLE001 - reported, see the docstring
        if not catch_all:
            raise
        return PDFError(f"{args[0].source}: page {args[1]} failed: {type(e).__name__}: {e}")


def _run_pages(args: list[tuple], workers: int, catch_all: bool = False):
    """Yields ``(task index, _PageResult | PDFError)`` as pages finish.

    Several workers run in processes: the ink analysis is Python and would hold
    the GIL in threads. They are forked, unless TensorFlow, JAX or PyTorch is
    loaded (their threads do not survive a fork): then spawned, which needs the
    main script to be importable.
    """
    if workers <= 1 or len(args) <= 1:
        for k, a in enumerate(args):
            yield k, _process_page_safe(a, catch_all)
        return
    import multiprocessing
    import sys

    heavy = any(m in sys.modules for m in ("tensorflow", "jax", "torch"))
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and not heavy else "spawn"
    ctx = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(args)),
                                                mp_context=ctx) as pool:
        futures = {pool.submit(_process_page_safe, a, catch_all): k for k, a in enumerate(args)}
        try:
            for fut in concurrent.futures.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _choose_pages(pdf: _PDFInfo, pages, max_pages: int | None) -> list[int]:
    where = str(pdf.source)
    if pages is None:
        chosen = list(range(1, pdf.num_pages + 1))
    elif callable(pages):
        chosen = parse_page_spec(list(pages(pdf.source, pdf.num_pages)), pdf.num_pages, where)
    else:
        chosen = parse_page_spec(pages, pdf.num_pages, where)
    if max_pages is not None and len(chosen) > max_pages:
        pick = np.unique(np.round(np.linspace(0, len(chosen) - 1, max_pages)).astype(int))
        chosen = [chosen[k] for k in pick]
    return chosen


def pdf_to_annotations(pdfs, out_dir, *, dpi: float = 150, pages=None,
                       max_pages_per_pdf: int | None = None, charset: Charset | None = None,
                       allow_held_out: bool = False, progress: bool = True,
                       grayscale: bool = False, workers: int | None = None,
                       skip_bad_pdfs: bool = False) -> AnnotationSet:
    """Renders PDF pages into ``out_dir/images/`` and writes ``out_dir/annotations.json``.

    Args:
        pdfs: a path or a list of paths of PDFs (``.pdf.gz`` is read through).
        out_dir: the output folder; images go to ``images/<pdfstem>_p0001.png``
            (a stem used twice gets a short hash of its path appended).
        dpi: rendering resolution; boxes are in the pixels of these images.
        pages: which pages (1-based) of every PDF: ``None`` for all, a range
            string such as ``"1-5,8"`` or ``"10-"``, a ``(first, last)`` tuple
            (inclusive), a list of page numbers, or a callable
            ``(pdf_path, num_pages) -> page numbers`` choosing per PDF.
        max_pages_per_pdf: at most this many of the chosen pages per PDF,
            evenly spread over them (first and last included).
        charset: words with characters outside it are ignore; default
            printable ASCII plus space.
        allow_held_out: accept PDFs of :data:`HELD_OUT_PACKAGES`. **Only for
            building the independent evaluation set**; never for training or
            validation data.
        progress: show a tqdm progress bar over pages.
        grayscale: render grayscale PNGs instead of RGB.
        workers: pages processed in parallel, in worker processes; default
            ``min(8, os.cpu_count())``. The output does not depend on it.
        skip_bad_pdfs: warn about and skip PDFs and pages that fail (a
            :class:`PDFError`, or any error on one page) instead of stopping;
            for batch builds. Held-out PDFs are refused all the same.

    Returns:
        The :class:`AnnotationSet` written (rooted at ``out_dir``); its
        ``extra["pdf_dataset"]`` holds counts: pages written, pages skipped for
        having no text layer, ignored words per reason, seconds per page.

    Raises:
        HeldOutPDFError: for a held-out PDF (naming its package).
        PDFError: naming the file: missing, not a PDF, encrypted, damaged, or a
            page range beyond the document.
        PopplerNotFoundError: when poppler-utils is not installed.
    """
    if isinstance(pdfs, (str, os.PathLike)):
        pdfs = [pdfs]
    pdfs = [Path(p) for p in pdfs]
    if not pdfs:
        raise ValueError("pdf_to_annotations needs at least one PDF; received none.")
    if not (isinstance(dpi, (int, float)) and 18 <= dpi <= 1200):
        raise ValueError(f"dpi must be a number in [18, 1200]; received {dpi!r}.")
    if max_pages_per_pdf is not None and (not isinstance(max_pages_per_pdf, int)
                                          or max_pages_per_pdf < 1):
        raise ValueError(f"max_pages_per_pdf must be a positive int; received "
                         f"{max_pages_per_pdf!r}.")
    charset = charset if charset is not None else Charset()
    for tool in ("pdfinfo", "pdftotext", "pdftoppm", "pdftohtml"):
        _tool(tool)
    if not allow_held_out:
        for p, pkg in zip(pdfs, held_out_packages(pdfs)):
            if pkg is not None:
                raise HeldOutPDFError(p, pkg)
    out_dir = Path(out_dir)
    images_dir = out_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or min(8, os.cpu_count() or 1)

    with tempfile.TemporaryDirectory(prefix="ktn_pdf_") as tmp:
        infos: list[_PDFInfo] = []
        tasks: list[tuple[_PDFInfo, int]] = []
        stems: set[str] = set()
        bad: list[str] = []
        for p in pdfs:
            try:
                info = _check_pdf(p, tmp)
                chosen = _choose_pages(info, pages, max_pages_per_pdf)
            except PDFError as e:
                if not skip_bad_pdfs:
                    raise
                warnings.warn(f"Skipping {e}", stacklevel=2)
                bad.append(str(p))
                continue
            if info.stem in stems:
                info.stem = f"{info.stem}-{hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:6]}"
            stems.add(info.stem)
            infos.append(info)
            tasks.extend((info, pg) for pg in chosen)

        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(tasks), unit="page", desc="PDF pages")
        t_start = time.perf_counter()
        results: list[_PageResult | None] = [None] * len(tasks)
        args = [(info, pg, float(dpi), images_dir, charset, grayscale) for info, pg in tasks]
        try:
            for k, outcome in _run_pages(args, workers, catch_all=skip_bad_pdfs):
                if isinstance(outcome, PDFError):
                    if not skip_bad_pdfs:
                        raise outcome
                    warnings.warn(f"Skipping a page: {outcome}", stacklevel=2)
                    bad.append(str(outcome))
                else:
                    results[k] = outcome
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t_start

    records, skipped, reasons = [], [], {}
    for (info, pg), res in zip(tasks, results):
        if res is None:
            continue                                  # failed, skipped with a warning
        if res.record is None:
            skipped.append(f"{info.source}:{pg}")
            continue
        records.append(res.record)
        for k, v in res.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} page(s) without a text layer (e.g. "
                      f"{', '.join(skipped[:3])}).", stacklevel=2)
    cpu = sum(r.seconds for r in results if r is not None)
    stats = {"dpi": dpi, "pdfs": len(infos), "pages": len(records),
             "skipped_no_text": len(skipped), "skipped_errors": len(bad), "words": reasons,
             "seconds_per_page": round(cpu / max(len(tasks), 1), 3),
             "wall_seconds": round(wall, 2)}
    ann = AnnotationSet(images=records, root=out_dir,
                        extra={"pdf_dataset": stats})
    ann.save(out_dir / "annotations.json")
    return ann
