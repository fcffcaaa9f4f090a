"""``keras-textnet predict``, ``read`` and ``evaluate``: a trained model from the shell.

Every command takes ``--model MODEL.keras`` (default: the model shipped in the
package, see :mod:`keras_textnet.pretrained`). ``predict`` and ``read`` take
images, multi-page TIFFs, PDFs (rendered at ``--dpi``), folders of them and
``-`` for standard input (:mod:`keras_textnet.input_document`); ``read``
writes text, JSON, hOCR, ALTO, TSV or a searchable PDF
(:mod:`keras_textnet.output_formats`). Unreadable inputs are reported one by
one on stderr; the other inputs' results are kept, and the exit status is 1
when any input or page failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from keras_textnet.cli.errors import CommandError
from keras_textnet.output_formats.text_writer import page_text  # noqa: F401 (public here too)


def _predictor(args):
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path, load_model

    path = args.model or default_model_path()
    return TextNetPredictor(load_model(path), max_side=args.max_side, scale=args.scale,
                            min_score=args.min_score)


def _parse_dpi(text) -> float:
    """``--dpi``: a number of dots per inch in ``DPI_RANGE``; else a one-line error."""
    import math

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

    try:
        docs = expand_inputs(items, dpi=dpi)
    except ValueError as e:
        raise CommandError(str(e)) from None
    failed = {}
    for i, doc in enumerate(docs):
        try:
            doc.open()
        except DocumentReadError as e:
            failed[i] = str(e)
    return docs, failed


def _read_pages(args, docs, failed, progress: bool):
    """``(document index, entry, image)`` for every page of every input, in order.

    ``entry`` is the page's prediction (``FORMATS.md``) with its ``source``,
    ``page`` and ``dpi``; a page or an input that could not be read gives an
    entry with an ``error`` field, no words, and no image.
    """
    from tqdm.auto import tqdm

    total = sum(doc.num_pages for i, doc in enumerate(docs) if i not in failed)
    predictor = _predictor(args) if total else None
    # disable=None: a bar only on a terminal
    bar = tqdm(total=total, desc="read", unit="page",
               disable=True if not progress or total < 2 else None)
    try:
        for i, doc in enumerate(docs):
            if i in failed:
                yield i, {"file": doc.name, "source": doc.source, "words": [], "lines": [],
                          "error": failed[i]}, None
                continue
            for page in doc.pages():
                entry = {"file": page.file, "source": doc.source, "page": page.number}
                if page.dpi:
                    entry["dpi"] = round(page.dpi, 2)
                if page.error is None:
                    prediction = predictor.predict_image(page.image, file=page.file)
                    entry.update((k, v) for k, v in prediction.items() if k != "file")
                else:
                    entry.update(words=[], lines=[], error=page.error)
                bar.update(1)
                yield i, entry, page.image
    finally:
        bar.close()


def _report_failures(doc: dict) -> int:
    failed = [im for im in doc["images"] if "error" in im]
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
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, out)


# ---------------------------------------------------------------------------
def cmd_predict(args) -> int:
    dpi = _parse_dpi(args.dpi)
    docs, failed = _open_inputs(args.images, dpi)
    if not docs:
        raise CommandError("no images to read")
    doc = {"images": [entry for _, entry, _ in _read_pages(args, docs, failed,
                                                           progress=not args.quiet)]}
    _write_json(doc, args.out)
    if args.out not in (None, "-") and not args.quiet:
        words = sum(len(im["words"]) for im in doc["images"])
        print(f"wrote {args.out}: {len(doc['images'])} image(s), {words} word(s)",
              file=sys.stderr)
    return _report_failures(doc)


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
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise CommandError(f"{path}: cannot write ({e.strerror})") from None


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

    if (args.predictions is None) == (args.model is None):
        raise CommandError("give either --predictions FILE or --model MODEL.keras")
    gt = AnnotationSet.load(args.annotations, check_images=args.model is not None)
    if args.gt_box_key:
        gt = with_box_key(gt, args.gt_box_key)
    if args.predictions:
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
    levels = ["words", "lines"] if args.level == "both" else [args.level]
    results = {level: evaluate(gt, predictions, iou_threshold=args.iou, level=level)
               for level in levels}
    for level in levels:
        print(results[level])
        if level != levels[-1]:
            print()
    if args.json:
        doc = {"annotations": str(args.annotations),
               "predictions": str(args.predictions) if args.predictions else None,
               "model": str(args.model) if args.model else None,
               "gt_box_key": args.gt_box_key}
        doc.update({level: r.to_dict(per_image=args.per_image) for level, r in results.items()})
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
                                   "others are kept (exit status 1 if any failed).")
    p.add_argument("images", nargs="+", metavar="INPUT", help=inputs_help)
    p.add_argument("--out", help="prediction file to write (default: stdout)")
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
                                   "file with the protocol of DESIGN.md: one-to-one matching "
                                   "at IoU >= 0.5, detection and end-to-end precision, recall "
                                   "and F (exact and normalized text), CER of matched items; "
                                   "per document when images carry a 'doc' field.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("annotations", help="ground-truth annotation file (.json)")
    p.add_argument("--predictions", help="prediction file to score")
    p.add_argument("--level", choices=["words", "lines", "both"], default="words")
    p.add_argument("--iou", type=float, default=0.5, help="IoU of a match")
    p.add_argument("--gt-box-key", metavar="KEY",
                   help="score against the ground truth's KEY box field instead of 'box'")
    p.add_argument("--json", metavar="OUT.json", help="write the scores as JSON")
    p.add_argument("--per-image", action="store_true", help="per-image scores in the JSON")
    p.add_argument("--save-predictions", metavar="PREDS.json",
                   help="with --model: also write the predictions")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_args(p)
    p.set_defaults(func=cmd_evaluate)
