"""Time to the first page: ``keras-textnet read PAGE`` end to end, and its phases.

    python benchmarks/first_page.py --out benchmarks/results/first_page.md

Every measurement runs in a fresh Python process (nothing cached in memory but
what the OS keeps of the files), ``--repeats`` times (default 3); the table
gives the median and the range. Two kinds of run, taking turns so a change of
load on the machine hits both alike:

* end to end: ``keras-textnet read PAGE`` (the console script; the text goes
  to /dev/null), wall time from spawn to exit;
* phases, in one child: Python start + ``import keras_textnet`` (from the
  parent's spawn to the child's first line after the import), ``import
  tensorflow``, loading the shipped model
  (:func:`keras_textnet.pretrained.load_default_model`), the first
  ``predict_image`` call (tracing included) and a second one.

The bar (issue 12, part 6): the first page in at most 8 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
BAR_S = 8.0

CHILD = r"""
import sys, time
import keras_textnet
t_pkg = time.time()
t = time.perf_counter()
import tensorflow
t_tf = time.perf_counter() - t
from keras_textnet.pretrained import default_model_path, load_default_model
from keras_textnet.predictor import TextNetPredictor
t = time.perf_counter()
model = load_default_model()
t_load = time.perf_counter() - t
predictor = TextNetPredictor(model, max_side=2048)
predictor.plan(1)          # as `keras-textnet read PAGE` does: one page, run eagerly
t = time.perf_counter()
first = predictor.predict_image(sys.argv[2])
t_first = time.perf_counter() - t
t = time.perf_counter()
second = predictor.predict_image(sys.argv[2])
t_second = time.perf_counter() - t
import json
print(json.dumps({"start_import_keras_textnet": t_pkg - float(sys.argv[1]),
                  "import_tensorflow": t_tf, "load_model": t_load,
                  "first_predict": t_first, "second_predict": t_second,
                  "words": len(first["words"]), "model": str(default_model_path())}))
"""

PHASES = [("start_import_keras_textnet", "Python start + `import keras_textnet`"),
          ("import_tensorflow", "`import tensorflow`"),
          ("load_model", "load the shipped model (`load_default_model`)"),
          ("first_predict", "first `predict_image` (one page planned: eager, no tracing)"),
          ("second_predict", "second `predict_image` (past the plan: the graph traced)")]


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as the command sets it
    return env


def time_read(command: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    if done.stderr.strip():
        print(f"stderr of read: {done.stderr.strip()}", file=sys.stderr)
    return wall


def time_phases(page: str) -> dict:
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(t0), page], capture_output=True,
                          text=True, cwd=ROOT, env=_env())
    if done.returncode != 0:
        raise SystemExit(f"phase child failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _shown(path: str) -> str:
    p = Path(path)
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def _fmt(values: list[float]) -> str:
    return (f"{statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} | "
            + ", ".join(f"{v:.2f}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", default="docs/examples/page.png")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/first_page.md")
    args = parser.parse_args()

    from machine import describe_machine

    exe = shutil.which("keras-textnet")
    read_cmd = ([exe] if exe else [sys.executable, "-m", "keras_textnet"]) + ["read", args.page]
    load_before = _load()
    reads, phases = [], []
    for i in range(args.repeats):
        reads.append(time_read(read_cmd))
        phases.append(time_phases(args.page))
        print(f"repeat {i + 1}: read {reads[-1]:.2f} s; phases "
              + ", ".join(f"{k} {phases[-1][k]:.2f}" for k, _ in PHASES), flush=True)
    load_after = _load()

    import tensorflow as tf

    sums = [sum(p[k] for k, _ in PHASES[:4]) for p in phases]
    median_read = statistics.median(reads)
    verdict = "within" if median_read <= BAR_S else "over"
    shown_cmd = " ".join(["keras-textnet"] + read_cmd[-2:]) if exe else " ".join(read_cmd)
    lines = [
        "# Time to the first page",
        "",
        f"Command: `python benchmarks/first_page.py --page {args.page} --repeats {args.repeats} "
        f"--out {args.out}`  ",
        f"End to end: `{shown_cmd}` (text to /dev/null), each run a fresh process; "
        f"{args.repeats} repeats, read and phase runs taking turns  ",
        f"Machine: {describe_machine()}; Python {sys.version.split()[0]}, "
        f"TensorFlow {tf.__version__}; CPU only  ",
        f"Model: `{_shown(phases[0]['model'])}` "
        f"(the shipped model); page {args.page}, {phases[0]['words']} words read  ",
        f"Load: `{load_before}` before, `{load_after}` after (the machine's 2 cores are "
        "shared with a training run unless it was paused for the measurement).",
        "",
        f"## Against the bar (first page in at most {BAR_S:g} s)",
        "",
        "| measurement | median (s) | range (s) | runs (s) |",
        "| --- | ---: | ---: | --- |",
        f"| `{shown_cmd}`, end to end | {_fmt(reads)} |",
        f"| sum of the phases to the first page | {_fmt(sums)} |",
        "",
        f"Verdict: the median end to end, {median_read:.2f} s, is **{verdict}** the bar of "
        f"{BAR_S:g} s (machine load above).",
        "",
        "## Phases (one fresh process per run)",
        "",
        "| phase | median (s) | range (s) | runs (s) |",
        "| --- | ---: | ---: | --- |",
    ]
    for key, label in PHASES:
        lines.append(f"| {label} | {_fmt([p[key] for p in phases])} |")
    lines += ["", "The end-to-end time also covers what the phases leave out: argument "
              "parsing, reading the page through the command's input path, writing the text "
              "and the interpreter's exit.", ""]
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
