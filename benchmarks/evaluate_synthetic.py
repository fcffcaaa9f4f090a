"""Scores a trained model on held-out synthetic pages with the protocol of docs/evaluation.md.

    python benchmarks/evaluate_synthetic.py --model runs/mobilenet_synth/model.keras \\
        --pages 50 --out docs/results/mobilenet_synth

Held-out pages use seeds from ``--first-seed`` (default 10**9), far from any
seed a training run draws (training seeds start at ``seed * 1_000_003``).
Writes ``metrics.json`` (words and lines), ``predictions.json``, a markdown
summary and two pictures (predictions drawn over held-out pages).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=10**9)
    parser.add_argument("--page-size", default="1024x768")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from tqdm.auto import tqdm

    from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line, Word
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.data.visualize import contact_sheet, draw_record, save_rgb
    from keras_textnet.evaluation.protocol import evaluate
    from keras_textnet.predictor import TextNetPredictor

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    h, w = (int(v) for v in args.page_size.split("x"))
    gen = SyntheticDocumentGenerator(page_size=(h, w))
    predictor = TextNetPredictor.load(args.model)
    gt_records, predictions, pictures, seconds = [], [], [], 0.0
    for seed in tqdm(range(args.first_seed, args.first_seed + args.pages), desc="evaluate",
                     unit="page"):
        page = gen.generate(seed)
        gt_records.append(page.record)
        start = time.perf_counter()
        pred = predictor.predict_image(page.image, file=page.record.file)
        seconds += time.perf_counter() - start
        predictions.append(pred)
        if len(pictures) < 4:
            shown = ImageRecord(file=pred["file"], width=w, height=h,
                                words=[Word(box=tuple(x["box"]), text=x["text"])
                                       for x in pred["words"]],
                                lines=[Line(box=tuple(x["box"]), text=x["text"])
                                       for x in pred["lines"]])
            pictures.append(draw_record(page.image, shown))
    gt = AnnotationSet(images=gt_records, root=out)
    pred_doc = {"images": predictions}
    (out / "predictions.json").write_text(json.dumps(pred_doc))
    words = evaluate(gt, pred_doc, level="words")
    lines = evaluate(gt, pred_doc, level="lines")
    metrics = {"model": args.model, "pages": args.pages, "first_seed": args.first_seed,
               "seconds_per_page": round(seconds / args.pages, 3),
               "machine": f"{os.cpu_count()} cores, {platform.machine()}",
               "words": words.to_dict(), "lines": lines.to_dict()}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    save_rgb(out / "predictions_sheet.png", contact_sheet(pictures, columns=2, cell_width=700))
    summary = [
        f"# Held-out synthetic pages: {args.model}",
        "",
        f"Command: `python {' '.join(sys.argv)}`  ",
        f"{args.pages} pages ({args.page_size}, seeds {args.first_seed}..), "
        f"{metrics['seconds_per_page']} s/page on {metrics['machine']}.",
        "",
        "## Words (the protocol of docs/evaluation.md)",
        "```", str(words), "```",
        "",
        "## Lines",
        "```", str(lines), "```",
    ]
    (out / "README.md").write_text("\n".join(summary) + "\n")
    print(words)
    print(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
