"""``keras-textnet predict``, ``read`` and ``evaluate``: a trained model from the shell.

Every command takes ``--model MODEL.keras`` (default: the model shipped in the
package, see :mod:`keras_textnet.pretrained`). ``predict`` and ``read`` take
images, multi-page TIFFs, PDFs (rendered at ``--dpi``), folders of them and
``-`` for standard input (:mod:`keras_textnet.input_document`); ``read``
writes text, JSON, hOCR, ALTO, TSV or a searchable PDF
(:mod:`keras_textnet.output_formats`). Unreadable inputs are reported one by
one on stderr; the other inputs' results are kept, and the exit status is 1
when any input or page failed.

``predict --out FILE`` never loses a finished page: ``--out`` is checked
before any work; each page's result goes to ``FILE``'s JSON Lines log
(``preds.json`` -> ``preds.jsonl``, one synced line per page) as it is done;
Ctrl-C, SIGTERM and SIGHUP stop the run after writing ``FILE`` from the pages
done (exit status 128 + the signal); ``--resume`` reads the log and reads
only the pages it lacks. ``FILE`` itself is written atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from keras_textnet.cli.errors import CommandError, reading
from keras_textnet.cli.output_files import (ResultLog, atomic_write, check_output_file,
                                            read_result_log, result_log_path)
from keras_textnet.output_formats.text_writer import page_text  # noqa: F401 (public here too)

#: ``--max-side`` and ``--scale`` bounds: below 32 px the backbone has nothing to
#: see; above them one page could take all the memory there is.
MAX_SIDE_RANGE = (32, 16384)
MAX_SCALE = 8.0


def _one_line(text, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 4] + " ..."


def _check_model_options(args) -> None:
    """``--max-side``, ``--scale``, ``--min-score``: checked before any work, one line each."""
    lo, hi = MAX_SIDE_RANGE
    if not lo <= args.max_side <= hi:
        raise CommandError(f"--max-side must be a whole number of pixels from {lo} to {hi}; "
                           f"got {args.max_side}")
    if not (math.isfinite(args.scale) and 0 < args.scale <= MAX_SCALE):
        raise CommandError(f"--scale must be a number above 0 and at most {MAX_SCALE:g} (a "
                           f"resize factor); got {args.scale:g}")
    if not (math.isfinite(args.min_score) and 0 <= args.min_score <= 1):
        raise CommandError(f"--min-score must be a number from 0 to 1; got {args.min_score:g}")


def load_textnet(path):
    """The TextNet saved at ``path``; a :class:`CommandError` naming what the file is if not.

    Keras calls a truncated ``.keras`` file (or any file that is not a zip
    archive) "not found"; this says what it is instead: missing, a folder,
    empty, a truncated or damaged ``.keras`` zip, a zip that holds no Keras
    model, another kind of file, or a Keras model that is not a TextNet.
    """
    import zipfile

    from keras_textnet.pretrained import load_model

    path = Path(path)
    if not path.exists():
        raise CommandError(f"model file not found: {path}")
    if path.is_dir():
        raise CommandError(f"--model {path}: is a folder, not a model file (.keras)")
    if not path.is_file():
        raise CommandError(f"--model {path}: is not a regular file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise CommandError(f"--model {path}: cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise CommandError(f"--model {path}: the model file is empty")
    if not head.startswith(b"\x89HDF\r\n\x1a\n"):  # legacy .h5 files are HDF5
        if not zipfile.is_zipfile(path):
            if head.startswith(b"PK\x03\x04"):
                raise CommandError(f"--model {path}: is a truncated or damaged .keras file (a "
                                   f"zip archive whose end is missing, {size} bytes); copy or "
                                   f"save the model again")
            raise CommandError(f"--model {path}: is not a Keras model file (a .keras model is a "
                               f"zip archive; this file starts with {head!r})")
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise CommandError(f"--model {path}: is a damaged .keras file "
                               f"({_one_line(e)})") from None
        if "config.json" not in names:
            raise CommandError(f"--model {path}: is a zip archive but not a Keras model (it "
                               f"holds no config.json)")
    try:
        model = load_model(path)
    except Exception as e:  # Keras raises many kinds for a damaged archive
        raise CommandError(f"--model {path}: cannot be loaded as a model "
                           f"({type(e).__name__}: {_one_line(e, 200)})") from None
    if not hasattr(model, "charset"):
        raise CommandError(f"--model {path}: is a Keras model but not a TextNet (it has no "
                           f"charset)")
    return model


def _predictor(args):
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path

    _check_model_options(args)
    path = args.model or default_model_path()
    return TextNetPredictor(load_textnet(path), max_side=args.max_side, scale=args.scale,
                            min_score=args.min_score)


def _parse_dpi(text) -> float:
    """``--dpi``: a number of dots per inch in ``DPI_RANGE``; else a one-line error."""
    from keras_textnet.input_document import DEFAULT_DPI, DPI_RANGE

    if text is None:
        return DEFAULT_DPI
    try:
        dpi = float(text)
    except ValueError:
        dpi = float("nan")
    if not (math.isfinite(dpi) and DPI_RANGE[0] <= dpi <= DPI_RANGE[1]):
        raise CommandError(f"--dpi must be a number from {DPI_RANGE[0]:g} to "
                           f"{DPI_RANGE[1]:g} (dots per inch); got {text!r}")
    return dpi


def _open_inputs(items: list[str], dpi: float):
    """The documents of ``items`` (opened), and ``{index: error}`` for those that failed."""
    from keras_textnet.input_document import DocumentReadError, expand_inputs

    empty: list[str] = []
    try:
        docs = expand_inputs(items, dpi=dpi, empty_folders=empty)
    except ValueError as e:
        raise CommandError(str(e)) from None
    if not docs and empty:
        raise CommandError(f"{empty[0]}: a folder with no image or PDF files in it"
                           if len(empty) == 1 else
                           f"none of the {len(empty)} folders given holds an image or PDF file")
    for folder in empty:
        print(f"keras-textnet: warning: no image or PDF files in folder {folder}",
              file=sys.stderr)
    failed = {}
    for i, doc in enumerate(docs):
        try:
            doc.open()
        except DocumentReadError as e:
            failed[i] = str(e)
    return docs, failed


def _failed_entry(doc, error: str) -> dict:
    return {"file": doc.name, "source": doc.source, "words": [], "lines": [], "error": error}


def _predict_page(predictor, doc, page) -> dict:
    """The prediction entry of one page of ``doc`` (``error`` set when it failed)."""
    entry = {"file": page.file, "source": doc.source, "page": page.number}
    if page.dpi:
        entry["dpi"] = round(page.dpi, 2)
    if page.error is None:
        try:
            prediction = predictor.predict_image(page.image, file=page.file)
        except Exception as e:  # the model on one odd page (memory, ...): that page only
            where = doc.label if doc.num_pages == 1 else f"{doc.label}, page {page.number}"
            detail = ("not enough memory" if isinstance(e, MemoryError) else
                      f"{type(e).__name__}: {_one_line(e, 200)}")
            entry.update(words=[], lines=[], error=f"{where}: the model failed on it ({detail})")
        else:
            entry.update((k, v) for k, v in prediction.items() if k != "file")
    else:
        entry.update(words=[], lines=[], error=page.error)
    return entry


def _print_warnings(doc) -> None:
    for line in doc.warnings:
        print(f"keras-textnet: warning: {line}", file=sys.stderr)
    doc.warnings.clear()


def _read_pages(args, docs, failed, progress: bool):
    """``(document index, entry, image)`` for every page of every input, in order.

    ``entry`` is the page's prediction (``FORMATS.md``) with its ``source``,
    ``page`` and ``dpi``; a page or an input that could not be read gives an
    entry with an ``error`` field, no words, and no image.
    """
    from tqdm.auto import tqdm

    total = sum(doc.num_pages for i, doc in enumerate(docs) if i not in failed)
    predictor = _predictor(args) if total else None
    if predictor is not None:
        predictor.plan(total)
    # disable=None: a bar only on a terminal
    bar = tqdm(total=total, desc="read", unit="page",
               disable=True if not progress or total < 2 else None)
    try:
        for i, doc in enumerate(docs):
            if i in failed:
                yield i, _failed_entry(doc, failed[i]), None
                continue
            for page in doc.pages():
                entry = _predict_page(predictor, doc, page)
                bar.update(1)
                yield i, entry, page.image
            _print_warnings(doc)
    finally:
        bar.close()


def _report_failures(doc: dict) -> int:
    failed = [im for im in doc["images"] if "error" in im]
    if len(failed) == 1 and len(doc["images"]) == 1:
        print(f"keras-textnet: error: {failed[0]['error']}", file=sys.stderr)
        return 1
    for im in failed:
        print(f"keras-textnet: {im['error']}", file=sys.stderr)
    if failed:
        print(f"keras-textnet: {len(failed)} of {len(doc['images'])} image(s) could not be "
              "read; their entries carry an 'error' field and no words", file=sys.stderr)
    return 1 if failed else 0


def _write_json(doc, out: str | None):
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    if out in (None, "-"):
        print(text)
        return
    atomic_write(out, text + "\n")


# ---------------------------------------------------------------------------
class Interrupted(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP during ``predict`` (a BaseException: no page handler
    catches it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


class _StopSignals:
    """Turns SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` while active.

    Inside :meth:`held` (a result being written) the signal waits until the
    block ends, so a line of the log is never cut by our own handler. Handlers
    are installed only in the main thread (Python allows no other).
    """

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                    if hasattr(signal, n))

    def __init__(self):
        self.pending: int | None = None
        self._held = 0
        self._old = {}

    def _handle(self, signum, frame):
        if self._held:
            self.pending = self.pending or signum
            return
        raise Interrupted(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                try:
                    self._old[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    @contextmanager
    def held(self):
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if not self._held and self.pending is not None:
            signum, self.pending = self.pending, None
            raise Interrupted(signum)


def _resume_key(source: str, page) -> tuple:
    return (os.path.normpath(source) if source != "-" else None, page)


def _finished_entries(out: Path, log_path: Path) -> list[dict]:
    """What a previous run finished: the log's entries (else ``out``'s), without errors."""
    entries, warnings = read_result_log(log_path)
    for line in warnings:
        print(f"keras-textnet: warning: {line}", file=sys.stderr)
    if not entries and out.is_file():
        try:
            doc = json.loads(out.read_text(encoding="utf-8"))
            entries = [e for e in doc.get("images", []) if isinstance(e, dict)]
        except (ValueError, RecursionError, AttributeError, OSError):
            entries = []
    done = {}
    for entry in entries:
        source, page = entry.get("source"), entry.get("page")
        if (isinstance(source, str) and source != "-" and isinstance(page, int)
                and "error" not in entry and isinstance(entry.get("words"), list)):
            done[_resume_key(source, page)] = entry  # a later line wins
    return list(done.values())


def cmd_predict(args) -> int:
    dpi = _parse_dpi(args.dpi)
    _check_model_options(args)
    out = None if args.out in (None, "-") else Path(args.out)
    log_path = None
    if args.resume and out is None:
        raise CommandError("--resume needs --out FILE: it reads what an earlier run wrote to "
                           "FILE's log (FILE.jsonl)")
    if out is not None:
        out = check_output_file(args.out)
        log_path = check_output_file(result_log_path(out), option="--out's log")
    previous = _finished_entries(out, log_path) if args.resume else []
    if (not args.resume and not args.quiet and log_path is not None and log_path.is_file()
            and log_path.stat().st_size):
        print(f"keras-textnet: note: starting over; {log_path} held pages of an earlier run "
              f"(--resume would have kept them)", file=sys.stderr)
    done = {_resume_key(e["source"], e["page"]): e for e in previous}

    docs, failed = _open_inputs(args.images, dpi)
    if not docs:
        raise CommandError("no images to read")
    todo = {}  # document index -> page numbers a previous run finished
    for i, doc in enumerate(docs):
        if i not in failed and doc.source != "-":
            todo[i] = {n for n in range(1, doc.num_pages + 1)
                       if _resume_key(doc.source, n) in done}
    total = len(failed) + sum(doc.num_pages for i, doc in enumerate(docs) if i not in failed)
    skipped = sum(len(s) for s in todo.values())
    to_read = sum(doc.num_pages - len(todo.get(i, ())) for i, doc in enumerate(docs)
                  if i not in failed)
    predictor = _predictor(args) if to_read else None
    if predictor is not None:
        predictor.plan(to_read)
    if args.resume and not args.quiet:
        print(f"keras-textnet: resuming: {skipped} of {total} page(s) done by an earlier run",
              file=sys.stderr)

    results: dict[tuple, dict] = {}  # (document index, page number or None) -> entry
    stop = None
    log = ResultLog(log_path, entries=previous) if log_path is not None else None
    from tqdm.auto import tqdm

    bar = tqdm(total=to_read, desc="read", unit="page",
               disable=True if args.quiet or to_read < 2 else None)
    try:
        with _StopSignals() as signals:
            try:
                for i, doc in enumerate(docs):
                    if i in failed:
                        entry = _failed_entry(doc, failed[i])
                        with signals.held():
                            results[(i, None)] = entry
                            if log:
                                log.add(entry)
                        continue
                    for page in doc.pages(skip=todo.get(i, ())):
                        entry = _predict_page(predictor, doc, page)
                        page.image = None
                        with signals.held():
                            results[(i, page.number)] = entry
                            if log:
                                log.add(entry)
                        bar.update(1)
                    _print_warnings(doc)
            except (Interrupted, KeyboardInterrupt) as e:
                stop = e.signum if isinstance(e, Interrupted) else signal.SIGINT
                signals.pending = None
            with signals.held():  # a second Ctrl-C does not cut the final file
                bar.close()
                images = []
                for i, doc in enumerate(docs):
                    if i in failed:
                        if (i, None) in results:
                            images.append(results[(i, None)])
                        continue
                    for n in range(1, doc.num_pages + 1):
                        entry = results.get((i, n))
                        if entry is None and doc.source != "-":
                            entry = done.get(_resume_key(doc.source, n))
                            if entry is not None:  # this run's name for the page
                                entry = {**entry, "file": doc.page_file(n)}
                        if entry is not None:
                            images.append(entry)
                doc_json = {"images": images}
                _write_json(doc_json, args.out)
                signals.pending = None
    finally:
        bar.close()
        if log:
            log.close()
    if stop is not None:
        name = Interrupted(stop).name
        kept = (f"kept in {out} and {log_path}; rerun the same command with --resume to read "
                f"the other {total - len(images)}" if out is not None else
                "printed on standard output")
        print(f"keras-textnet: interrupted by {name}: {len(images)} of {total} page(s) done, "
              f"{kept}", file=sys.stderr)
        return 128 + int(stop)
    if out is not None and not args.quiet:
        words = sum(len(im["words"]) for im in images)
        print(f"wrote {out}: {len(images)} image(s), {words} word(s)", file=sys.stderr)
    return _report_failures(doc_json)


def _read_format(args) -> str:
    from keras_textnet.output_formats import WRITERS

    fmt = args.format.lower() if args.format else None
    if args.json:
        if fmt not in (None, "json"):
            raise CommandError(f"--json and --format {fmt} disagree; give one of them")
        fmt = "json"
    fmt = fmt or "text"
    if fmt not in WRITERS:
        raise CommandError(f"unknown --format {fmt!r}; choose from {', '.join(WRITERS)}")
    if fmt == "pdf" and args.out is None:
        raise CommandError("--format pdf writes a file: give --out FILE.pdf "
                           "(or --out - for standard output)")
    return fmt


def _out_is_folder(args, docs) -> bool:
    """``--out`` names a folder for several inputs, a folder input, or an existing folder."""
    if args.out in (None, "-"):
        return False
    return (len(docs) > 1 or any(item != "-" and Path(item).is_dir() for item in args.inputs)
            or Path(args.out).is_dir() or args.out.endswith(("/", os.sep)))


def _output_names(docs, extension: str) -> list[str]:
    """One distinct file name per input: its distinct stem, folders joined by '_'."""
    from keras_textnet.input_document import distinct_stems

    flat = [name.replace("/", "_") for name in distinct_stems([d.name for d in docs])]
    counts: dict[str, int] = {}
    out = []
    for name in flat:
        counts[name] = counts.get(name, 0) + 1
        out.append(name if counts[name] == 1 else f"{name}-{counts[name]}")
    return [name + extension for name in out]


def _write_bytes(data: bytes, out: str | None, binary: bool) -> None:
    if out in (None, "-"):
        if binary:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
        return
    atomic_write(out, data)


def _draw(path: str, entry: dict, image) -> None:
    from keras_textnet.data.annotation import ImageRecord, Line, Word
    from keras_textnet.data.visualize import draw_record, save_rgb

    h, w = image.shape[:2]
    record = ImageRecord(file=entry["file"], width=w, height=h,
                         words=[Word(box=tuple(x["box"]), text=x["text"])
                                for x in entry["words"]],
                         lines=[Line(box=tuple(x["box"]), text=x["text"])
                                for x in entry["lines"]])
    save_rgb(path, draw_record(image, record))
    print(f"wrote {path}", file=sys.stderr)


def cmd_read(args) -> int:
    from keras_textnet.output_formats import WRITERS

    fmt = _read_format(args)
    dpi = _parse_dpi(args.dpi)
    _check_model_options(args)
    writer_class = WRITERS[fmt]
    docs, failed = _open_inputs(args.inputs, dpi)
    if not docs:
        raise CommandError("no images or PDFs to read")
    if len(failed) == len(docs):
        for i in sorted(failed)[:-1]:
            print(f"keras-textnet: {failed[i]}", file=sys.stderr)
        raise CommandError(failed[0] if len(docs) == 1 else
                           f"none of the {len(docs)} inputs could be read (the last: "
                           f"{failed[max(failed)]})")
    pages = sum(doc.num_pages for i, doc in enumerate(docs) if i not in failed)
    if args.draw and (pages != 1 or failed):
        raise CommandError(f"--draw draws one page; the input(s) have {pages + len(failed)}")
    to_folder = _out_is_folder(args, docs)
    names = _output_names(docs, writer_class.extension) if to_folder else None
    if args.out not in (None, "-") and not to_folder:
        check_output_file(args.out)

    writers = {}  # document index (or 0 for one shared output) -> writer
    entries = []
    for i, entry, image in _read_pages(args, docs, failed, progress=not args.quiet):
        entries.append(entry)
        if args.draw and image is not None:
            _draw(args.draw, entry, image)
        if image is None and not writer_class.keeps_errors:
            continue
        key = i if to_folder else 0
        if key not in writers:
            writers[key] = writer_class(default_dpi=dpi)
        writers[key].add_page(entry, image)

    readable = [e for e in entries if "error" not in e]
    if not readable:
        errors = [e["error"] for e in entries]
        for message in errors[:-1]:
            print(f"keras-textnet: {message}", file=sys.stderr)
        raise CommandError(errors[-1] if len(errors) == 1 else
                           f"none of the {len(errors)} pages could be read")
    for key, writer in writers.items():
        if not writer.pages or all("error" in p for p in writer.pages):
            continue  # an input none of whose pages could be read: no file for it
        out = str(Path(args.out) / names[key]) if to_folder else args.out
        _write_bytes(writer.finish(), out, binary=fmt == "pdf")
        if out not in (None, "-") and not args.quiet:
            words = sum(len(p["words"]) for p in writer.pages)
            print(f"wrote {out}: {len(writer.pages)} page(s), {words} word(s)", file=sys.stderr)
    return _report_failures({"images": entries})


# ---------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.evaluation.protocol import evaluate, load_predictions, with_box_key

    if args.predictions is not None and args.model is not None:
        raise CommandError("give either --predictions FILE or --model MODEL.keras, not both")
    runs_model = args.predictions is None  # --model, else the shipped one (as read/predict)
    if not (math.isfinite(args.iou) and 0 < args.iou <= 1):
        raise CommandError(f"--iou must be a number above 0 and at most 1; got {args.iou:g}")
    if runs_model:
        _check_model_options(args)
    for option, path in (("--json", args.json), ("--save-predictions", args.save_predictions)):
        if path not in (None, "-"):
            check_output_file(path, option=option)
    with reading(args.annotations):
        gt = AnnotationSet.load(args.annotations, check_images=runs_model)
    if args.gt_box_key:
        gt = with_box_key(gt, args.gt_box_key)
    levels = ["words", "lines"] if args.level == "both" else [args.level]
    empty = {}  # level -> why there is nothing to score at that level
    for level in levels:
        items = [x for rec in gt.images
                 for x in (rec.words if level == "words" else rec.lines_or_grouped_words())]
        if not any(not x.ignore for x in items):
            what = (f"no {level}" if not items else
                    f"only {len(items)} {level}, all marked ignore")
            empty[level] = (f"nothing to score: the ground truth has {what} in "
                            f"{len(gt.images)} image(s)")
    if len(empty) == len(levels):  # P/R/F of nothing would read 1.000
        raise CommandError(f"{args.annotations}: {empty[levels[0]]}")
    if args.predictions:
        with reading(args.predictions):
            predictions = load_predictions(args.predictions)
        failures = 0
    else:
        predictor = _predictor(args)
        paths = [str(gt.image_path(rec)) for rec in gt.images]
        doc = predictor.predict(paths, progress=not args.quiet)
        for rec, entry in zip(gt.images, doc["images"]):
            entry["file"] = rec.file  # the GT's own name (paths may repeat base names)
        failures = _report_failures(doc)
        if args.save_predictions:
            _write_json(doc, args.save_predictions)
        predictions = doc
    try:
        results = {level: evaluate(gt, predictions, iou_threshold=args.iou, level=level)
                   for level in levels}
    except ValueError as e:  # names that fit two GT images, two entries for one image
        if type(e).__name__ == "AnnotationError":
            raise
        raise CommandError(f"{args.predictions or 'predictions'}: {e}") from None
    for level in levels:
        print(f"Evaluation ({level}): {empty[level]}" if level in empty else results[level])
        if level != levels[-1]:
            print()
    if args.json:
        doc = {"annotations": str(args.annotations),
               "predictions": str(args.predictions) if args.predictions else None,
               "model": str(args.model) if args.model else None,
               "gt_box_key": args.gt_box_key}
        doc.update({level: ({"nothing_to_score": empty[level]} if level in empty else
                            r.to_dict(per_image=args.per_image))
                    for level, r in results.items()})
        _write_json(doc, args.json)
    return failures


# ---------------------------------------------------------------------------
def _model_args(p):
    p.add_argument("--model", help="a trained model (.keras); default: the shipped model or "
                                   "$KERAS_TEXTNET_MODEL")
    p.add_argument("--max-side", type=int, default=2048,
                   help="downscale images whose longer side exceeds this (default 2048)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="resize every image by this factor first (e.g. 2 for 75-dpi scans)")
    p.add_argument("--min-score", type=float, default=0.0, help="drop detections scored lower")


def _dpi_arg(p):
    p.add_argument("--dpi", default=None, metavar="DPI",
                   help="render PDF pages at this resolution (default 150, the resolution of "
                        "the model's PDF training pages); also the resolution assumed for "
                        "images that state none (the searchable PDF's page size)")


def add_inference_parsers(sub) -> None:
    """Adds ``predict``, ``read`` and ``evaluate`` to the CLI's subparsers."""
    inputs_help = ("images (PNG, JPEG, TIFF, ...; every page of a multi-page TIFF), PDFs "
                   "(every page), folders of them, or - for standard input")
    p = sub.add_parser("predict", help="read images and PDFs into a prediction JSON file",
                       description="Find and read the text of images, PDFs and folders of "
                                   "them, and write the prediction JSON of FORMATS.md: words "
                                   "and lines with text, score and box in each page's own "
                                   "pixels, plus the page's source and page number. An "
                                   "unreadable input or page gets an 'error' entry; the "
                                   "others are kept (exit status 1 if any failed). "
                                   "Interrupted (Ctrl-C, SIGTERM), it keeps every page done "
                                   "(exit status 128 + the signal); --resume goes on.")
    p.add_argument("images", nargs="+", metavar="INPUT", help=inputs_help)
    p.add_argument("--out", metavar="FILE",
                   help="prediction file to write (default: stdout). Each page's result also "
                        "goes, as it is done, to FILE's log beside it (preds.json -> "
                        "preds.jsonl, one JSON line per page); Ctrl-C or SIGTERM writes FILE "
                        "from the pages done")
    p.add_argument("--resume", action="store_true",
                   help="skip the pages (source and page number) that FILE's log or FILE "
                        "already holds without an error, from an earlier run with the same "
                        "inputs and options; read the others")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _dpi_arg(p)
    _model_args(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("read", help="read pages into text, JSON, hOCR, ALTO, TSV or a "
                                    "searchable PDF",
                       description="Read every page of images, multi-page TIFFs, PDFs and "
                                   "folders of them (or - for standard input) and write their "
                                   "text in reading order (columns left to right, each top to "
                                   "bottom), or the words with their boxes as JSON, hOCR, "
                                   "ALTO, Tesseract TSV or a searchable PDF (the page images "
                                   "with an invisible text layer). One input gives one "
                                   "document; with several inputs (or a folder) --out is a "
                                   "folder that gets one file per input.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=inputs_help)
    p.add_argument("--format", default=None, metavar="FORMAT",
                   help="text (default), json, hocr, alto (ALTO v4 XML), tsv (Tesseract's "
                        "columns) or pdf (searchable PDF; needs --out)")
    p.add_argument("--out", metavar="PATH",
                   help="file to write (default: stdout; - is stdout); a folder when there are "
                        "several inputs or a folder input")
    p.add_argument("--json", action="store_true", help="the same as --format json")
    p.add_argument("--draw", metavar="OUT.png",
                   help="also write the page with boxes and transcriptions drawn over it "
                        "(one page only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no 'wrote' lines")
    _dpi_arg(p)
    _model_args(p)
    p.set_defaults(func=cmd_read)

    p = sub.add_parser("evaluate", help="score predictions against ground truth",
                       description="Score a model or a prediction file against an annotation "
                                   "file with the protocol of docs/evaluation.md: one-to-one matching "
                                   "at IoU >= 0.5, detection and end-to-end precision, recall "
                                   "and F (exact and normalized text), CER of matched items; "
                                   "per document when images carry a 'doc' field.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("annotations", help="ground-truth annotation file (.json)")
    p.add_argument("--predictions", help="prediction file to score; without it the model "
                                         "(--model, else the shipped one) reads the images")
    p.add_argument("--level", choices=["words", "lines", "both"], default="words")
    p.add_argument("--iou", type=float, default=0.5, help="IoU of a match")
    p.add_argument("--gt-box-key", metavar="KEY",
                   help="score against the ground truth's KEY box field instead of 'box'")
    p.add_argument("--json", metavar="OUT.json", help="write the scores as JSON")
    p.add_argument("--per-image", action="store_true", help="per-image scores in the JSON")
    p.add_argument("--save-predictions", metavar="PREDS.json",
                   help="when a model reads the images: also write its predictions")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_args(p)
    p.set_defaults(func=cmd_evaluate)
