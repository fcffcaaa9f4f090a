"""Forward latency per 1024x1024 page and train-step time of each preset, in one run.

    python benchmarks/model_benchmark.py [--presets tiny,mobilenet,densenet_shallow,resnet50]

Train steps use batch 2 at the default training size (512x512) on synthetic
pages prepared beforehand (the input pipeline is measured separately, in
``pipeline_benchmark.py``). Each figure is the median of ``--repeats`` calls
after a warm-up call. Writes ``benchmarks/results/models.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from result_file import write_result_file  # noqa: E402  (benchmarks/result_file.py)


def _median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="tiny,mobilenet,densenet_shallow,resnet50")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/models.md")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from keras_textnet.data.pipeline import DEFAULT_TRAINING_SIZE, SyntheticSource, make_dataset
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.models.text_net import TextNet

    gen = SyntheticDocumentGenerator(page_size=(1024, 768))
    ds = make_dataset(SyntheticSource(gen, count=None, workers=0),
                      image_size=DEFAULT_TRAINING_SIZE, batch_size=2, seed=0)
    batches = list(ds.take(args.repeats + 1))
    page = tf.constant(gen.generate(10**9).image)
    page = tf.image.pad_to_bounding_box(page, 0, 0, 1024, 1024)[tf.newaxis]
    rows = []
    for preset in args.presets.split(","):
        model = TextNet.from_preset(preset)
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
        forward = tf.function(lambda x, m=model: m(x, training=False))
        latency = _median_seconds(lambda: forward(page), args.repeats)
        step = tf.function(model.train_step)
        it = iter(batches * 3)
        train = _median_seconds(lambda: step(next(it)), args.repeats)
        rows.append((preset, model.count_params(), latency, train))
        print(f"{preset}: {model.count_params():,} params, forward {latency:.2f} s/page, "
              f"train step {train:.2f} s", flush=True)
        del model
        keras.backend.clear_session()

    load = os.getloadavg()[0]
    lines = ["# Model speed per preset", "",
             f"Command: `python {' '.join([sys.argv[0]] + (argv or sys.argv[1:]))}`  ",
             f"Machine: {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, load average "
             f"{load:.1f} at the end. Median of {args.repeats} after a warm-up.", "",
             "| preset | parameters | forward, 1024x1024 page (s) | train step, batch 2 at "
             f"{DEFAULT_TRAINING_SIZE[0]}x{DEFAULT_TRAINING_SIZE[1]} (s) |",
             "| --- | ---: | ---: | ---: |"]
    lines += [f"| {p} | {n:,} | {f:.2f} | {t:.2f} |" for p, n, f, t in rows]
    write_result_file(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
