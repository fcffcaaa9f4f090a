"""Dynamic RoI pooling on the CPU: the custom op against pure TF, in one run.

    python benchmarks/pooling_benchmark.py [--repeats 7] [--train-steps 5] [--no-train-step]

1. The realistic case of ``custom_ops/gpu_check/pooling_cases.py``: batch 2, C2 of a
   1024 x 1024 page (256 x 256 x 64), 512 text-line boxes, Hp 8, Wmax 128, s 2. Forward, and
   forward + backward (the gradient of ``sum(pooled * g)`` with respect to the features),
   each a ``tf.function``; the two implementations alternate repetition by repetition so that
   a shared, busy CPU slows both alike. Also their largest differences.
2. One train step of the default preset (``mobilenet``, batch 2 at 512 x 512, synthetic
   pages), ``train_step`` traced once per implementation, the two alternating.

Medians after a warm-up. Writes ``benchmarks/results/pooling_cpu.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from result_file import write_result_file  # noqa: E402  (benchmarks/result_file.py)


def _pooling_cases():
    spec = importlib.util.spec_from_file_location(
        "pooling_cases", ROOT / "custom_ops" / "gpu_check" / "pooling_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alternate(functions: dict, repeats: int) -> dict:
    """Median wall and CPU seconds of each function, called in turn after a warm-up.

    Returns ``{name: (wall, cpu)}``. CPU time is the process's (all of TF's threads): on a
    machine shared with other jobs it measures the work done, where wall time also measures
    the wait for a core.
    """
    for fn in functions.values():
        fn()
    times = {name: ([], []) for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return {name: (statistics.median(w), statistics.median(c)) for name, (w, c) in times.items()}


def pooling_figures(case, repeats: int):
    """Forward and forward+backward times of both implementations on ``case``, and parity."""
    import numpy as np
    import tensorflow as tf

    from keras_textnet.ops import custom_op
    from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling

    attrs = {k: case[k] for k in ("spatial_scale", "pooled_height", "max_width",
                                  "sampling_ratio", "aligned")}
    features = tf.constant(case["features"])
    boxes, indices, angles = (tf.constant(case[k]) for k in ("boxes", "box_indices", "angles"))
    upstream = tf.constant(np.random.default_rng(1).standard_normal(
        (boxes.shape[0], attrs["pooled_height"], attrs["max_width"], features.shape[-1]),
        np.float32))

    def make(implementation):
        with custom_op.pooling_implementation(implementation):
            @tf.function
            def forward(features):
                return dynamic_roi_pooling(features, boxes, indices, angles, **attrs)

            @tf.function
            def forward_backward(features):
                with tf.GradientTape() as tape:
                    tape.watch(features)
                    pooled, _ = dynamic_roi_pooling(features, boxes, indices, angles, **attrs)
                    loss = tf.reduce_sum(pooled * upstream)
                return pooled, tape.gradient(loss, features)

            forward.get_concrete_function(features)  # traced under this implementation
            forward_backward.get_concrete_function(features)
        return forward, forward_backward

    custom_fwd, custom_fb = make("custom")
    tf_fwd, tf_fb = make("tf")
    c_pooled, c_grad = (t.numpy() for t in custom_fb(features))
    t_pooled, t_grad = (t.numpy() for t in tf_fb(features))
    widths = custom_fwd(features)[1].numpy()
    parity = dict(forward=float(np.abs(c_pooled - t_pooled).max()),
                  gradient=float(np.abs(c_grad - t_grad).max()),
                  gradient_scale=float(np.abs(t_grad).max()))
    fwd = _alternate({"custom": lambda: custom_fwd(features)[0].numpy(),
                      "tf": lambda: tf_fwd(features)[0].numpy()}, repeats)
    fb = _alternate({"custom": lambda: custom_fb(features)[1].numpy(),
                     "tf": lambda: tf_fb(features)[1].numpy()}, repeats)
    return dict(forward=fwd, forward_backward=fb, parity=parity, lines=int(widths.size),
                max_width=attrs["max_width"], mean_width=float(widths.mean()),
                at_max=int((widths == attrs["max_width"]).sum()),
                library=str(custom_op.custom_ops_path()))


def train_shape_case(model, image_size, batch=2, seed=5):
    """Pooling inputs of the shapes one train step of ``model`` pools: its recognition map,
    ``recognition_rois_per_image`` text lines per image."""
    import numpy as np

    cases = _pooling_cases()
    rng = np.random.default_rng(seed)
    num = batch * model.recognition_rois_per_image
    boxes, angles = cases.text_line_boxes(rng, num, *image_size)
    return dict(features=rng.standard_normal((batch, image_size[0] // 4, image_size[1] // 4,
                                              model.recognition_channels), np.float32),
                boxes=boxes, angles=angles,
                box_indices=np.repeat(np.arange(batch), num // batch).astype(np.int32),
                spatial_scale=0.25, pooled_height=model.pooled_height,
                max_width=model.max_width, sampling_ratio=model.sampling_ratio, aligned=True)


def train_step_figures(steps: int):
    import keras
    import tensorflow as tf

    from keras_textnet.data.pipeline import DEFAULT_TRAINING_SIZE, SyntheticSource, make_dataset
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.models.text_net import TextNet
    from keras_textnet.ops import custom_op

    gen = SyntheticDocumentGenerator(page_size=(1024, 768))
    ds = make_dataset(SyntheticSource(gen, count=None, workers=0),
                      image_size=DEFAULT_TRAINING_SIZE, batch_size=2, seed=0)
    batches = list(ds.take(3))
    model = TextNet.from_preset("mobilenet")
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    steps_fn = {}
    for implementation in ("custom", "tf"):
        with custom_op.pooling_implementation(implementation):
            step = tf.function(model.train_step)
            step.get_concrete_function(batches[0])
        steps_fn[implementation] = step
    counter = {"custom": 0, "tf": 0}

    def run(name):
        def _call():
            counter[name] += 1
            logs = steps_fn[name](batches[counter[name] % len(batches)])
            float(logs["loss"])
        return _call

    step_times = _alternate({name: run(name) for name in steps_fn}, steps)
    pooling = pooling_figures(train_shape_case(model, DEFAULT_TRAINING_SIZE), max(steps, 5))
    return step_times, pooling, DEFAULT_TRAINING_SIZE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--no-train-step", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pooling_cpu.md"))
    args = parser.parse_args(argv)

    import tensorflow as tf
    from machine import describe_machine

    load_before = os.getloadavg()[0]
    pool = pooling_figures(_pooling_cases().realistic_case(seed=0), args.repeats)
    fwd, fb = pool["forward"], pool["forward_backward"]
    for label, t in (("forward", fwd), ("forward+backward", fb)):
        print(f"{label}: custom {t['custom'][0] * 1e3:.1f} ms ({t['custom'][1] * 1e3:.0f} ms "
              f"CPU), tf {t['tf'][0] * 1e3:.1f} ms ({t['tf'][1] * 1e3:.0f} ms CPU): "
              f"{t['tf'][0] / t['custom'][0]:.1f}x wall, {t['tf'][1] / t['custom'][1]:.1f}x CPU",
              flush=True)
    print(f"parity: {pool['parity']}", flush=True)
    train = None
    if not args.no_train_step:
        train, train_pool, size = train_step_figures(args.train_steps)
        print(f"train step: custom {train['custom'][0]:.3f} s, tf {train['tf'][0]:.3f} s "
              f"({train['tf'][0] / train['custom'][0]:.2f}x wall, "
              f"{train['tf'][1] / train['custom'][1]:.2f}x CPU)", flush=True)
    load_after = os.getloadavg()[0]

    def row(label, t, scale, unit):
        return (f"| {label} | {t['custom'][0] * scale:.{unit}f} | {t['tf'][0] * scale:.{unit}f} | "
                f"**{t['tf'][0] / t['custom'][0]:.1f}x** | {t['custom'][1] * scale:.{unit}f} | "
                f"{t['tf'][1] * scale:.{unit}f} | **{t['tf'][1] / t['custom'][1]:.1f}x** |")

    header = ("| | custom op | pure TF | speed-up | custom op, CPU time | pure TF, CPU time | "
              "speed-up, CPU time |")
    command = " ".join(["python", "benchmarks/pooling_benchmark.py"] + (argv or sys.argv[1:]))
    lines = [
        "# Dynamic RoI pooling on the CPU: custom op vs pure TF", "",
        f"Command: `{command}`  ",
        f"Machine: {describe_machine()}, TensorFlow {tf.__version__}; load average "
        f"{load_before:.1f} before, {load_after:.1f} after. The CPU is shared with a training "
        f"job, so absolute times are noisy: the two implementations alternate call by call, "
        f"and besides wall time the process's CPU time (all threads) is reported, which "
        f"measures the work rather than the wait for a core.  ",
        f"Custom op: `{pool['library']}`.", "",
        "## Pooling, realistic case", "",
        "Batch 2, C2 of a 1024 x 1024 page (256 x 256 x 64 float32), 512 text-line boxes "
        f"(mean width {pool['mean_width']:.1f} bins, {pool['at_max']} at Wmax), Hp 8, "
        f"Wmax 128, s 2; `tf.function`, median of {args.repeats} after a warm-up; times in ms.",
        "", header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("forward", fwd, 1e3, 1), row("forward + backward", fb, 1e3, 1), "",
        f"Largest difference custom vs pure TF on this case: forward "
        f"{pool['parity']['forward']:.1e}, gradient {pool['parity']['gradient']:.1e} (gradient "
        f"values up to {pool['parity']['gradient_scale']:.1f}).",
    ]
    if train is not None:
        pure_share = train_pool["forward_backward"]["tf"][1] / train["tf"][1]
        custom_share = train_pool["forward_backward"]["custom"][1] / train["custom"][1]
        saved = (train_pool["forward_backward"]["tf"][1]
                 - train_pool["forward_backward"]["custom"][1])
        lines += [
            "", "## Train step of the default preset", "",
            f"`TextNet.from_preset(\"mobilenet\")`, batch 2 at {size[0]}x{size[1]}, synthetic "
            f"pages, `tf.function(model.train_step)` traced once per implementation; median of "
            f"{args.train_steps} steps each after a warm-up, alternating; times in s.", "",
            header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            row("train step (s)", train, 1, 3),
            row("its pooling alone, forward + backward (ms)", train_pool["forward_backward"],
                1e3, 1),
            "",
            f"The step pools {train_pool['lines']} text lines (recognition_rois_per_image per "
            f"image, here of mean width {train_pool['mean_width']:.1f} of Wmax "
            f"{train_pool['max_width']} bins) from a {size[0] // 4}x{size[1] // 4} map: the "
            f"last row times that pooling alone, with the same inputs' shapes, so its share of "
            f"the step can be read off.",
            "",
            f"Reading: with pure TF the pooling is {pure_share:.1%} of the step's CPU time, with "
            f"the custom op {custom_share:.1%}; the op saves about "
            f"{saved * 1e3:.0f} ms of CPU time per step, {saved / train['tf'][1]:.1%} of it, "
            f"which is within the step's run-to-run noise on this shared machine. The preset's "
            f"step is dominated by the backbone, the heads and the recognizer; the op matters "
            f"where many more lines are pooled (inference on full pages, larger "
            f"recognition_rois_per_image).",
        ]
    write_result_file(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
