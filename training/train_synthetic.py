"""Trains a TextNet preset on synthetic documents rendered on the fly.

    python training/train_synthetic.py --preset mobilenet --minutes 60 --out runs/mobilenet

Writes into ``--out``: ``model.keras`` (the latest weights, saved every
``--save-every`` steps and at the end, atomically), ``history.csv`` (the
losses every ``--log-every`` steps, for the learning curve) and
``backup/`` (Keras ``BackupAndRestore``: the same command resumes after an
interruption). At the end the BatchNorm moving statistics are
re-estimated (``--bn-recalibration-steps``) before the last save. Stops after
``--steps`` steps or ``--minutes`` of wall time, whichever comes first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _callbacks(out: Path, save_every: int, log_every: int, minutes: float, model_path: Path):
    import keras

    start = time.time()

    class TimeAndLog(keras.callbacks.Callback):
        """Logs losses every few steps, saves the model, stops at the time budget."""

        def __init__(self):
            super().__init__()
            self.history_path = out / "history.csv"
            self.step = 0

        def on_train_begin(self, logs=None):
            self.step = int(self.model.optimizer.iterations.numpy())

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            logs = logs or {}
            if self.step % log_every == 0:
                new = not self.history_path.exists()
                with self.history_path.open("a", newline="") as f:
                    writer = csv.writer(f)
                    keys = sorted(logs)
                    if new:
                        writer.writerow(["step", "minutes", "learning_rate", *keys])
                    lr = float(keras.ops.convert_to_numpy(
                        self.model.optimizer.learning_rate))
                    writer.writerow([self.step, round((time.time() - start) / 60, 2),
                                     f"{lr:.3g}", *(f"{float(logs[k]):.4f}" for k in keys)])
            if self.step % save_every == 0:
                self._save()
            if time.time() - start > minutes * 60:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self._save()

        def _save(self):
            tmp = model_path.with_name("model.tmp.keras")
            self.model.save(tmp)
            os.replace(tmp, model_path)

    return [keras.callbacks.BackupAndRestore(str(out / "backup"), save_freq=save_every,
                                             delete_checkpoint=False),
            TimeAndLog()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mobilenet")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--page-size", default="1024x768")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--decay-steps", type=int, default=8000,
                        help="cosine decay length (about the steps the time budget allows)")
    parser.add_argument("--workers", type=int, default=1, help="synthetic render processes")
    parser.add_argument("--max-rotation", type=float, default=0.0)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bn-recalibration-steps", type=int, default=50,
                        help="after training, re-estimate the BatchNorm moving statistics over "
                             "this many batches (0: skip)")
    args = parser.parse_args(argv)

    import keras

    from keras_textnet.data.pipeline import SyntheticSource, make_dataset
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.models.text_net import TextNet

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(vars(args), indent=1))
    model_path = out / "model.keras"
    h, w = (int(v) for v in args.page_size.split("x"))
    gen = SyntheticDocumentGenerator(page_size=(h, w), max_rotation=args.max_rotation)
    source = SyntheticSource(gen, seed_offset=args.seed * 1_000_003, workers=args.workers)
    ds = make_dataset(source, image_size=(args.image_size, args.image_size),
                      batch_size=args.batch_size, seed=args.seed)

    model = TextNet.from_preset(args.preset, seed=args.seed)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=args.decay_steps, alpha=0.05,
        warmup_target=args.learning_rate, warmup_steps=args.warmup_steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4, clipnorm=5.0))
    print(f"{args.preset}: {model.count_params():,} parameters; training into {out}",
          flush=True)
    model.fit(ds, epochs=max(1, args.steps // args.save_every), steps_per_epoch=args.save_every,
              callbacks=_callbacks(out, args.save_every, args.log_every, args.minutes,
                                   model_path), verbose=2)
    if args.bn_recalibration_steps > 0:
        from keras_textnet.models.batch_norm import recalibrate_batch_norm

        recalibrate_batch_norm(model, ds, steps=args.bn_recalibration_steps)
        tmp = model_path.with_name("model.tmp.keras")
        model.save(tmp)
        os.replace(tmp, model_path)
    print(f"saved {model_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
