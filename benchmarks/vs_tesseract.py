"""Our model and Tesseract on the same pages, in the same run: one table.

    python benchmarks/vs_tesseract.py --model runs/mobilenet_synth/model.keras \\
        --synthetic 30 --annotations data_cache/pdf_val/annotations.json \\
        --out docs/results/vs_tesseract

For each validation set (held-out synthetic pages rendered in memory from
seeds ``--first-seed``.., and/or annotation files such as our PDF-rendered
validation split), each page is read by Tesseract (``OMP_THREAD_LIMIT=1``,
``--psm 3``, English) and by our model, alternately, and both are scored with
the protocol of DESIGN.md (words; lines too). Seconds per page are wall time
of the reading itself: Tesseract's process (start-up included) and our
predictor (resize, network, decoding), after one warm-up page.
Never point this at PDFs of the held-out Debian packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _pages(args):
    """Yields (set name, ImageRecord, RGB array) for every validation page."""
    if args.synthetic:
        from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

        h, w = (int(v) for v in args.page_size.split("x"))
        gen = SyntheticDocumentGenerator(page_size=(h, w))
        for seed in range(args.first_seed, args.first_seed + args.synthetic):
            page = gen.generate(seed)
            yield "synthetic", page.record, page.image
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.image_io import read_image

    for path in args.annotations or []:
        ann = AnnotationSet.load(path, check_images=False)
        name = Path(path).parent.name or Path(path).stem
        for rec in ann.images[: args.limit or None]:
            yield name, rec, read_image(ann.image_path(rec))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="our model (.keras); default: the shipped model")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="N held-out synthetic pages")
    parser.add_argument("--first-seed", type=int, default=10**9)
    parser.add_argument("--page-size", default="1024x768")
    parser.add_argument("--annotations", nargs="*", help="annotation files (validation sets)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages per file")
    parser.add_argument("--out", required=True, help="folder for results.json and README.md")
    args = parser.parse_args(argv)
    if not args.synthetic and not args.annotations:
        parser.error("give --synthetic N and/or --annotations FILE...")

    from tqdm.auto import tqdm

    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.evaluation.protocol import evaluate
    from keras_textnet.evaluation.tesseract import run_tesseract, tesseract_version
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path, load_model
    from machine import describe_machine

    version = tesseract_version()
    if version is None:
        print("tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-eng",
              file=sys.stderr)
        return 2
    model_path = args.model or str(default_model_path())
    ours = TextNetPredictor(load_model(model_path))
    records: dict[str, list] = {}
    preds: dict[str, dict[str, list]] = {}
    seconds: dict[str, dict[str, float]] = {}
    warm = False
    for set_name, rec, image in tqdm(list(_pages(args)), desc="pages", unit="page"):
        if not warm:  # one warm-up page each, not timed
            ours.predict_image(image, file=rec.file)
            run_tesseract(image, file=rec.file)
            warm = True
        records.setdefault(set_name, []).append(rec)
        for system, read in (("tesseract", lambda: run_tesseract(image, file=rec.file)),
                             ("ours", lambda: ours.predict_image(image, file=rec.file))):
            start = time.perf_counter()
            pred = read()
            elapsed = time.perf_counter() - start
            preds.setdefault(set_name, {}).setdefault(system, []).append(pred)
            seconds.setdefault(set_name, {}).setdefault(system, 0.0)
            seconds[set_name][system] += elapsed

    results = {"model": model_path, "tesseract": version, "machine": describe_machine(),
               "command": "python " + " ".join(sys.argv), "sets": {}}
    rows = []
    for set_name, recs in records.items():
        gt = AnnotationSet(images=recs)
        results["sets"][set_name] = {"pages": len(recs)}
        for system in ("tesseract", "ours"):
            doc = {"images": preds[set_name][system]}
            words = evaluate(gt, doc, level="words")
            lines = evaluate(gt, doc, level="lines")
            per_page = seconds[set_name][system] / len(recs)
            results["sets"][set_name][system] = {
                "words": words.to_dict(), "lines": lines.to_dict(),
                "seconds_per_page": round(per_page, 3)}
            cer = words.cer()
            rows.append((set_name, len(recs), system, words.detection()["f"],
                         words.e2e_exact()["f"], words.e2e_normalized()["f"],
                         lines.e2e_normalized()["f"], cer, per_page))

    header = ("| set | pages | system | det F (words) | e2e F exact | e2e F normalized | "
              "e2e F lines | CER (matched words) | s/page |")
    table = [header, "|" + "---|" * 9]
    for s, n, system, det, e2e, norm, line_f, cer, sec in rows:
        cer_text = "n/a" if cer is None else f"{cer:.3f}"
        table.append(f"| {s} | {n} | {system} | {det:.3f} | {e2e:.3f} | {norm:.3f} | "
                     f"{line_f:.3f} | {cer_text} | {sec:.2f} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    summary = [f"# Ours vs Tesseract {version}", "",
               f"Command: `{results['command']}`  ",
               f"Model: `{model_path}`  ",
               f"Machine: {results['machine']}", "",
               "Words scored with the protocol of DESIGN.md (IoU >= 0.5, one-to-one); "
               "'e2e F lines' scores whole lines. Tesseract: `--psm 3 -l eng`, "
               "`OMP_THREAD_LIMIT=1`, process start-up included in its time.", "",
               *table]
    (out / "README.md").write_text("\n".join(summary) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
