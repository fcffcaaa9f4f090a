"""Latency per page of every deployment format, on the same pages in one run, with parity.

    python benchmarks/export_benchmark.py --model runs/mobilenet_synth/model.keras \\
        --pages 8 --out benchmarks/results/export.md

Exports the model (copied first: a training run may rewrite it) as a TF Serving
SavedModel, TFLite fp32 / fp16 / int8 (fixed input ``--size``) and ONNX, then runs
Keras, the SavedModel (``serve_images`` with uint8 pixels, and ``serving_default``
with the page's PNG bytes, decoding included), the three TFLite models in the
LiteRT interpreter (XNNPACK, ``--threads``) and ONNX Runtime (CPU, ``--threads``)
on the same held-out synthetic pages. Runtimes take turns page by page (the
order rotates), so a change of load on the machine hits them alike. Each page is
also compared with Keras's output for that page (lines matched by IoU, box
difference, identical strings: :mod:`keras_textnet.export.parity`).

Writes the Markdown results (command, machine, latencies, file sizes, the
GPU-delegate FLOP shares, parity) and prints them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _size(text):
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() \
        else path.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=".keras file (default: --preset, untrained)")
    parser.add_argument("--preset", default="mobilenet")
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--size", type=_size, default=(1024, 768), metavar="HxW")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--keep", help="keep the exports in this folder (default: a temp dir)")
    parser.add_argument("--out", default="benchmarks/results/export.md")
    args = parser.parse_args(argv)

    import tensorflow as tf
    from machine import describe_machine

    from keras_textnet.export.gpu_report import gpu_delegate_report
    from keras_textnet.export.model_source import load_model
    from keras_textnet.export.onnx import export_onnx
    from keras_textnet.export.parity import compare_page, format_summary, summarize
    from keras_textnet.export.runtimes import (
        HELD_OUT_SEED,
        keras_runner,
        onnx_runner,
        saved_model_runner,
        synthetic_pages,
        tflite_runner,
    )
    from keras_textnet.export.saved_model import export_saved_model
    from keras_textnet.export.tflite import export_tflite

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="export_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    if args.model:
        source = work / "model.keras"
        shutil.copyfile(args.model, source)  # a training run may rewrite the original
        model = load_model(source)
        model_desc = f"`{args.model}` ({model.name}, trained)"
    else:
        model = load_model(None, preset=args.preset)
        model_desc = f"preset `{args.preset}`, untrained (random weights)"
    print(f"model: {model_desc}", flush=True)

    timings = {}
    start = time.perf_counter()
    saved = export_saved_model(model, work / "serving", overwrite=True)
    timings["saved_model"] = time.perf_counter() - start
    start = time.perf_counter()
    tflite = export_tflite(model, work / "tflite", input_size=args.size)
    timings["tflite"] = time.perf_counter() - start
    start = time.perf_counter()
    onnx_path = export_onnx(model, work / "onnx")
    timings["onnx"] = time.perf_counter() - start
    print("exported: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()), flush=True)

    sizes = [("Keras weights (`model.save_weights`, `.weights.h5`)", None),
             ("SavedModel (`NAME/1/`, all signatures)", _folder_size(saved)),
             ("TFLite fp32", _folder_size(tflite["fp32"])),
             ("TFLite fp16", _folder_size(tflite["fp16"])),
             ("TFLite int8 (dynamic range)", _folder_size(tflite["int8"])),
             ("ONNX", _folder_size(onnx_path))]
    weights = work / "model.weights.h5"
    model.save_weights(weights)
    sizes[0] = (sizes[0][0], _folder_size(weights))
    reports = {v: gpu_delegate_report(tflite[v]).to_dict() for v in ("fp32", "fp16", "int8")}

    pages = synthetic_pages(args.pages, args.size)
    runners = {
        "Keras (tf.function)": keras_runner(model),
        "SavedModel, uint8 pixels": saved_model_runner(saved, "serve_images"),
        "SavedModel, PNG bytes (decode included)": saved_model_runner(saved,
                                                                      "serving_default"),
        "TFLite fp32 (LiteRT, XNNPACK)": tflite_runner(tflite["fp32"], args.threads),
        "TFLite fp16 (LiteRT, XNNPACK)": tflite_runner(tflite["fp16"], args.threads),
        "TFLite int8 (LiteRT, XNNPACK)": tflite_runner(tflite["int8"], args.threads),
        "ONNX Runtime (CPU)": onnx_runner(onnx_path, args.threads),
    }
    names = list(runners)
    for name in names:  # warm-up: traces, allocations
        runners[name](pages[0])
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    agreement = {n: [] for n in names[1:]}
    for i, page in enumerate(pages):
        order = names[i % len(names):] + names[:i % len(names)]
        outputs = {}
        for name in order:
            w0, c0 = time.perf_counter(), time.process_time()
            outputs[name] = runners[name](page)
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
        for name in names[1:]:
            agreement[name].append(compare_page(outputs[names[0]], outputs[name],
                                                model.charset))
        print(f"page {i + 1}/{len(pages)}: " + ", ".join(
            f"{n.split(' (')[0]} {wall[n][-1]:.2f}s" for n in names), flush=True)
    load_after = os.getloadavg()[0]

    command = f"python {' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))}"
    lines = [
        "# Deployment formats: latency, size, parity, GPU-delegate share", "",
        f"Command: `{command}`  ",
        (f"Machine: {describe_machine()}; TensorFlow {tf.__version__}, ai-edge-litert "
         f"{_version('ai-edge-litert')}, onnxruntime {_version('onnxruntime')}, tf2onnx "
         f"{_version('tf2onnx')}; CPU only  "),
        (f"Model: {model_desc}; {model.detections_per_image} detections per page, "
         f"{model.max_text_length} characters per line  "),
        (f"Pages: {args.pages} held-out synthetic pages {args.size[0]}x{args.size[1]} (seeds "
         f"{HELD_OUT_SEED}..), the same tensor for every runtime; one warm-up call each, then "
         f"the runtimes take turns page by page. TFLite and ONNX Runtime use {args.threads} "
         f"threads, TensorFlow its default.  "),
        (f"Load average (1 min) {load_before:.1f} before and {load_after:.1f} after, on "
         f"{os.cpu_count()} cores: other jobs shared the CPU, so wall times are pessimistic; "
         f"compare rows of this run, and the CPU seconds."), "",
        "## Latency per page", "",
        "| runtime | median wall (s) | mean wall (s) | median CPU (s, all threads) |",
        "| --- | ---: | ---: | ---: |"]
    for name in names:
        lines.append(f"| {name} | {statistics.median(wall[name]):.3f} | "
                     f"{statistics.mean(wall[name]):.3f} | {statistics.median(cpu[name]):.3f} |")
    lines += ["", "## Parity with Keras (same pages)", "",
              ("Lines matched one-to-one by IoU >= 0.5; box difference is the largest "
               "coordinate difference in pixels over matched lines."), "",
              ("| runtime | pages with the same count | lines matched | boxes within 1 px | "
               "max box diff (px) | identical strings | characters agreeing | pages exact |"),
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in names[1:]:
        s = summarize(agreement[name])
        ref = max(s["reference_lines"], 1)
        lines.append(f"| {name} | {s['pages_same_count']}/{s['pages']} | "
                     f"{s['matched_lines']}/{s['reference_lines']} | "
                     f"{s['boxes_within_1px']}/{s['matched_lines']} | {s['max_box_diff']:.3f} | "
                     f"{s['identical_text']}/{s['reference_lines']} "
                     f"({100 * s['identical_text'] / ref:.1f}%) | "
                     f"{100 * s['character_agreement']:.2f}% | "
                     f"{s['pages_exact']}/{s['pages']} |")
        print(format_summary(name, s))
    lines += ["", "## Files", "", "| file | size (MB) |", "| --- | ---: |"]
    lines += [f"| {name} | {size / 1e6:.2f} |" for name, size in sizes]
    lines += ["", "Export times: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
              "", "## GPU delegate (our report, `keras_textnet.export.gpu_report`)", "",
              f"Input {args.size[0]}x{args.size[1]}.", "",
              ("| TFLite model | GFLOPs | FLOPs in supported ops | first block (conv bulk) | "
               "largest partition (the delegate's default) | all supported partitions | "
               "supported partitions |"), "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for variant, r in reports.items():
        lines.append(f"| {variant} | {r['total_gflops']:.1f} | "
                     f"{100 * r['supported_flop_share']:.1f}% | "
                     f"{100 * r['first_block']['flop_share']:.1f}% | "
                     f"{100 * r['largest_partition_flop_share']:.1f}% | "
                     f"{100 * r['all_partitions_flop_share']:.1f}% | {r['gpu_partitions']} |")
    lines += ["", ("Per-op tables: `gpu_report.md` written next to the TFLite models by "
              "`keras-textnet export --format tflite`."), ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    shutil.copyfile(tflite["gpu_report"], out.with_name(out.stem + "_gpu_report.md"))
    print("\n".join(lines))
    print(f"wrote {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
