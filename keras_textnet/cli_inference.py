"""``keras-textnet predict``, ``read`` and ``evaluate``: a trained model from the shell.

Every command takes ``--model MODEL.keras`` (default: the model shipped in the
package, see :mod:`keras_textnet.pretrained`). Unreadable inputs are reported
one by one on stderr; the other images' results are kept, and the exit status
is 1 when any image failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pbm",
                  ".pgm", ".ppm", ".pnm")


def _predictor(args):
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path, load_model

    path = args.model or default_model_path()
    return TextNetPredictor(load_model(path), max_side=args.max_side, scale=args.scale,
                            min_score=args.min_score)


def _expand_images(items: list[str]) -> list[str]:
    """Files as given; folders become their image files (sorted, not recursive)."""
    found = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                print(f"keras-textnet: warning: no image files in folder {path}",
                      file=sys.stderr)
            found.extend(str(p) for p in inside)
        else:
            found.append(item)
    return found


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
    images = _expand_images(args.images)
    if not images:
        from keras_textnet.cli import CommandError

        raise CommandError("no images to read")
    predictor = _predictor(args)
    doc = predictor.predict(images, progress=not args.quiet)
    _write_json(doc, args.out)
    if args.out not in (None, "-") and not args.quiet:
        words = sum(len(im["words"]) for im in doc["images"])
        print(f"wrote {args.out}: {len(doc['images'])} image(s), {words} word(s)",
              file=sys.stderr)
    return _report_failures(doc)


def page_text(prediction: dict) -> str:
    """The lines of one image's prediction, in reading order, one per line."""
    from keras_textnet.reading_order import reading_order

    lines = prediction.get("lines") or []
    order = reading_order([line["box"] for line in lines])
    return "\n".join(lines[i]["text"] for i in order)


def cmd_read(args) -> int:
    from keras_textnet.image_io import read_image

    image = read_image(args.image)  # ImageReadError: a clear message, status 2
    predictor = _predictor(args)
    prediction = predictor.predict_image(image, file=Path(args.image).name)
    if args.json:
        _write_json(prediction, None)
    else:
        text = page_text(prediction)
        if text:
            print(text)
    if args.draw:
        from keras_textnet.data.annotation import ImageRecord, Line, Word
        from keras_textnet.data.visualize import draw_record, save_rgb

        h, w = image.shape[:2]
        record = ImageRecord(file=prediction["file"], width=w, height=h,
                             words=[Word(box=tuple(x["box"]), text=x["text"])
                                    for x in prediction["words"]],
                             lines=[Line(box=tuple(x["box"]), text=x["text"])
                                    for x in prediction["lines"]])
        save_rgb(args.draw, draw_record(image, record))
        print(f"wrote {args.draw}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from keras_textnet.cli import CommandError
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


def add_inference_parsers(sub) -> None:
    """Adds ``predict``, ``read`` and ``evaluate`` to the CLI's subparsers."""
    p = sub.add_parser("predict", help="read images into a prediction JSON file",
                       description="Find and read the text of images (files or folders of "
                                   "images) and write the prediction JSON of FORMATS.md: words "
                                   "and lines with text, score and box in each image's own "
                                   "pixels. An unreadable image gets an 'error' entry; the "
                                   "others are kept (exit status 1 if any failed).")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("--out", help="prediction file to write (default: stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_args(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("read", help="print the text of an image in reading order",
                       description="Print the text lines of one image in reading order "
                                   "(columns left to right, each top to bottom).")
    p.add_argument("image", help="image file (PNG, JPEG, TIFF, ...; any colour mode)")
    p.add_argument("--json", action="store_true",
                   help="print the image's prediction JSON instead of plain text")
    p.add_argument("--draw", metavar="OUT.png",
                   help="also write the image with boxes and transcriptions drawn over it")
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
