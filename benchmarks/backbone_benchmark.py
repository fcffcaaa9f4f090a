"""Backbone + FeaturePyramid speed: forward and training-step times per preset.

For each backbone preset, builds ``backbone -> FeaturePyramid(P2, P3, 128
channels)`` and times, after one warm-up call each (tracing excluded):

1. a forward pass (inference mode) on a 1x512x512 image,
2. a forward pass on a 1x1024x1024 image,
3. a training step (forward + backward + SGD update) on a dummy loss (mean
   square of P2 and P3), batch 2, 512x512.

Every figure is the median over ``--iterations`` calls of a ``tf.function``,
as wall-clock seconds and as process CPU seconds (all threads; on an idle
machine about ``cores x wall``, and less sensitive to other jobs).

Usage::

    python benchmarks/backbone_benchmark.py [--iterations 3] [--backbones tiny mobilenet ...]
        [--out benchmarks/results/backbones.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from machine import describe_machine  # noqa: E402  (benchmarks/machine.py)
from result_file import write_result_file  # noqa: E402  (benchmarks/result_file.py)

PRESETS = ("tiny", "mobilenet", "densenet_shallow", "resnet50")


def _median_seconds(fn, iterations: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU seconds of ``fn()`` after one warm-up call."""
    fn()  # warm-up: tracing and first-call allocation
    wall, cpu = [], []
    for _ in range(iterations):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _bench_one(name: str, iterations: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_textnet.layers.feature_pyramid import FeaturePyramid
    from keras_textnet.models.backbones import build_backbone

    backbone = build_backbone(name)
    images = keras.Input((None, None, 3), name="images")
    model = keras.Model(
        images, FeaturePyramid(min_level=2, max_level=3, channels=128)(backbone(images))
    )

    @tf.function(reduce_retracing=True)
    def forward(x):
        outputs = model(x, training=False)
        return outputs["P2"], outputs["P3"]

    optimizer = keras.optimizers.SGD(learning_rate=1e-3)
    optimizer.build(model.trainable_variables)

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss = tf.reduce_mean(tf.square(outputs["P2"])) + tf.reduce_mean(
                tf.square(outputs["P3"])
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    rng = np.random.default_rng(0)
    x512 = tf.constant(rng.uniform(0, 255, (1, 512, 512, 3)).astype("float32"))
    x1024 = tf.constant(rng.uniform(0, 255, (1, 1024, 1024, 3)).astype("float32"))
    batch = tf.constant(rng.uniform(0, 255, (2, 512, 512, 3)).astype("float32"))

    def run_forward(x):
        return lambda: [t.numpy() for t in forward(x)]

    return {
        "backbone_params": backbone.count_params(),
        "total_params": model.count_params(),
        "channels": [int(backbone.output[k].shape[-1]) for k in ("C2", "C3", "C4", "C5")],
        "forward_512": _median_seconds(run_forward(x512), iterations),
        "forward_1024": _median_seconds(run_forward(x1024), iterations),
        "train_512_b2": _median_seconds(lambda: train_step(batch).numpy(), iterations),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=3, help="timed calls per figure")
    parser.add_argument("--backbones", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--out", default="benchmarks/results/backbones.md")
    args = parser.parse_args(argv)

    import tensorflow as tf

    load_before = os.getloadavg()[0]
    rows = []
    for name in args.backbones:
        result = _bench_one(name, args.iterations)
        rows.append((name, result))
        print(name, result, flush=True)

    command = "python benchmarks/backbone_benchmark.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    lines = [
        "# Backbone + FeaturePyramid speed",
        "",
        f"Command: `{command.strip()}`  ",
        f"Machine: {describe_machine()}; TensorFlow {tf.__version__}, CPU only, no XLA  ",
        (
            "Model: backbone -> FeaturePyramid(min_level=2, max_level=3, channels=128), "
            f"float32, weights from scratch. Median of {args.iterations} calls of a "
            "`tf.function` after one warm-up call.  "
        ),
        (
            "Train step: forward + backward + SGD update on mean(P2^2) + mean(P3^2), "
            "batch 2, 512x512.  "
        ),
        (
            "Each time: wall-clock seconds (process CPU seconds, all threads; less "
            "sensitive to other jobs on the machine)."
        ),
        "",
        (
            "| backbone | C2, C3, C4, C5 channels | backbone params | with FPN params "
            "| forward 1x512x512 (s) | forward 1x1024x1024 (s) | train step 2x512x512 (s) |"
        ),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        times = " | ".join(
            f"{r[key][0]:.3f} ({r[key][1]:.2f})"
            for key in ("forward_512", "forward_1024", "train_512_b2")
        )
        lines.append(
            f"| {name} | {', '.join(map(str, r['channels']))} | {r['backbone_params']:,} "
            f"| {r['total_params']:,} | {times} |"
        )
    lines += [
        "",
        (
            f"1-minute load average {load_before:.1f} before the run and "
            f"{os.getloadavg()[0]:.1f} after it, on {os.cpu_count()} cores (near 0 when "
            "idle; above the core count, other jobs competed for the CPU and wall times "
            "are pessimistic: compare rows of one run, or the CPU seconds)."
        ),
        "",
    ]
    write_result_file(args.out, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
