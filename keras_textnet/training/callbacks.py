"""The callbacks of a resumable run: step checkpoints, logs, best model.

They share one :class:`RunProgress` (the step count of the whole run, across
restarts) and must be given to ``model.fit`` in this order:

1. :class:`StepCounter`: counts the run's steps and examples;
2. :class:`BestModelExport`: at each epoch end, validates (if there is a
   validation source) and exports ``best.keras`` when the monitored loss improved;
3. :class:`HistoryLogger`: ``history.csv``, ``validation.csv`` and TensorBoard
   scalars keyed on the run's step, so a resumed run continues the curves;
4. :class:`StepCheckpoint`: checkpoints every N steps and on every stop
   (total steps reached, time budget, SIGTERM/SIGINT). Last, so that what a
   checkpoint covers is logged already: a run killed after writing it has
   nothing of its steps left to log, and rows logged after it are cut away
   when the run resumes (:func:`truncate_csv`).

In multi-worker training every decision that leads to a save is taken at the
same step on every worker (saving can be a collective operation): time and
signal checks are agreed through a small all-reduce every ``sync_every`` steps.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from keras_textnet.atomic_files import save_atomic, write_atomic
from keras_textnet.training.checkpoint_manager import write_json_atomic
from keras_textnet.training.distribution import WorkerInfo, all_workers_agree, all_workers_mean


class TrainingError(RuntimeError):
    """Training cannot go on (a diverged loss, a run folder in use, a config clash)."""


@dataclass
class RunProgress:
    """How far the run is: counted over every invocation of the same run."""

    step: int = 0
    examples_seen: int = 0
    elapsed_seconds: float = 0.0       # training time of the earlier invocations
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None     # "steps", "time", "SIGTERM", "SIGINT"
    last_saved_step: int = -1
    epoch: int = 0

    def minutes(self) -> float:
        return (self.elapsed_seconds + time.monotonic() - self.started) / 60.0


class StopRequest:
    """SIGTERM / SIGINT set a flag; the run stops after the step (with a checkpoint).

    A second SIGINT interrupts at once (``KeyboardInterrupt``).
    """

    def __init__(self):
        self.signal_name: str | None = None
        self._previous = {}

    def install(self):
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signal_name == "SIGINT" and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        print(f"\n{self.signal_name}: stopping after this step, with a checkpoint "
              "(SIGINT again: stop at once)", flush=True)


def save_model_atomic(model, path, writer: bool = True) -> None:
    """``model.save(path)`` through a flushed temporary file and one ``rename``.

    A non-writer (multi-worker, not the chief) saves into a scratch folder
    that is deleted: every worker must take part in a save.
    """
    path = Path(path)
    if not writer:
        scratch = Path(tempfile.mkdtemp(prefix="textnet-worker-model-"))
        try:
            model.save(scratch / path.name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    save_atomic(path, model.save)


class StepCounter(keras.callbacks.Callback):
    """Counts the run's steps and examples (first of the callbacks)."""

    def __init__(self, progress: RunProgress, examples_per_step: int):
        super().__init__()
        self.progress = progress
        self.examples_per_step = int(examples_per_step)

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.epoch = int(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.progress.step += 1
        self.progress.examples_seen += self.examples_per_step


class StepCheckpoint(keras.callbacks.Callback):
    """Checkpoints every ``every_steps`` and whenever training stops (last of the callbacks).

    Args:
        progress: the shared :class:`RunProgress`.
        save: ``save(progress)`` writes a checkpoint (every worker calls it).
        total_steps: training stops there.
        every_steps: checkpoint interval.
        deadline: ``time.monotonic()`` after which to stop, or ``None``.
        stop_request: a :class:`StopRequest` (signals), or ``None``.
        strategy, worker: for the agreement between workers.
        sync_every: in multi-worker runs, how often time and signals are agreed.
    """

    def __init__(self, progress: RunProgress, save, total_steps: int, every_steps: int,
                 deadline: float | None = None,
                 stop_request: StopRequest | None = None, strategy=None,
                 worker: WorkerInfo | None = None, sync_every: int = 25):
        super().__init__()
        self.progress = progress
        self.save = save
        self.total_steps = int(total_steps)
        self.every_steps = int(every_steps)
        self.deadline = deadline
        self.stop_request = stop_request
        self.strategy = strategy
        self.worker = worker or WorkerInfo()
        self.sync_every = max(1, int(sync_every))
        self._pending = False

    def on_train_batch_end(self, batch, logs=None):
        p = self.progress
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.model.stop_training = True
            raise TrainingError(
                f"the training loss is {loss} at step {p.step}: training diverged. The last "
                f"checkpoint (step {p.last_saved_step}) is kept; lower schedule.learning_rate "
                "or set schedule.clipnorm, then rerun to resume from it")
        due = p.step % self.every_steps == 0
        reason = "steps" if p.step >= self.total_steps else self._external_stop()
        if reason:
            p.stop_reason = reason
            self.model.stop_training = True
        per_epoch = (self.params or {}).get("steps")
        epoch_ends = bool(reason) or (per_epoch is not None and batch + 1 >= per_epoch)
        if due or reason:
            # At an epoch's end (or a stop, which ends the epoch), after the
            # validation and the logs of on_epoch_end.
            self._pending = epoch_ends
            if not epoch_ends:
                self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self._pending:
            self._save()

    def _external_stop(self) -> str | None:
        if self.worker.multi_worker and self.progress.step % self.sync_every:
            return None
        timed_out = self.deadline is not None and time.monotonic() >= self.deadline
        signalled = self.stop_request is not None and self.stop_request.signal_name
        if self.worker.multi_worker:
            # Every worker must stop (and save) at the same step.
            if not all_workers_agree(self.strategy, bool(timed_out or signalled), self.worker):
                return None
            return signalled or ("time" if timed_out else "another worker")
        return signalled or ("time" if timed_out else None)

    def on_train_end(self, logs=None):
        if self.progress.last_saved_step != self.progress.step:
            self._save()

    def _save(self):
        self._pending = False
        if self.progress.last_saved_step != self.progress.step:
            self.save(self.progress)
            self.progress.last_saved_step = self.progress.step


class BestModelExport(keras.callbacks.Callback):
    """At each epoch end: validate, and export ``best.keras`` when the monitored loss fell.

    The monitored value is ``val_loss`` from ``evaluate()`` (a dict of
    validation losses) when given, else the epoch's mean training ``loss``.
    ``best.json`` records the value and step of ``best.keras`` and survives
    restarts.
    """

    def __init__(self, progress: RunProgress, out_dir, evaluate=None, strategy=None,
                 worker: WorkerInfo | None = None, log=print):
        super().__init__()
        self.progress = progress
        self.out_dir = Path(out_dir)
        self.evaluate = evaluate
        self.strategy = strategy
        self.worker = worker or WorkerInfo()
        self.log = log
        self.monitor = "val_loss" if evaluate is not None else "loss"
        self.best = self.read_best(self.out_dir)

    @staticmethod
    def read_best(out_dir) -> dict | None:
        import json

        path = Path(out_dir) / "best.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.evaluate is not None:
            for name, value in self.evaluate().items():
                logs[f"val_{name}"] = float(value)
        if self.monitor not in logs:
            return
        value = all_workers_mean(self.strategy, float(logs[self.monitor]), self.worker)
        if not math.isfinite(value):
            return
        if self.best is not None and self.best["metric"] == self.monitor and \
                value >= self.best["value"]:
            return
        save_model_atomic(self.model, self.out_dir / "best.keras", writer=self.worker.is_chief)
        self.best = {"metric": self.monitor, "value": value, "step": self.progress.step,
                     "epoch": int(epoch) + 1}
        if self.worker.is_chief:
            write_json_atomic(self.out_dir / "best.json", self.best)
            self.log(f"step {self.progress.step}: {self.monitor} {value:.4f}, the best so far: "
                     f"exported {self.out_dir / 'best.keras'}")


class HistoryLogger(keras.callbacks.Callback):
    """``history.csv`` every ``every_steps``, ``validation.csv`` per epoch, and TensorBoard.

    Rows are keyed on the run's step; only the chief writes.
    """

    def __init__(self, progress: RunProgress, out_dir, every_steps: int = 25,
                 tensorboard: bool = True, enabled: bool = True):
        super().__init__()
        self.progress = progress
        self.out_dir = Path(out_dir)
        self.every_steps = int(every_steps)
        self.tensorboard = tensorboard
        self.enabled = enabled
        self._writers = {}

    def on_train_begin(self, logs=None):
        if self.enabled and self.tensorboard:
            import tensorflow as tf

            for name in ("train", "validation"):
                self._writers[name] = tf.summary.create_file_writer(
                    str(self.out_dir / "tensorboard" / name))

    def _learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch, logs=None):
        p = self.progress
        if not self.enabled or p.step % self.every_steps:
            return
        values = {k: float(v) for k, v in (logs or {}).items()}
        lr = self._learning_rate()
        self._append("history.csv", {"step": p.step, "epoch": p.epoch + 1,
                                     "minutes": round(p.minutes(), 3),
                                     "learning_rate": f"{lr:.4g}",
                                     **{k: f"{v:.5f}" for k, v in sorted(values.items())}})
        self._scalars("train", {**values, "learning_rate": lr})

    def on_epoch_end(self, epoch, logs=None):
        values = {k[4:]: float(v) for k, v in (logs or {}).items() if k.startswith("val_")}
        if not self.enabled or not values:
            return
        self._append("validation.csv", {"step": self.progress.step, "epoch": int(epoch) + 1,
                                        **{k: f"{v:.5f}" for k, v in sorted(values.items())}})
        self._scalars("validation", values)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.flush()
            writer.close()
        self._writers = {}

    def _scalars(self, name, values):
        writer = self._writers.get(name)
        if writer is None:
            return
        import tensorflow as tf

        with writer.as_default(step=self.progress.step):
            for key, value in values.items():
                tf.summary.scalar(key, value)
        writer.flush()

    def _append(self, name, row: dict):
        path = self.out_dir / name
        new = not path.exists() or path.stat().st_size == 0
        with path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


def truncate_csv(path, last_step: int) -> None:
    """Drops rows after ``last_step`` (logged by a run killed after its last checkpoint)
    and rows cut short by the kill."""
    path = Path(path)
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    # A row cut short by a kill has fewer fields; every row after the step goes.
    kept = [rows[0]] + [r for r in rows[1:] if len(r) == len(rows[0]) and r[0].isdigit()
                        and int(r[0]) <= last_step]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(kept)
    write_atomic(path, text.getvalue())


__all__ = ["BestModelExport", "HistoryLogger", "RunProgress", "StepCheckpoint", "StepCounter",
           "StopRequest", "TrainingError", "save_model_atomic", "truncate_csv"]
