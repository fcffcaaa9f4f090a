"""``keras-textnet data``: make, convert, check and look at training data."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_textnet.cli.args import size_type
from keras_textnet.cli.errors import CommandError, reading

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

_size = size_type(minimum=16)


def _page_range(text: str) -> tuple[int, int]:
    """'3' or '2-7' (1-based, inclusive)."""
    try:
        if "-" in text:
            a, b = (int(p) for p in text.split("-", 1))
        else:
            a = b = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a page or a range such as 2-7; got {text!r}")
    if a < 1 or b < a:
        raise argparse.ArgumentTypeError(
            f"page range must satisfy 1 <= first <= last; got {text!r}")
    return a, b


def _layouts(text: str) -> dict[str, float]:
    """'invoice,table' or 'invoice=2,table=1'."""
    out = {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        out[name.strip()] = float(weight) if weight else 1.0
    return out


def _generator_from_args(args):
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    layouts = _layouts(args.layouts) if args.layouts else None
    if layouts:
        unknown = sorted(set(layouts) - set(SyntheticDocumentGenerator.LAYOUTS))
        if unknown:
            raise CommandError(f"unknown layout(s) {', '.join(unknown)}; choose from "
                               f"{', '.join(SyntheticDocumentGenerator.LAYOUTS)}")
    return SyntheticDocumentGenerator(page_size=args.page_size, layouts=layouts,
                                      degrade=0.0 if args.clean else args.degrade,
                                      max_rotation=args.max_rotation)


def _add_generator_args(p):
    p.add_argument("--page-size", type=_size, default=(1024, 768), metavar="HxW",
                   help="page height x width in pixels (default 1024x768)")
    p.add_argument("--layouts", default=None,
                   help="comma-separated layouts to draw from, optionally weighted "
                        "(invoice=2,table); default: all")
    p.add_argument("--degrade", type=float, default=1.0,
                   help="strength of blur/noise/JPEG/illumination degradations, 0..1 (default 1)")
    p.add_argument("--clean", action="store_true", help="no degradations (same as --degrade 0)")
    p.add_argument("--max-rotation", type=float, default=0.0, metavar="DEG",
                   help="rotate pages by up to this many degrees (angle kept in the ground truth)")


# ---------------------------------------------------------------------------
# data subcommands
# ---------------------------------------------------------------------------

def cmd_synth(args):
    from keras_textnet.data.synthetic_dataset import write_synthetic_dataset

    ann = write_synthetic_dataset(_generator_from_args(args), args.out, args.count,
                                  seed=args.seed, workers=args.workers)
    words = sum(len(r.words) for r in ann.images)
    print(f"wrote {len(ann)} pages, {words} words: {Path(args.out) / 'annotations.json'}")


def cmd_from_pdf(args):
    from keras_textnet.data.pdf import pdf_to_annotations

    kwargs = dict(dpi=args.dpi, max_pages_per_pdf=args.max_pages_per_pdf)
    if args.pages:
        kwargs["pages"] = args.pages
    ann = pdf_to_annotations(args.pdfs, args.out, **kwargs)
    words = sum(len(r.words) for r in ann.images)
    ignored = sum(w.ignore for r in ann.images for w in r.words)
    print(f"wrote {len(ann)} pages, {words} words ({ignored} ignore): "
          f"{Path(args.out) / 'annotations.json'}")


def cmd_from_icdar(args):
    from keras_textnet.data.icdar import read_icdar2013, read_icdar2015

    reader = read_icdar2013 if args.format == "2013" else read_icdar2015
    ann = reader(args.gt_dir, args.image_dir)
    out = Path(args.out)
    # Image paths are written relative to the annotation file's folder.
    import os
    for rec in ann.images:
        rec.file = os.path.relpath(Path(args.image_dir).resolve() / rec.file,
                                   out.resolve().parent)
    ann.root = out.parent
    ann.save(out)
    print(f"wrote {len(ann)} images, {sum(len(r.words) for r in ann.images)} words: {out}")


def cmd_validate(args):
    from keras_textnet.charset import Charset
    from keras_textnet.data.annotation import AnnotationSet

    total = {"images": 0, "words": 0, "ignore": 0, "lines": 0}
    for path in args.annotations:
        with reading(path):
            ann = AnnotationSet.load(path, check_images=not args.no_image_check)
        before = sum(w.ignore for r in ann.images for w in r.words)
        outside = ann.apply_charset(Charset(), source=path, warn=False)
        n_words = sum(len(r.words) for r in ann.images)
        n_lines = sum(len(r.lines_or_grouped_words()) for r in ann.images)
        print(f"{path}: OK, {len(ann)} images, {n_words} words ({before} ignore, {outside} more "
              f"outside the default charset), {n_lines} lines")
        total["images"] += len(ann)
        total["words"] += n_words
        total["ignore"] += before + outside
        total["lines"] += n_lines
    if len(args.annotations) > 1:
        print("total: " + ", ".join(f"{v} {k}" for k, v in total.items()))


def cmd_to_tfrecord(args):
    from keras_textnet.charset import Charset
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.data.tfrecord import write_tfrecords

    with reading(args.annotations):
        ann = AnnotationSet.load(args.annotations, charset=Charset())
    paths = write_tfrecords(ann, args.out, num_shards=args.shards)
    print(f"wrote {len(ann)} images into {len(paths)} shard(s): {paths[0]} ...")


def cmd_show(args):
    from tqdm.auto import tqdm

    from keras_textnet.data.visualize import contact_sheet, draw_record, load_rgb, save_rgb

    items = []  # (title, image, record)
    if args.synthetic:
        gen = _generator_from_args(args)
        for seed in tqdm(range(args.seed, args.seed + args.synthetic), desc="render",
                         unit="page"):
            page = gen.generate(seed)
            items.append((f"{page.layout} (seed {seed})", page.image, page.record))
    else:
        if not args.annotations:
            raise CommandError("give an annotation file, or --synthetic N")
        from keras_textnet.data.annotation import AnnotationSet
        with reading(args.annotations):
            ann = AnnotationSet.load(args.annotations)
        records = ann.images[args.start::args.step][:args.limit]
        for rec in tqdm(records, desc="draw", unit="image"):
            items.append((rec.file, load_rgb(ann.image_path(rec)), rec))
    if not items:
        raise CommandError("nothing to show")
    pictures = [draw_record(img, rec, texts=not args.no_text) for _, img, rec in
                tqdm(items, desc="draw", unit="image", disable=len(items) < 4)]
    if args.out:
        out = Path(args.out)
        for (title, _, rec), pic in zip(items, pictures):
            save_rgb(out / (Path(rec.file).stem + ".png"), pic)
        print(f"wrote {len(pictures)} pictures to {out}")
    if args.sheet:
        sheet = contact_sheet(pictures, columns=args.columns, cell_width=args.cell_width,
                              titles=[t for t, _, _ in items])
        save_rgb(args.sheet, sheet)
        print(f"wrote contact sheet {args.sheet}")
    if not args.out and not args.sheet:
        raise CommandError("say where the pictures go: --out DIR and/or --sheet FILE.png")


def cmd_pipeline_preview(args):
    """Draws what the model receives after the tf.data transforms."""
    import numpy as np

    from keras_textnet.charset import Charset
    from keras_textnet.data.annotation import ImageRecord, Word
    from keras_textnet.data.pipeline import make_dataset
    from keras_textnet.data.visualize import contact_sheet, draw_record, save_rgb

    source = _generator_from_args(args) if args.synthetic else args.annotations
    if source is None:
        raise CommandError("give an annotation file, TFRecords, or --synthetic")
    ds = make_dataset(source, training=True, image_size=args.image_size, batch_size=1,
                      seed=args.seed, deterministic=True, target=args.target,
                      synthetic_workers=0)
    cs = Charset()
    pictures = []
    for images, t in ds.take(args.count):
        n = int(t["num_boxes"][0])
        boxes = t["boxes"][0, :n].numpy()[:, [1, 0, 3, 2]]
        texts = cs.decode_batch(t["texts"][0, :n].numpy(), t["text_lengths"][0, :n].numpy())
        rec = ImageRecord(file="batch", width=args.image_size[1], height=args.image_size[0],
                          words=[Word(box=tuple(b), text=s, ignore=bool(g)) for b, s, g in
                                 zip(boxes, texts, t["ignore"][0, :n].numpy())])
        pictures.append(draw_record(np.asarray(images[0]), rec, lines=False))
    save_rgb(args.sheet, contact_sheet(pictures, columns=args.columns,
                                       cell_width=min(args.image_size[1], 512)))
    print(f"wrote {args.sheet}")


def add_data_parser(sub) -> argparse.ArgumentParser:
    """Adds ``data`` and its subcommands to the ``keras-textnet`` subcommands ``sub``."""
    data = sub.add_parser("data", help="make, convert, check and look at training data",
                          description="Make, convert, check and look at training data.")
    dsub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")

    p = dsub.add_parser("synth", help="render synthetic document pages with ground truth",
                        description="Render synthetic document pages (PNG) and write their "
                                    "word and line ground truth to OUT/annotations.json.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--count", type=int, default=16, help="number of pages (default 16)")
    p.add_argument("--seed", type=int, default=0, help="first page seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: cores)")
    _add_generator_args(p)
    p.set_defaults(func=cmd_synth)

    p = dsub.add_parser("from-pdf", help="render PDF pages into images + ground truth (poppler)",
                        description="Render pages of PDFs with a text layer (poppler's pdftoppm "
                                    "and pdftotext -bbox-layout) into PNG images with word and "
                                    "line ground truth tightened to the ink. Rotated, tiny and "
                                    "punctuation-only tokens are marked ignore. PDFs of the "
                                    "held-out Debian packages are refused.")
    p.add_argument("pdfs", nargs="+", help="PDF files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--dpi", type=int, default=150, help="render resolution (default 150)")
    p.add_argument("--pages", type=_page_range, default=None, metavar="A-B",
                   help="page range, 1-based inclusive (default: all)")
    p.add_argument("--max-pages-per-pdf", type=int, default=None, metavar="N",
                   help="render at most N pages of each PDF")
    p.set_defaults(func=cmd_from_pdf)

    p = dsub.add_parser("from-icdar", help="convert ICDAR 2013/2015 ground truth to our JSON",
                        description="Convert an ICDAR 2013 (left,top,right,bottom,\"text\") or "
                                    "ICDAR 2015 (x1,y1,...,x4,y4,text; ### = ignore) ground-truth "
                                    "folder into one annotation file.")
    p.add_argument("format", choices=["2013", "2015"])
    p.add_argument("gt_dir", help="folder of gt_*.txt files")
    p.add_argument("image_dir", help="folder of the images")
    p.add_argument("--out", required=True, help="annotation file to write (.json)")
    p.set_defaults(func=cmd_from_icdar)

    p = dsub.add_parser("validate", help="check annotation files and print their counts",
                        description="Load and validate annotation files (images exist and are "
                                    "readable, boxes inside, types right, UTF-8), then print "
                                    "counts. Exits with status 2 and a message naming the file, "
                                    "image, word and field at the first error.")
    p.add_argument("annotations", nargs="+")
    p.add_argument("--no-image-check", action="store_true", help="do not open the images")
    p.set_defaults(func=cmd_validate)

    p = dsub.add_parser("to-tfrecord", help="pack an annotation file into TFRecord shards",
                        description="Pack images (as encoded) and ground truth into TFRecord "
                                    "shards named PREFIX-0000i-of-0000N.tfrecord.")
    p.add_argument("annotations")
    p.add_argument("--out", required=True, metavar="PREFIX", help="shard path prefix")
    p.add_argument("--shards", type=int, default=4, help="number of shards (default 4)")
    p.set_defaults(func=cmd_to_tfrecord)

    p = dsub.add_parser("show", help="draw boxes and transcriptions over images",
                        description="Draw word boxes (green; ignored ones red), line boxes "
                                    "(blue) and transcriptions over images of an annotation "
                                    "file, or over freshly rendered synthetic pages.")
    p.add_argument("annotations", nargs="?", help="annotation file")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="render N synthetic pages instead")
    p.add_argument("--seed", type=int, default=0, help="first synthetic seed")
    p.add_argument("--start", type=int, default=0, help="first image of the file to draw")
    p.add_argument("--step", type=int, default=1, help="take every STEP-th image (default 1)")
    p.add_argument("--limit", type=int, default=12, help="how many images (default 12)")
    p.add_argument("--out", help="folder for one picture per image")
    p.add_argument("--sheet", help="contact sheet PNG of all pictures")
    p.add_argument("--columns", type=int, default=3)
    p.add_argument("--cell-width", type=int, default=700)
    p.add_argument("--no-text", action="store_true", help="boxes only")
    _add_generator_args(p)
    p.set_defaults(func=cmd_show)

    p = dsub.add_parser("pipeline-preview",
                        help="draw training examples as the model receives them",
                        description="Run the tf.data training pipeline (scale jitter, crop, "
                                    "photometric augmentation) and draw its examples with their "
                                    "target boxes: cut boxes appear as ignored (red).")
    p.add_argument("annotations", nargs="?", help="annotation file or TFRecords")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic generator")
    p.add_argument("--image-size", type=_size, default=(512, 512), metavar="HxW")
    p.add_argument("--target", choices=["lines", "words"], default="lines")
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", required=True, help="contact sheet PNG to write")
    p.add_argument("--columns", type=int, default=3)
    _add_generator_args(p)
    p.set_defaults(func=cmd_pipeline_preview)
    return data
