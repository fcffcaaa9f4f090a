"""Inference settings of a trained model, scored on our real validation pages.

    python benchmarks/inference_settings.py --realval data_cache/realval \
        --settings '{}' '{"rpn_post_nms_topk": 500}' --min-scores 0.5,0.1,0.05 \
        --out benchmarks/results/inference_settings.md

For each settings variant (JSON of the model's inference settings: see
``keras_textnet.pretrained.INFERENCE_SETTINGS``), the model runs once per page with
``score_threshold`` at the lowest of ``--min-scores``, and its outputs are decoded at
each of them (``decode_outputs(min_score=...)``): the detector's NMS is greedy by
score, so dropping detections under a threshold afterwards keeps the same set as
running the model at that threshold. Each row is word detection F and end-to-end F
(exact) of the protocol of docs/evaluation.md, clean and degraded.

``--timing-pages N`` also times every variant on N clean pages, the variants taking
turns on each page in one process (after a warm-up): the ratio of their total time
to the first variant's is what to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe_machine  # noqa: E402  (benchmarks/machine.py)
from result_file import shown_path  # noqa: E402


def _pages(realval: Path, part: str) -> list[str]:
    ann = json.loads((realval / part / "annotations.json").read_text())
    return [im["file"] for im in ann["images"]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained model (.keras); default: the shipped model")
    parser.add_argument("--realval", required=True, type=Path,
                        help="a folder made by training/build_val_set.sh")
    parser.add_argument("--settings", nargs="+", default=["{}"],
                        help="JSON objects of inference settings, one per variant")
    parser.add_argument("--min-scores", default="0.5",
                        help="comma-separated detection score thresholds to decode at")
    parser.add_argument("--timing-pages", type=int, default=0)
    parser.add_argument("--out", type=Path, help="Markdown file for the table")
    args = parser.parse_args(argv)

    from keras_textnet.evaluation.protocol import evaluate
    from keras_textnet.image_io import read_image
    from keras_textnet.predictor import TextNetPredictor, decode_outputs
    from keras_textnet.pretrained import default_model_path, load_model

    model_path = args.model or str(default_model_path())
    variants = [json.loads(s) for s in args.settings]
    thresholds = sorted({float(t) for t in args.min_scores.split(",")}, reverse=True)
    parts = {part: _pages(args.realval, part) for part in ("clean", "degraded")}
    images = {(part, f): read_image(args.realval / part / f)
              for part, files in parts.items() for f in files}

    rows = []
    predictors = []
    for settings in variants:
        model = load_model(model_path, **{**settings, "score_threshold": min(thresholds)})
        predictor = TextNetPredictor(model)
        if args.timing_pages:         # the variant as it would ship, for the timing below
            predictors.append(TextNetPredictor(load_model(model_path, **settings)))
        raw = {key: predictor.raw_outputs(image)
               for key, image in tqdm(images.items(), desc=json.dumps(settings), unit="page")}
        for t in thresholds:
            scores = []
            for part, files in parts.items():
                preds = {"images": [decode_outputs(raw[(part, f)][0], 0, raw[(part, f)][1],
                                                   images[(part, f)].shape[:2], f, model.charset,
                                                   min_score=t, image=images[(part, f)])
                                    for f in files]}
                result = evaluate(args.realval / part / "annotations.json", preds)
                scores += [result.detection()["f"], result.e2e_exact()["f"]]
            rows.append((json.dumps(settings), t, *scores))
            print(f"{rows[-1][0]} min_score {t}: clean det {scores[0]:.3f} e2e {scores[1]:.3f}, "
                  f"degraded det {scores[2]:.3f} e2e {scores[3]:.3f}", flush=True)

    timing = []
    if args.timing_pages:
        files = parts["clean"][::max(1, len(parts["clean"]) // args.timing_pages)]
        files = files[:args.timing_pages]
        for p in predictors:
            for f in files[:2]:
                p.predict_image(images[("clean", f)])
        seconds = [0.0] * len(predictors)
        for f in tqdm(files, desc="timing", unit="page"):
            for k, p in enumerate(predictors):
                start = time.perf_counter()
                p.predict_image(images[("clean", f)])
                seconds[k] += time.perf_counter() - start
        timing = [(json.dumps(v), s / len(files), s / seconds[0]) for v, s in zip(variants, seconds)]
        for name, per_page, ratio in timing:
            print(f"{name}: {per_page:.3f} s/page, {ratio:.3f} of the first variant's time")

    if args.out:
        lines = ["# Inference settings on our real validation pages", "",
                 f"Command: `python {shlex.join(['benchmarks/inference_settings.py', *sys.argv[1:]])}`  ",
                 f"Model: `{shown_path(model_path)}` (`{{}}`: its own settings)  ",
                 f"Machine: {describe_machine()}", "",
                 "| settings | min score | det F clean | e2e F clean | det F degraded | e2e F degraded |",
                 "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| `{r[0]}` | {r[1]:g} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} |"
                  for r in rows]
        if timing:
            lines += ["", f"Timing ({args.timing_pages} clean pages, variants taking turns):", "",
                      "| settings | s/page | time / first variant's |", "|---|---:|---:|"]
            lines += [f"| `{name}` | {s:.3f} | {r:.3f} |" for name, s, r in timing]
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
