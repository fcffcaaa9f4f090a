"""Our model and Tesseract on the same pages, in the same run: per set and per document.

    # our real-page validation set, clean and degraded (training/build_val_set.sh)
    python benchmarks/vs_tesseract.py --realval data_cache/realval --out results/realval

    python benchmarks/vs_tesseract.py --model runs/mobilenet_synth/model.keras \\
        --synthetic 30 --annotations data_cache/pdf_val/annotations.json \\
        --out docs/results/vs_tesseract

Validation sets: held-out synthetic pages rendered in memory from seeds
``--first-seed``.. (``--synthetic N``), annotation files (``--annotations
[NAME=]FILE``, repeatable; the set is called NAME, else the file's folder
name), and ``--realval DIR``, which adds ``DIR/clean`` and ``DIR/degraded``
as the sets ``realval-clean`` and ``realval-degraded``. ``--max-pages N``
keeps N pages of each set, evenly spread over it (the same pages of the clean
and the degraded set); ``--limit N`` the first N of each file.

Each page is read by Tesseract (``OMP_THREAD_LIMIT=1``, ``--psm 3``, English)
and by our model, alternately, and both are scored with the protocol of
docs/evaluation.md (words; lines too): detection F, end-to-end F exact and normalized,
CER over matched words, seconds per page, for every set and for every document
of a set (records' ``doc``). Seconds per page are wall time of the reading
itself: Tesseract's process (start-up included) and our predictor (resize,
network, decoding), after one warm-up page. Like ``keras-textnet read``, the run
gives TensorFlow its BFC allocator for CPU tensors
(:mod:`keras_textnet.cpu_allocator`) unless ``TF_CPU_ALLOCATOR_USE_BFC`` is set.

For our model the run also reads every readable ground-truth line from its
ground-truth box (:mod:`keras_textnet.evaluation.recognition`; not timed):
"GT-line CER" is the recognizer's character error rate when the boxes are
right, and "GT lines exact" the share of those lines read exactly. Compared
with the end-to-end figures it tells misreading from missing.

Writes ``README.md`` (tables) and ``results.json`` to ``--out``.
Never point this at PDFs of the held-out Debian packages.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

SYSTEMS = ("tesseract", "ours")


def _spread(items: list, n: int) -> list:
    """At most ``n`` of ``items``, evenly spread (first and last included)."""
    if n <= 0 or len(items) <= n:
        return items
    if n == 1:
        return items[:1]
    step = (len(items) - 1) / (n - 1)
    return [items[round(k * step)] for k in range(n)]


def _annotation_sets(args) -> list[tuple[str, Path]]:
    sets = []
    for item in args.annotations or []:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).parent.name or Path(item).stem, item
        sets.append((name, Path(path)))
    for folder in args.realval or []:
        for part in ("clean", "degraded"):
            sets.append((f"realval-{part}", Path(folder) / part / "annotations.json"))
    names = [n for n, _ in sets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystemExit(f"vs_tesseract.py: two validation sets are called {dupes}; "
                         f"name them with --annotations NAME=FILE.")
    for name, path in sets:
        if not path.is_file():
            raise SystemExit(f"vs_tesseract.py: no annotation file {path} (set {name}); "
                             f"for --realval build it with training/build_val_set.sh DIR.")
    return sets


def _pages(args):
    """Yields (set name, ImageRecord, RGB array) for every validation page."""
    if args.synthetic:
        from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

        h, w = (int(v) for v in args.page_size.split("x"))
        gen = SyntheticDocumentGenerator(page_size=(h, w))
        seeds = range(args.first_seed, args.first_seed + args.synthetic)
        for seed in _spread(list(seeds), args.max_pages):
            page = gen.generate(seed)
            yield "synthetic", page.record, page.image
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.image_io import read_image

    for name, path in _annotation_sets(args):
        ann = AnnotationSet.load(path, check_images=False)
        for rec in _spread(ann.images[: args.limit or None], args.max_pages):
            yield name, rec, read_image(ann.image_path(rec))


def _fmt(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:3]))
    parser.add_argument("--model", help="our model (.keras); default: the shipped model")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="N held-out synthetic pages")
    parser.add_argument("--first-seed", type=int, default=10**9)
    parser.add_argument("--page-size", default="1024x768")
    parser.add_argument("--annotations", nargs="+", action="extend", metavar="[NAME=]FILE",
                        help="annotation files (validation sets); repeatable")
    parser.add_argument("--realval", action="append", metavar="DIR",
                        help="a folder made by training/build_val_set.sh: scores its clean/ "
                             "and degraded/ sets")
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages per file "
                        "(the first ones)")
    parser.add_argument("--max-pages", type=int, default=0, metavar="N",
                        help="at most N pages per set, evenly spread over it (quick runs)")
    parser.add_argument("--no-gt-lines", action="store_true",
                        help="skip reading the ground-truth lines with our recognizer")
    parser.add_argument("--out", required=True, help="folder for results.json and README.md")
    parser.add_argument("--note", action="append", default=[], metavar="TEXT",
                        help="a line for the README under the machine (what the model is, "
                             "what else ran, the ground truth); repeatable")
    args = parser.parse_args(argv)
    if not args.synthetic and not args.annotations and not args.realval:
        parser.error("give --synthetic N, --annotations FILE... and/or --realval DIR")
    _annotation_sets(args)  # fail on a missing file before loading anything heavy
    from keras_textnet.cpu_allocator import use_bfc_cpu_allocator

    use_bfc_cpu_allocator()  # as `keras-textnet read` does (before TensorFlow's first op)

    from tqdm.auto import tqdm

    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.evaluation.protocol import evaluate
    from keras_textnet.evaluation.recognition import LineReadCounts, read_gt_lines
    from keras_textnet.evaluation.tesseract import run_tesseract, tesseract_version
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path, load_model
    from machine import describe_machine
    from result_file import shown_path

    version = tesseract_version()
    if version is None:
        print("tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-eng",
              file=sys.stderr)
        return 2
    model_path = args.model or str(default_model_path())
    ours = TextNetPredictor(load_model(model_path))
    records: dict[str, list] = {}
    preds: dict[str, dict[str, list]] = {}
    seconds: dict[str, dict[str, list[float]]] = {}   # per page, in record order
    gt_lines: dict[str, list[LineReadCounts]] = {}
    warm = False
    for set_name, rec, image in tqdm(list(_pages(args)), desc="pages", unit="page"):
        if not warm:  # warm-up, not timed
            ours.predict_image(image, file=rec.file)
            # A second input size makes the predictor trace its shape-generic graph now
            # (reduce_retracing), not on the first timed page of another size.
            h, w = image.shape[:2]
            ours.predict_image(image[: max(32, h - 64), : max(32, w - 64)], file=rec.file)
            run_tesseract(image, file=rec.file)
            warm = True
        records.setdefault(set_name, []).append(rec)
        for system, read in (("tesseract", lambda: run_tesseract(image, file=rec.file)),
                             ("ours", lambda: ours.predict_image(image, file=rec.file))):
            start = time.perf_counter()
            pred = read()
            elapsed = time.perf_counter() - start
            preds.setdefault(set_name, {}).setdefault(system, []).append(pred)
            seconds.setdefault(set_name, {}).setdefault(system, []).append(elapsed)
        if not args.no_gt_lines:
            lines, texts = read_gt_lines(ours, image, rec)
            gt_lines.setdefault(set_name, []).append(
                LineReadCounts.of([ln.text for ln in lines], texts))

    def scores(words, lines, secs, reads) -> dict:
        d = {"pages": len(secs), "words": words.to_dict(), "lines": lines.to_dict(),
             "detection_f": round(words.detection()["f"], 4),
             "e2e_exact_f": round(words.e2e_exact()["f"], 4),
             "e2e_normalized_f": round(words.e2e_normalized()["f"], 4),
             "e2e_lines_f": round(lines.e2e_normalized()["f"], 4),
             "cer": None if words.cer() is None else round(words.cer(), 4),
             "seconds_per_page": round(sum(secs) / max(len(secs), 1), 3)}
        if reads is not None:
            total = sum(reads, LineReadCounts())
            d["gt_lines"] = total.to_dict()
        return d

    results = {"model": model_path, "tesseract": version, "machine": describe_machine(),
               "command": "python " + shlex.join(sys.argv), "sets": {}}
    for set_name, recs in records.items():
        gt = AnnotationSet(images=recs)
        entry = results["sets"][set_name] = {"pages": len(recs)}
        docs = list(dict.fromkeys(r.doc for r in recs if r.doc is not None))
        kinds = {r.doc: r.extra.get("kind") for r in recs if r.doc is not None}
        for system in SYSTEMS:
            doc = {"images": preds[set_name][system]}
            words = evaluate(gt, doc, level="words")
            lines = evaluate(gt, doc, level="lines")
            secs = seconds[set_name][system]
            reads = gt_lines.get(set_name) if system == "ours" else None
            entry[system] = scores(words, lines, secs, reads)
            if docs:
                by_words, by_lines = words.by_doc(), lines.by_doc()
                entry[system]["by_doc"] = {}
                for name in docs:
                    idx = [k for k, r in enumerate(recs) if r.doc == name]
                    d = scores(by_words[name], by_lines[name], [secs[k] for k in idx],
                               None if reads is None else [reads[k] for k in idx])
                    d.pop("words"), d.pop("lines")
                    d["kind"] = kinds.get(name)
                    entry[system]["by_doc"][name] = d

    header = ("| set | pages | system | det F | e2e F exact | e2e F normalized | e2e F lines | "
              "CER (matched words) | GT-line CER | GT lines exact | s/page |")
    table = [header, "|" + "---|" * 11]
    for set_name, entry in results["sets"].items():
        for system in SYSTEMS:
            s = entry[system]
            g = s.get("gt_lines", {})
            table.append(f"| {set_name} | {entry['pages']} | {system} | {s['detection_f']:.3f} | "
                         f"{s['e2e_exact_f']:.3f} | {s['e2e_normalized_f']:.3f} | "
                         f"{s['e2e_lines_f']:.3f} | {_fmt(s['cer'])} | {_fmt(g.get('cer'))} | "
                         f"{_fmt(g.get('exact_share'))} | {s['seconds_per_page']:.2f} |")
    per_doc = []
    for set_name, entry in results["sets"].items():
        if "by_doc" not in entry["ours"]:
            continue
        per_doc += ["", f"### {set_name}: per document", "",
                    "| document | kind | pages | system | det F | e2e F exact | e2e F normalized "
                    "| CER | GT-line CER | GT lines exact | s/page |", "|" + "---|" * 11]
        for name in entry["ours"]["by_doc"]:
            for system in SYSTEMS:
                s = entry[system]["by_doc"][name]
                g = s.get("gt_lines", {})
                per_doc.append(
                    f"| {name} | {s['kind'] or ''} | {s['pages']} | {system} | "
                    f"{s['detection_f']:.3f} | {s['e2e_exact_f']:.3f} | "
                    f"{s['e2e_normalized_f']:.3f} | {_fmt(s['cer'])} | {_fmt(g.get('cer'))} | "
                    f"{_fmt(g.get('exact_share'))} | {s['seconds_per_page']:.2f} |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    summary = [f"# Ours vs Tesseract {version}", "",
               f"Command: `{results['command']}`  ",
               f"Model: `{shown_path(model_path)}`  ",
               f"Machine: {results['machine']}" + ("  " if args.note else ""),
               *[f"{note}  " for note in args.note[:-1]], *args.note[-1:], "",
               "Words scored with the protocol of docs/evaluation.md (IoU >= 0.5, one-to-one); "
               "'e2e F lines' scores whole lines (normalized text). Tesseract: `--psm 3 -l eng`, "
               "`OMP_THREAD_LIMIT=1`, process start-up included in its time. 'GT-line CER' / "
               "'GT lines exact': our recognizer reading the readable ground-truth lines from "
               "their ground-truth boxes (character error rate; share of lines read exactly), "
               "not timed.", "",
               *table, *per_doc]
    (out / "README.md").write_text("\n".join(summary) + "\n")
    print("\n".join(table + per_doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
