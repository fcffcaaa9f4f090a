"""Seconds per page under TensorFlow's CPU allocators, side by side in one run.

    python benchmarks/cpu_allocator.py data_cache/realval/clean --pages 8 --repeats 2 \\
        --out benchmarks/results/cpu_allocator.md

Reads the same pages with the shipped model (or ``--model``) in a fresh process
for each allocator, alternately, ``--repeats`` rounds:

* ``default``: TensorFlow's pool in front of glibc ``malloc``
  (``TF_CPU_ALLOCATOR_USE_BFC=false``);
* ``bfc``: TensorFlow's BFC allocator (``TF_CPU_ALLOCATOR_USE_BFC=true``), what
  the ``keras-textnet`` command chooses (:mod:`keras_textnet.cpu_allocator`);
* ``tcmalloc``: the default pool with Google's tcmalloc preloaded
  (``LD_PRELOAD``), when ``libtcmalloc_minimal.so.4`` is installed.

Each process times ``TextNetPredictor.predict_image`` on every page after two
warm-up pages (two sizes, so the shape-generic graph is traced before the
clock starts), and checks that TensorFlow really uses the allocator asked for
(``tf.config.experimental.get_memory_info`` has figures only under BFC).
Ratios are to ``default`` in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TCMALLOC_PATHS = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
                  "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
                  "/usr/lib64/libtcmalloc_minimal.so.4")


def _tcmalloc() -> str | None:
    return next((p for p in TCMALLOC_PATHS if os.path.exists(p)), None)


def _variants() -> dict[str, dict[str, str]]:
    variants = {"default": {"TF_CPU_ALLOCATOR_USE_BFC": "false"},
                "bfc": {"TF_CPU_ALLOCATOR_USE_BFC": "true"}}
    lib = _tcmalloc()
    if lib:
        variants["tcmalloc"] = {"TF_CPU_ALLOCATOR_USE_BFC": "false", "LD_PRELOAD": lib}
    return variants


def _page_files(folder: Path, pages: int) -> list[str]:
    """``pages`` images of ``folder`` (an annotation set's folder or its images/), evenly spread."""
    images = folder / "images" if (folder / "images").is_dir() else folder
    files = sorted(str(p) for p in images.iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"))
    if not files:
        raise SystemExit(f"no images in {images}")
    from vs_tesseract import _spread  # the same even spread as the yardstick's --max-pages

    return _spread(files, pages)


def worker(model: str | None, files: list[str]) -> dict:
    """In the child process: time the predictor on ``files``; JSON-able figures."""
    import tensorflow as tf

    from keras_textnet.image_io import read_image
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import default_model_path, load_model

    predictor = TextNetPredictor(load_model(model or str(default_model_path())))
    images = [read_image(f) for f in files]
    h, w = images[0].shape[:2]
    predictor.predict_image(images[0])
    predictor.predict_image(images[0][: max(32, h - 64), : max(32, w - 64)])
    seconds = []
    for image in images:
        start = time.perf_counter()
        predictor.predict_image(image)
        seconds.append(time.perf_counter() - start)
    try:
        tf.config.experimental.get_memory_info("CPU:0")
        bfc = True
    except ValueError:
        bfc = False
    with open("/proc/self/maps", encoding="utf-8") as f:
        tcmalloc = "tcmalloc" in f.read()
    return {"seconds_per_page": sum(seconds) / len(seconds), "bfc_in_use": bfc,
            "tcmalloc_loaded": tcmalloc,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run_variant(env_overrides: dict[str, str], model: str | None, files: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD",)}
    env.update(env_overrides)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cmd = [sys.executable, __file__, "--worker", "--files", *files]
    if model:
        cmd += ["--model", model]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker failed ({env_overrides}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("folder", nargs="?", help="pages: a folder of images or an annotation "
                        "set's folder (its images/)")
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", help="a .keras model; default: the shipped one")
    parser.add_argument("--out", help="write a Markdown result file here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.model, args.files)))
        return 0
    if not args.folder:
        parser.error("give the folder of pages")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import describe_machine
    from result_file import write_result_file

    files = _page_files(Path(args.folder), args.pages)
    variants = _variants()
    rounds = []
    for r in range(args.repeats):
        row = {}
        for name, env in variants.items():
            row[name] = _run_variant(env, args.model, files)
            fig = row[name]
            print(f"round {r + 1} {name:9s} {fig['seconds_per_page']:.3f} s/page "
                  f"(bfc {fig['bfc_in_use']}, tcmalloc {fig['tcmalloc_loaded']}, "
                  f"max RSS {fig['max_rss_mb']:.0f} MB)", flush=True)
            expect_bfc = env["TF_CPU_ALLOCATOR_USE_BFC"] == "true"
            if fig["bfc_in_use"] != expect_bfc or fig["tcmalloc_loaded"] != ("LD_PRELOAD" in env):
                raise SystemExit(f"{name}: TensorFlow did not use the allocator asked for: {fig}")
        rounds.append(row)
    lines = ["# Seconds per page under TensorFlow's CPU allocators", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"Machine: {describe_machine()}", "",
             f"{len(files)} pages of `{args.folder}`, model "
             f"`{args.model or 'shipped'}`; one fresh process per allocator and round.", "",
             "| round | allocator | s/page | ratio to default | max RSS (MB) |",
             "|---|---|---|---|---|"]
    for r, row in enumerate(rounds, 1):
        base = row["default"]["seconds_per_page"]
        for name, fig in row.items():
            lines.append(f"| {r} | {name} | {fig['seconds_per_page']:.3f} | "
                         f"{fig['seconds_per_page'] / base:.2f} | {fig['max_rss_mb']:.0f} |")
    lines += ["", "| allocator | mean ratio to default |", "|---|---|"]
    for name in variants:
        ratios = [row[name]["seconds_per_page"] / row["default"]["seconds_per_page"]
                  for row in rounds]
        lines.append(f"| {name} | {sum(ratios) / len(ratios):.2f} |")
    print("\n".join(lines[-len(variants) - 2:]))
    if args.out:
        write_result_file(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
