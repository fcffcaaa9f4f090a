"""The training tests' harness: shared pieces, no tests (the layer harness is harness.py).

* :class:`SmallTextModel`: a model of a few hundred weights that takes TextNet's
  batches and reports a ``loss``; it traces in a second, so the default suite
  can drive the real trainer (strategies, checkpoints, SIGKILL and resume)
  cheaply. The slow tests run the same paths with TextNet itself.
* helpers to write configs, run ``keras-textnet train`` (or a tiny wrapper
  around :class:`~keras_textnet.training.trainer.Trainer`) in a subprocess,
  find free ports, and read the runs' outputs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf
import yaml

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FINGERPRINT = re.compile(r"trainable weights fingerprint ([-+0-9.e]+)")


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class SmallTextModel(keras.Model):
    """Predicts the number of boxes of a page from a strided conv + BatchNorm."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 3, strides=4, name="conv")
        self.norm = keras.layers.BatchNormalization(name="norm")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(1, name="head")
        self.tracker = keras.metrics.Mean(name="loss")

    def call(self, images, training=False):
        x = tf.cast(images, tf.float32) / 255.0
        return self.head(self.pool(self.norm(self.conv(x), training=training)))[:, 0]

    @property
    def metrics(self):
        return [self.tracker]

    def _loss(self, images, targets, training):
        target = tf.cast(targets["num_boxes"], tf.float32) / 10.0
        return tf.reduce_mean(tf.square(self(images, training=training) - target))

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._loss(data[0], data[1], True)
            share = loss / tf.distribute.get_strategy().num_replicas_in_sync
        grads = tape.gradient(share, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}

    def test_step(self, data):
        self.tracker.update_state(self._loss(data[0], data[1], False))
        return {"loss": self.tracker.result()}

    # Keras's recalibrate_batch_norm path for TextNet-like models.
    def compute_losses(self, images, targets, training=True, seed=None):
        return {"loss": self._loss(images, targets, training)}


def build_small_model(config):
    model = SmallTextModel(name="small_text_model")
    h, w = config.data.image_size
    model(tf.zeros((1, h, w, 3), tf.uint8))
    return model


def small_config(**sections) -> dict:
    """A config dict: synthetic 160x200 pages rendered in the input thread, 64x64 inputs."""
    config = {
        "model": {"preset": "tiny"},
        "data": {"image_size": [64, 64], "batch_size": 2, "synthetic_workers": 0,
                 "sources": [{"kind": "synthetic", "page_size": [160, 200], "degrade": 0.0}]},
        "schedule": {"steps": 6, "steps_per_epoch": 3, "optimizer": "adam",
                     "learning_rate": 0.01, "warmup_steps": 0},
        "checkpoint": {"every_steps": 2, "keep": 2},
        "logging": {"every_steps": 1, "tensorboard": False},
        "finish": {"bn_recalibration_steps": 0},
    }
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    return config


def write_config(tmp_path, config: dict, name="train.yaml") -> Path:
    path = Path(tmp_path) / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def small_trainer_command(config_path, out, *extra) -> list[str]:
    """A subprocess running the Trainer with SmallTextModel (the CLI runs TextNet)."""
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); "
            "from training_harness import main_small; sys.exit(main_small(sys.argv[1:]))")
    return [sys.executable, "-c", code, str(config_path), str(out), *extra]


def main_small(argv) -> int:
    """``config.yaml out [--strategy S] [--logical-cpus N] [--steps N]``: train SmallTextModel."""
    import argparse

    from keras_textnet.training.config import TrainingConfig
    from keras_textnet.training.trainer import Trainer

    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("out")
    parser.add_argument("--strategy")
    parser.add_argument("--logical-cpus", type=int)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"distribution.strategy": args.strategy,
                                   "distribution.logical_cpus": args.logical_cpus,
                                   "schedule.steps": args.steps}.items() if v is not None}
    config = TrainingConfig.load(args.config, overrides=overrides)
    return Trainer(config, args.out, verbose=0, model_builder=build_small_model).run() \
        .exit_status


def textnet_command(config_path, out, *extra) -> list[str]:
    return [sys.executable, "-m", "keras_textnet.cli", "train", "--config", str(config_path),
            "--out", str(out), "--verbose", "0", *extra]


def environment(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def run(command, timeout=600, **env) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=environment(**env))


def checkpoint_steps(out) -> list[int]:
    folder = Path(out) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(int(p.name[5:]) for p in folder.iterdir() if re.match(r"^ckpt-\d+$", p.name))


def kill_after_checkpoint(command, out, step: int, timeout=600, delay: float = 0.0) -> dict:
    """Starts ``command``, SIGKILLs it once a checkpoint of ``step`` or later exists.

    Returns what was on disk when it died (the checkpoints, the history rows) and
    whether processes it started outlived it by 30 s (``orphans``).
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=ROOT, env=environment(), start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not (checkpoint_steps(out) and checkpoint_steps(out)[-1] >= step):
            if process.poll() is not None:
                raise AssertionError("the training process ended before it could be killed:\n"
                                     + process.stdout.read()[-4000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"no checkpoint of step {step} after {timeout} s")
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        # What it started (synthetic render workers) must end by itself.
        orphans = True
        for _ in range(300):
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                orphans = False
                break
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        else:
            # Whatever the killed process started (none expected) goes with it.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return {"checkpoints": checkpoint_steps(out), "history": history_steps(out),
            "orphans": orphans}


def history_steps(out) -> list[int]:
    path = Path(out) / "history.csv"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines if line]


def summary(out) -> dict:
    return json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))


def fingerprints(text: str) -> list[float]:
    return [float(v) for v in FINGERPRINT.findall(text)]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports, index) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def run_workers(command, ports, timeout=900) -> list[subprocess.CompletedProcess]:
    """Runs ``command`` once per port as the workers of one TF_CONFIG cluster."""
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, cwd=ROOT, start_new_session=True,
                                  env=environment(TF_CONFIG=tf_config(ports, i)))
                 for i in range(len(ports))]
    results = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(command, process.returncode, output, ""))
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=60)
    return results
