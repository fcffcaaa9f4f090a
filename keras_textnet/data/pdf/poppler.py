"""Poppler's command-line tools: one PDF opened, one page read or rendered.

``pdfinfo`` checks a PDF and counts its pages, ``pdftotext -bbox-layout`` gives
its text layer (page / flow / block / line / word, in PDF points), ``pdftohtml
-xml`` names the font of each run of text, ``pdftoppm`` renders a page (media
box, annotations hidden). Every failure is a :class:`PDFError` naming the file,
and a missing tool is a :class:`PopplerNotFoundError` saying how to install it.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from keras_textnet.data.pdf.ignore_rules import SYMBOL_FONT_PATTERN, _font_name
from keras_textnet.data.pdf.text_layer import _PLine, _PPage, _PWord


class PDFError(ValueError):
    """A PDF cannot be used: not a PDF, encrypted, damaged, or a bad page range.

    The message names the file.
    """


class PopplerNotFoundError(RuntimeError):
    """A poppler command-line tool is not installed."""


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


def pdf_text(source, last_page: int | None = None) -> str:
    """The text layer of a PDF (or ``.pdf.gz``), pages 1..``last_page`` (all by default).

    ``pdftotext`` in reading order, UTF-8. Raises :class:`PDFError` naming the file
    when it cannot be read, :class:`PopplerNotFoundError` without poppler.
    """
    import tempfile

    source = Path(source)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = _check_pdf(source, tmp)
        args = [_tool("pdftotext"), "-q", "-enc", "UTF-8"]
        if last_page is not None:
            args += ["-l", str(int(last_page))]
        return _run_tool([*args, str(pdf.path), "-"], source, "pdftotext")


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
