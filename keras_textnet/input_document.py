"""What ``keras-textnet read`` and ``predict`` read: images, multi-page TIFFs, PDFs, stdin.

An :class:`InputDocument` is one input as the user named it: an image file, a
multi-page TIFF (every page, in order), a PDF (every page, rendered by
poppler's ``pdftoppm`` at ``dpi``) or the bytes of standard input (``-``; an
image or a PDF). :func:`expand_inputs` turns command-line items into
documents: a folder becomes its image and PDF files (sorted, not recursive).

Names. Every document gets a ``name`` that tells it apart from the others of
the same run: its base name, with as many parent folders as it takes when two
inputs share a base name (``a/page.png`` and ``b/page.png``), ``stdin`` for
standard input. A page's ``file`` (the prediction JSON's ``file`` field) is
that name for a single-page image and ``<stem>_p0001.png`` for page 1 of a
PDF or of a multi-page TIFF, the name ``keras-textnet data from-pdf`` gives
the same page, so predictions of a PDF can be scored against its ground truth.

Bad inputs. Whatever is wrong with an input (missing, a folder, a named pipe or
a device, a link loop, empty, damaged, encrypted, a decompression bomb, a page
too small to hold text) gives a :class:`DocumentReadError` from
:meth:`InputDocument.open`, or a page whose ``error`` is set: one line that
names the input (and page). No exception of a decoder escapes either: one bad
file never stops the others.

>>> docs = expand_inputs(["scans/", "report.pdf"], dpi=150)   # doctest: +SKIP
>>> for doc in docs:                                          # doctest: +SKIP
...     doc.open()
...     for page in doc.pages():
...         print(page.file, page.number, page.image.shape)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import numpy as np

from keras_textnet import image_io
from keras_textnet.image_io import DEFAULT_MAX_PIXELS, ImageReadError, probe_image, read_image

#: The resolution PDF pages are rendered at by default: that of the model's PDF
#: training and validation pages (``data from-pdf --dpi 150``; real pages at 110-200 dpi).
DEFAULT_DPI = 150.0
#: The resolutions ``--dpi`` accepts.
DPI_RANGE = (10.0, 1200.0)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pbm",
                  ".pgm", ".ppm", ".pnm")
PDF_SUFFIXES = (".pdf",)
#: What a folder contributes: its files with these suffixes (any case).
DOCUMENT_SUFFIXES = IMAGE_SUFFIXES + PDF_SUFFIXES

_POPPLER_TIMEOUT_S = 300

#: Pages with a side shorter than this many pixels hold no readable text: an error.
MIN_PAGE_SIDE = 4


class DocumentReadError(ImageReadError):
    """An input, or one page of it, cannot be read; the message names the file (and page)."""


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters (the middle elided)."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit // 2 - 2] + " ... " + text[-(limit // 2 - 3):]
    return text


def unexpected_error_message(label: str, e: BaseException) -> str:
    """One line for an exception a decoder raised that is not one of our own errors.

    Every kind ends up here (``struct.error`` from an odd EXIF tag, ``OSError``,
    ``SyntaxError`` from Pillow, ``MemoryError`` from a decompression bomb, ...):
    one bad file must never stop the others.
    """
    if isinstance(e, MemoryError):
        return (f"{label}: not enough memory to decode it (a huge image, or a decompression "
                f"bomb: a small file that claims a giant size)")
    if isinstance(e, RecursionError):
        return f"{label}: the file is nested too deeply to decode (damaged or hostile)"
    detail = _one_line(str(e)) or "no details"
    return f"{label}: cannot be read: the file is damaged or unusual ({type(e).__name__}: {detail})"


def check_input_path(source: str) -> None:
    """:func:`keras_textnet.image_io.check_input_path`, raising :class:`DocumentReadError`."""
    image_io.check_input_path(source, DocumentReadError)


@contextmanager
def _warnings_into(collected: list[str], label: str):
    """Records the warnings a decoder gives (Pillow's 'Corrupt EXIF data', ...) as lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                line = f"{label}: {_one_line(w.message)}"
                if line not in collected:
                    collected.append(line)


@dataclass
class InputPage:
    """One page of an :class:`InputDocument`.

    Attributes:
        number: the page, 1-based.
        file: the page's name in the prediction JSON (see the module docstring).
        image: ``(height, width, 3)`` uint8 RGB, or ``None`` when ``error`` is set.
        dpi: the page's resolution (the render resolution of a PDF page, the one
            an image file states), or ``None`` when unknown.
        error: why the page could not be read, naming the file and page.
    """

    number: int
    file: str
    image: np.ndarray | None = None
    dpi: float | None = None
    error: str | None = None


class InputDocument:
    """One input: an image, a multi-page TIFF or a PDF, from a path or from bytes.

    Args:
        source: the path as the user gave it, or ``"-"`` for standard input.
        name: the name that tells this input apart from the others of a run
            (default: the base name; ``stdin`` for ``-``).
        data: the input's bytes (standard input); ``None`` to read ``source``.
        dpi: resolution PDF pages are rendered at.
        max_pixels: refuse pages larger than this (a PDF page: at ``dpi``).
        stem: the name without its suffix, used for page and output file names
            (default: derived from ``name``).

    Call :meth:`open` first (it reads the page count and raises
    :class:`DocumentReadError` for an unreadable input), then iterate
    :meth:`pages`.
    """

    def __init__(self, source: str, name: str | None = None, data: bytes | None = None,
                 dpi: float = DEFAULT_DPI, max_pixels: int = DEFAULT_MAX_PIXELS,
                 stem: str | None = None):
        if not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
            raise ValueError(f"dpi must be in [{DPI_RANGE[0]:g}, {DPI_RANGE[1]:g}]; "
                             f"received {dpi!r}")
        self.source = str(source)
        self.name = name or ("stdin" if self.source == "-" else Path(self.source).name)
        self.stem = stem or _strip_suffix(self.name)
        self.data = data
        self.dpi = float(dpi)
        self.max_pixels = int(max_pixels)
        self.kind: str | None = None        # "pdf" or "image", known after open()
        self.num_pages: int | None = None   # known after open()
        self.image_dpi: float | None = None
        #: What the decoders warned about while reading (e.g. damaged EXIF data in an
        #: image whose pixels are fine), one line each, naming the input.
        self.warnings: list[str] = []
        self._page_sizes: dict[int, tuple[float, float]] = {}

    def __repr__(self) -> str:
        return (f"InputDocument(source={self.source!r}, name={self.name!r}, kind={self.kind!r}, "
                f"num_pages={self.num_pages!r})")

    @property
    def label(self) -> str:
        """How messages name the input: its path, or ``stdin``."""
        return "stdin" if self.source == "-" else self.source

    # ------------------------------------------------------------------
    def open(self) -> int:
        """Checks the input and returns its page count.

        Raises:
            DocumentReadError: a missing, empty, damaged or encrypted file, not an
                image nor a PDF, not a regular file (a FIFO, a device, a link loop),
                or poppler missing for a PDF. Whatever a decoder raises becomes
                this error, with one line naming the input.
        """
        if self.num_pages is not None:
            return self.num_pages
        try:
            with _warnings_into(self.warnings, self.label):
                head = self._head()
                if head.startswith(b"%PDF-") or (
                        self.data is None and Path(self.source).suffix.lower() in PDF_SUFFIXES):
                    self.kind = "pdf"
                    self.num_pages = self._open_pdf(head)
                else:
                    self.kind = "image"
                    self.num_pages, self.image_dpi = probe_image(
                        self.data if self.data is not None else self.source)
        except DocumentReadError:
            raise
        except ImageReadError as e:
            raise DocumentReadError(self._relabel(str(e))) from None
        except Exception as e:  # struct.error, OSError, SyntaxError, MemoryError, ...
            raise DocumentReadError(unexpected_error_message(self.label, e)) from None
        return self.num_pages

    def page_file(self, number: int) -> str:
        """The prediction JSON's ``file`` for page ``number`` (1-based)."""
        if self.kind == "pdf" or (self.num_pages or 1) > 1:
            return f"{self.stem}_p{number:04d}.png"
        return self.name

    def pages(self, skip=()) -> Iterator[InputPage]:
        """Every page in order; a page that cannot be read comes with ``error`` set.

        Pages whose numbers are in ``skip`` are neither read nor yielded (those a
        previous run finished). No exception of a decoder escapes: it becomes the
        page's ``error``, so the pages after it are still read.
        """
        self.open()
        skip = set(skip)
        for number in range(1, self.num_pages + 1):
            if number in skip:
                continue
            page = InputPage(number=number, file=self.page_file(number))
            where = self.label if self.num_pages == 1 else f"{self.label}, page {number}"
            try:
                with _warnings_into(self.warnings, where):
                    if self.kind == "pdf":
                        page.image, page.dpi = self._render_pdf_page(number), self.dpi
                    else:
                        page.image = read_image(
                            self.data if self.data is not None else self.source,
                            max_pixels=self.max_pixels, page=number)
                        page.dpi = self.image_dpi
                h, w = page.image.shape[:2]
                if min(h, w) < MIN_PAGE_SIDE:
                    raise DocumentReadError(
                        f"{where}: the image is {w}x{h} pixels, too small to hold text (each "
                        f"side needs at least {MIN_PAGE_SIDE})")
            except ImageReadError as e:
                page.image, page.error = None, self._relabel(str(e))
            except Exception as e:  # struct.error, OSError, SyntaxError, MemoryError, ...
                page.image, page.error = None, unexpected_error_message(where, e)
            yield page

    # ------------------------------------------------------------------
    def _head(self) -> bytes:
        if self.data is not None:
            if not self.data:
                raise DocumentReadError("stdin: nothing was read from standard input")
            return self.data[:1024]
        path = Path(self.source)
        check_input_path(self.source)  # before open(): a FIFO would block it forever
        try:
            with open(path, "rb") as f:
                head = f.read(1024)
        except OSError as e:
            raise DocumentReadError(f"{self.source}: cannot be read ({e.strerror})") from None
        if not head:
            raise DocumentReadError(f"{self.source}: the file is empty")
        return head

    def _relabel(self, message: str) -> str:
        return message.replace("<bytes>", self.label, 1)

    def _poppler(self, tool: str, args: list[str], what: str) -> bytes:
        exe = shutil.which(tool)
        if exe is None:
            raise DocumentReadError(
                f"{self.label}: reading a PDF needs poppler's {tool}, which is not on PATH; "
                f"install poppler-utils (apt-get install poppler-utils, brew install poppler)")
        target = "-" if self.data is not None else self.source
        try:
            res = subprocess.run([exe, *args, target], input=self.data, capture_output=True,
                                 timeout=_POPPLER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise DocumentReadError(f"{self.label}: {what} took more than "
                                    f"{_POPPLER_TIMEOUT_S} s; the PDF may be damaged") from None
        if res.returncode != 0:
            lines = res.stderr.decode("utf-8", "replace").splitlines()
            err = "; ".join(dict.fromkeys(" ".join(ln.split()) for ln in lines if ln.strip()))
            if "password" in err.lower():
                raise DocumentReadError(f"{self.label}: the PDF is encrypted with a password; "
                                        f"decrypt it first (e.g. qpdf --decrypt)")
            if "Invalid page count 0" in err or "after the last page (0)" in err:
                raise DocumentReadError(f"{self.label}: the PDF has no pages")
            raise DocumentReadError(f"{self.label}: not a readable PDF ({tool} says: "
                                    f"{err[-200:] or f'exit status {res.returncode}'})")
        return res.stdout

    def _open_pdf(self, head: bytes) -> int:
        if b"%PDF-" not in head:
            raise DocumentReadError(f"{self.label}: is not a PDF (it does not start with "
                                    f"'%PDF-'; first bytes: {head[:16]!r})")
        info = self._poppler("pdfinfo", [], "pdfinfo").decode("utf-8", "replace")
        match = re.search(r"^Pages:\s*(\d+)", info, re.MULTILINE)
        if match is None:
            raise DocumentReadError(f"{self.label}: pdfinfo reports no page count; the PDF may "
                                    f"be damaged")
        pages = int(match.group(1))
        if pages == 0:
            raise DocumentReadError(f"{self.label}: the PDF has no pages")
        sizes = self._poppler("pdfinfo", ["-f", "1", "-l", str(pages)], "pdfinfo")
        for m in re.finditer(r"^Page\s+(\d+) size:\s*([\d.]+) x ([\d.]+) pts", sizes.decode(
                "utf-8", "replace"), re.MULTILINE):
            self._page_sizes[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
        return pages

    def _render_pdf_page(self, number: int) -> np.ndarray:
        where = f"{self.label}, page {number}"
        if number in self._page_sizes:
            w, h = (v * self.dpi / 72.0 for v in self._page_sizes[number])
            if w * h > self.max_pixels:
                raise DocumentReadError(
                    f"{where}: at {self.dpi:g} dpi the page is {w:.0f}x{h:.0f} pixels, more than "
                    f"the {self.max_pixels / 1e6:.0f} megapixels allowed; give a lower --dpi")
        ppm = self._poppler("pdftoppm", ["-q", "-r", f"{self.dpi:g}", "-f", str(number), "-l",
                                         str(number), "-singlefile", "-cropbox"],
                            f"pdftoppm (page {number})")
        if not ppm:
            raise DocumentReadError(f"{where}: pdftoppm rendered nothing")
        try:
            return read_image(ppm, max_pixels=self.max_pixels)
        except ImageReadError as e:
            raise DocumentReadError(str(e).replace("<bytes>", where, 1)) from None


# ---------------------------------------------------------------------------
def _strip_suffix(name: str) -> str:
    head, slash, base = name.rpartition("/")
    stem, dot, suffix = base.rpartition(".")
    if dot and stem and ("." + suffix.lower()) in DOCUMENT_SUFFIXES:
        base = stem
    return head + slash + base


def _numbered(names: Sequence[str]) -> list[str]:
    """``names`` with ``-2``, ``-3``, ... added to the second and later repeats."""
    seen: Counter = Counter()
    taken = set(names)
    out = []
    for name in names:
        seen[name] += 1
        if seen[name] == 1:
            out.append(name)
            continue
        k = seen[name]
        while f"{name}-{k}" in taken:
            k += 1
        out.append(f"{name}-{k}")
        taken.add(out[-1])
    return out


def distinct_names(sources: Sequence[str]) -> list[str]:
    """Short names that tell ``sources`` (paths, ``-`` for stdin) apart.

    Each is the base name, with as many of its parent folders (``/``-joined) as
    it takes to differ from the others; the same path given twice gets ``-2``.

    >>> distinct_names(["a/page.png", "b/page.png", "c/other.png", "-"])
    ['a/page.png', 'b/page.png', 'other.png', 'stdin']
    """
    parts = [("stdin",) if s == "-" else Path(os.path.abspath(s)).parts[1:] or ("root",)
             for s in sources]
    depth = [1] * len(parts)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        paths: dict[str, set] = {}
        for name, p in zip(names, parts):
            paths.setdefault(name, set()).add(p)
        grew = False
        for i, name in enumerate(names):
            if len(paths[name]) > 1 and depth[i] < len(parts[i]):  # different files meet
                depth[i] += 1
                grew = True
        if not grew:
            return _numbered(names)


def distinct_stems(names: Sequence[str]) -> list[str]:
    """The names without their suffix, keeping it where two stems would meet.

    >>> distinct_stems(["scan.tif", "scan.pdf", "notes.png"])
    ['scan.tif', 'scan.pdf', 'notes']
    """
    stems = [_strip_suffix(n) for n in names]
    counts = Counter(stems)
    return _numbered([n if counts[s] > 1 else s for n, s in zip(names, stems)])


def expand_inputs(items: Sequence[str], dpi: float = DEFAULT_DPI,
                  stdin: BinaryIO | None = None,
                  max_pixels: int = DEFAULT_MAX_PIXELS,
                  empty_folders: list | None = None) -> list[InputDocument]:
    """Command-line items as documents, in order, with distinct names.

    A folder stands for its regular files whose suffix is in
    :data:`DOCUMENT_SUFFIXES` (sorted by name, not recursive; a warning on
    stderr when it has none, or, with ``empty_folders``, the folder appended to
    that list instead); ``-`` for the bytes of ``stdin`` (default
    ``sys.stdin.buffer``), which may appear once. Files are not opened here:
    :meth:`InputDocument.open` does.

    Raises:
        ValueError: ``-`` given twice.
    """
    if sum(item == "-" for item in items) > 1:
        raise ValueError("'-' (standard input) can be given only once")
    sources: list[str] = []
    for item in items:
        path = Path(item)
        if item != "-" and path.is_dir():
            inside = sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
            if not inside:
                if empty_folders is not None:
                    empty_folders.append(item)
                else:
                    print(f"keras-textnet: warning: no image or PDF files in folder {path}",
                          file=sys.stderr)
            sources.extend(str(p) for p in inside)
        else:
            sources.append(item)
    names = distinct_names(sources)
    stems = distinct_stems(names)
    docs = []
    for source, name, stem in zip(sources, names, stems):
        data = None
        if source == "-":
            data = (stdin if stdin is not None else sys.stdin.buffer).read()
        docs.append(InputDocument(source, name=name, data=data, dpi=dpi, max_pixels=max_pixels,
                                  stem=stem))
    return docs


__all__ = ["DEFAULT_DPI", "DOCUMENT_SUFFIXES", "DPI_RANGE", "DocumentReadError", "IMAGE_SUFFIXES",
           "InputDocument", "InputPage", "MIN_PAGE_SIDE", "PDF_SUFFIXES", "check_input_path",
           "distinct_names", "distinct_stems", "expand_inputs", "unexpected_error_message"]
