"""Real-PDF datasets: pages of PDFs with a text layer, rendered, with word and line truth.

:func:`pdf_to_annotations` checks every PDF (the held-out guard, then
``pdfinfo``), chooses its pages, processes them in worker processes
(:mod:`keras_textnet.data.pdf.page`) and writes ``annotations.json``.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from keras_textnet.charset import Charset
from keras_textnet.data.annotation import AnnotationSet
from keras_textnet.data.pdf.held_out import HeldOutPDFError, held_out_packages
from keras_textnet.data.pdf.page import _PageResult, _process_page
from keras_textnet.data.pdf.poppler import PDFError, _check_pdf, _PDFInfo, _tool


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
