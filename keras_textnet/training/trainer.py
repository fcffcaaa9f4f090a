"""The training run: strategy, resumable input, model, optimizer, callbacks, ``model.fit``.

:class:`Trainer` runs a :class:`~keras_textnet.training.config.TrainingConfig`
into a run folder::

    OUT/config.yaml          the resolved configuration (a resumed run checks it)
    OUT/checkpoints/ckpt-*   atomic checkpoints, the newest `checkpoint.keep`
    OUT/history.csv          training losses every `logging.every_steps` steps
    OUT/validation.csv       validation losses per epoch
    OUT/tensorboard/         TensorBoard scalars (train/, validation/), keyed on the step
    OUT/best.keras           the model with the best monitored loss (+ best.json)
    OUT/model.keras          the latest model, written whenever a run stops (with
                             `schedule.weight_average`, the averaged weights)
    OUT/summary.json         where the run is: step, finished, why it stopped

Rerunning the same command resumes from the newest checkpoint: the step
count, the optimizer state (step counter, moments), the BatchNorm statistics
and the data position (examples read) carry on. When the total is reached,
the BatchNorm statistics are re-estimated (``finish.bn_recalibration_steps``)
and ``model.keras`` is written a last time.

>>> from keras_textnet.training.config import TrainingConfig                # doctest: +SKIP
>>> config = TrainingConfig.load("run.yaml", overrides={"schedule.steps": 100})  # doctest: +SKIP
>>> result = Trainer(config, "runs/r1", minutes=30).run()                  # doctest: +SKIP
>>> result.step, result.finished                                           # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_textnet.training.callbacks import (BestModelExport, HistoryLogger, RunProgress,
                                              StepCheckpoint, StepCounter, StopRequest,
                                              TrainingError, save_model_atomic, truncate_csv)
from keras_textnet.training.config import (AnnotationSourceConfig, ConfigError, ScheduleConfig,
                                           SyntheticSourceConfig, TrainingConfig)

#: Keys that may change between the invocations of one run without a warning.
FREE_TO_CHANGE = ("schedule.steps", "checkpoint.", "logging.", "data.synthetic_workers",
                  "finish.", "validation.batches")


@dataclass
class TrainingResult:
    """What a :meth:`Trainer.run` did."""

    out_dir: Path
    step: int                    # steps trained so far (the whole run)
    finished: bool               # reached schedule.steps
    stop_reason: str             # "steps", "time", "SIGTERM", "SIGINT", "done" (nothing to do)
    resumed_from: int | None     # the checkpoint step this invocation started from
    fingerprint: float           # sum of the trainable weights (compare workers / runs)

    @property
    def exit_status(self) -> int:
        return {"SIGTERM": 143, "SIGINT": 130}.get(self.stop_reason, 0)


def build_text_net(config: TrainingConfig):
    """The default model builder: a new TextNet of the configured preset."""
    from keras_textnet.models.text_net import TextNet

    try:
        return TextNet.from_preset(config.model.preset, seed=config.model.seed,
                                   loss_weights=dict(config.model.loss_weights) or None,
                                   **config.model.settings)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"key 'model.settings' {config.model.settings!r} does not build "
                          f"preset {config.model.preset!r}: {e}") from None


def warm_start(model, source) -> tuple[int, int]:
    """Copies into ``model`` every variable of the model at ``source`` with the same path and shape.

    ``source`` is a ``.keras`` file or ``"shipped"`` (the package's model). New
    layers (a wider head, an added branch) keep their initialisation; so does a
    variable whose shape changed. Returns ``(copied, total)`` variable counts.
    """
    from keras_textnet import pretrained

    path = pretrained.default_model_path() if source == "shipped" else source
    try:
        donor = pretrained.load_model(path)
    except Exception as e:  # noqa: BLE001 - any unreadable model is a config mistake
        raise ConfigError(f"key 'model.init_from': cannot load {str(path)!r}: {e}") from None
    def key(variable, owner):
        # A built model's paths start with its name, a loaded one's may not.
        prefix = owner.name + "/"
        return variable.path[len(prefix):] if variable.path.startswith(prefix) else variable.path

    values = {key(v, donor): v for v in donor.variables}
    copied = 0
    for v in model.variables:
        d = values.get(key(v, model))
        if d is not None and tuple(d.shape) == tuple(v.shape):
            v.assign(d.numpy())
            copied += 1
    del donor
    return copied, len(model.variables)


def warmup_steps(schedule: ScheduleConfig) -> int:
    if schedule.warmup_steps is not None:
        return schedule.warmup_steps
    return min(300, schedule.steps // 10)


def make_optimizer(schedule: ScheduleConfig):
    """The optimizer with its learning-rate schedule (linear warm-up, then cosine or constant)."""
    import keras

    warmup = warmup_steps(schedule)
    alpha = 1.0 if schedule.decay == "constant" else schedule.final_learning_rate_fraction
    learning_rate = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else schedule.learning_rate,
        decay_steps=max(1, schedule.steps - warmup), alpha=alpha,
        warmup_target=schedule.learning_rate if warmup else None, warmup_steps=warmup)
    common = {"learning_rate": learning_rate, "clipnorm": schedule.clipnorm}
    if schedule.optimizer == "adamw":
        return keras.optimizers.AdamW(weight_decay=schedule.weight_decay, **common)
    if schedule.optimizer == "adam":
        return keras.optimizers.Adam(**common)
    return keras.optimizers.SGD(momentum=schedule.momentum, **common)


def weights_fingerprint(model) -> float:
    """Sum of every trainable weight, in float64: equal models give equal sums."""
    return float(sum(np.sum(np.asarray(w, np.float64)) for w in model.trainable_weights))


class Trainer:
    """Runs (or resumes) one training run into ``out_dir``.

    Args:
        config: the :class:`TrainingConfig`.
        out_dir: the run folder (see the module docstring). In multi-worker
            training it must be on storage every worker sees (only the chief
            writes; every worker reads the checkpoints when resuming).
        minutes: stop this invocation after this much wall time (with a
            checkpoint); the next invocation goes on.
        verbose: ``model.fit``'s progress output (0, 1 = bar, 2 = line per epoch).
        model_builder: ``config -> keras.Model`` (default :func:`build_text_net`);
            the model must compute its own losses and report ``loss``.
        log: where messages go (default: print, flushed).
    """

    def __init__(self, config: TrainingConfig, out_dir, *, minutes: float | None = None,
                 verbose: int = 1, model_builder=None, log=None):
        if minutes is not None and not minutes > 0:
            raise ValueError(f"minutes must be > 0; received {minutes!r}")
        self.config = config
        self.out_dir = Path(out_dir)
        self.minutes = minutes
        self.verbose = int(verbose)
        self.model_builder = model_builder or build_text_net
        self._log = log
        self._lock_file = None
        self.worker = None

    def log(self, message: str):
        if self.worker is not None and not self.worker.is_chief:
            message = f"[worker {self.worker.index}] {message}"
        if self._log is not None:
            self._log(message)
        else:
            print(message, flush=True)

    # ------------------------------------------------------------------ run
    def run(self) -> TrainingResult:
        from keras_textnet.training.distribution import DistributionError, make_strategy

        started = time.monotonic()
        dist = self.config.distribution
        try:
            strategy, worker = make_strategy(dist.strategy, dist.logical_cpus)
        except DistributionError as e:
            raise TrainingError(str(e)) from None
        self.worker = worker
        import keras

        replicas = strategy.num_replicas_in_sync
        batch = self.config.data.batch_size
        if batch % replicas:
            raise TrainingError(f"data.batch_size {batch} must be a multiple of the {replicas} "
                                f"replicas of strategy {dist.strategy!r} (each replica takes "
                                "an equal share)")
        if worker.is_chief:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._lock()
        policy = keras.mixed_precision.global_policy()
        stop_request = StopRequest().install()
        try:
            self._check_config()
            keras.mixed_precision.set_global_policy(self.config.precision)
            return self._run(strategy, worker, stop_request, started)
        finally:
            stop_request.uninstall()
            keras.mixed_precision.set_global_policy(policy)
            self._unlock()

    def _run(self, strategy, worker, stop_request, started) -> TrainingResult:
        import keras
        import tensorflow as tf

        config = self.config
        keras.utils.set_random_seed(config.model.seed)
        with strategy.scope():
            model = self.model_builder(config)
            model.compile(optimizer=make_optimizer(config.schedule))
            model.optimizer.build(model.trainable_variables)
        if strategy is not tf.distribute.get_strategy():
            # Keras 3.15's fit/evaluate "symbolic build" averages a sample batch
            # over the replicas (strategy.reduce("MEAN")), which fails on the
            # boolean `ignore` targets. The model is built already; without a
            # remembered strategy Keras skips that step and uses the strategy
            # of the scope that fit() runs in (below), the same one.
            model._distribute_strategy = None
        if worker.multi_worker:
            from keras_textnet.training.distribution import vector_logs

            model.train_step = vector_logs(model.train_step)
            model.test_step = vector_logs(model.test_step)
        with strategy.scope():
            return self._train(model, strategy, worker, stop_request, started)

    def _train(self, model, strategy, worker, stop_request, started) -> TrainingResult:
        from keras_textnet.training.checkpoint_manager import CheckpointManager, write_json_atomic

        config, out = self.config, self.out_dir
        average = None
        if config.schedule.weight_average is not None:
            from keras_textnet.training.weight_average import CHECKPOINT_KEY, WeightAverage

            average = WeightAverage(model, config.schedule.weight_average)
        manager = CheckpointManager(out / "checkpoints",
                                    {"model": model, "optimizer": model.optimizer},
                                    keep=config.checkpoint.keep, writer=worker.is_chief,
                                    optional=None if average is None else
                                    {CHECKPOINT_KEY: average.state})
        state = manager.restore_latest()
        if state is None and manager.checkpoints():
            raise TrainingError(f"no checkpoint in {manager.directory} can be read; move them "
                                "away to start afresh")
        progress = RunProgress(step=0 if state is None else int(state["step"]),
                               examples_seen=0 if state is None else int(state["examples_seen"]),
                               elapsed_seconds=0.0 if state is None else
                               float(state["elapsed_seconds"]))
        progress.last_saved_step = progress.step if state is not None else -1
        resumed_from = None if state is None else progress.step
        if state is None and config.model.init_from:
            copied, total_vars = warm_start(model, config.model.init_from)
            self.log(f"warm start from {config.model.init_from}: {copied} of {total_vars} "
                     "variables copied (the rest keep their initialisation)")
        self._check_workers_agree(strategy, worker, progress.step)
        replicas = strategy.num_replicas_in_sync
        self.log(f"{model.name}: {model.count_params():,} parameters; strategy "
                 f"{config.distribution.strategy} ({replicas} replica(s), {worker.count} "
                 f"worker(s)); global batch {config.data.batch_size}, "
                 f"{config.data.batch_size // replicas} per replica; precision "
                 f"{config.precision}; into {out}")
        if state is not None:
            self.log(f"resuming from checkpoint step {progress.step} (optimizer step "
                     f"{int(model.optimizer.iterations.numpy())}, {progress.examples_seen} "
                     f"examples read)")
        if average is not None:
            self.log(f"weight average (decay {average.decay}): " + (
                f"{int(average.count.numpy())} steps averaged so far" if average.started
                else "starts from these weights"))
        if worker.is_chief:
            for name in ("history.csv", "validation.csv"):
                truncate_csv(out / name, progress.step)

        total = config.schedule.steps
        summary = self._read_summary()
        if progress.step >= total and summary.get("finished") and summary.get("step") == \
                progress.step:
            self.log(f"already trained to step {progress.step} of {total}: nothing to do "
                     f"({out / 'model.keras'})")
            return TrainingResult(out, progress.step, True, "done", resumed_from,
                                  weights_fingerprint(model))

        def save_checkpoint(p: RunProgress):
            manager.save(p.step, {
                "examples_seen": p.examples_seen, "elapsed_seconds": p.minutes() * 60,
                "optimizer_iterations": int(model.optimizer.iterations.numpy()),
                "global_batch_size": config.data.batch_size, "workers": worker.count,
                "replicas": replicas, "epoch": p.epoch, "host": socket.gethostname(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

        if progress.step < total:
            self._fit(model, strategy, worker, progress, save_checkpoint, stop_request, started,
                      average)
        else:
            progress.stop_reason = "steps"
        finished = progress.step >= total
        if average is not None and average.started:
            # model.keras is the averaged model; the live weights are in the checkpoint.
            for variable, value in zip(model.trainable_variables, average.averages):
                variable.assign(value)
            self.log(f"model.keras holds the weights averaged over "
                     f"{int(average.count.numpy())} steps")
        if finished and config.finish.bn_recalibration_steps > 0:
            self._recalibrate(model, progress)
        save_model_atomic(model, out / "model.keras", writer=worker.is_chief)
        fingerprint = weights_fingerprint(model)
        if worker.is_chief:
            write_json_atomic(out / "summary.json", {
                "step": progress.step, "total_steps": total, "finished": finished,
                "stop_reason": progress.stop_reason,
                "optimizer_iterations": int(model.optimizer.iterations.numpy()),
                "examples_seen": progress.examples_seen,
                "training_minutes": round(progress.minutes(), 3),
                "best": BestModelExport.read_best(out), "weights_fingerprint": fingerprint})
        how = {"steps": "finished", "time": "stopped at the time budget"}.get(
            progress.stop_reason, f"stopped ({progress.stop_reason})")
        self.log(f"{how} at step {progress.step} of {total}; trainable weights fingerprint "
                 f"{fingerprint:.10e}; model: {out / 'model.keras'}")
        if not finished:
            self.log("run the same command again to resume")
        return TrainingResult(out, progress.step, finished, progress.stop_reason or "steps",
                              resumed_from, fingerprint)

    # ------------------------------------------------------------------ fit
    def _fit(self, model, strategy, worker, progress, save_checkpoint, stop_request, started,
             average=None):
        from keras_textnet.training.resumable_dataset import resumable_dataset

        config, out = self.config, self.out_dir
        cache = out / "cache"
        examples_seen = progress.examples_seen
        train = strategy.distribute_datasets_from_function(
            lambda ctx: resumable_dataset(config.data, examples_seen=examples_seen,
                                          input_context=ctx, cache_root=cache))
        evaluate = self._validation(model, strategy, cache)
        deadline = None if self.minutes is None else started + self.minutes * 60
        callbacks = [  # in this order (see keras_textnet.training.callbacks)
            StepCounter(progress, config.data.batch_size),
            *([] if average is None else [average.callback()]),
            BestModelExport(progress, out, evaluate=evaluate, strategy=strategy, worker=worker,
                            log=self.log),
            HistoryLogger(progress, out, config.logging.every_steps,
                          tensorboard=config.logging.tensorboard, enabled=worker.is_chief),
            StepCheckpoint(progress, save_checkpoint, config.schedule.steps,
                           config.checkpoint.every_steps, deadline=deadline,
                           stop_request=stop_request, strategy=strategy, worker=worker,
                           sync_every=config.logging.every_steps),
        ]
        per_epoch = config.schedule.steps_per_epoch
        epochs = math.ceil(config.schedule.steps / per_epoch)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
            model.fit(train, epochs=epochs, initial_epoch=progress.step // per_epoch,
                      steps_per_epoch=per_epoch, callbacks=callbacks,
                      verbose=self.verbose if worker.is_chief else 0)

    def _validation(self, model, strategy, cache):
        """``evaluate() -> {loss name: value}`` over the validation batches, or ``None``."""
        from keras_textnet.training.resumable_dataset import (render_synthetic_pages,
                                                              resumable_dataset)

        config = self.config
        source = config.validation.source
        if source is None:
            return None
        batches = config.validation.batches
        if isinstance(source, SyntheticSourceConfig):
            # Rendered once: every validation reads the same pages, fast.
            path = render_synthetic_pages(source, batches * config.data.batch_size,
                                          cache / "validation")
            source = AnnotationSourceConfig(path=str(path))

        def dataset(ctx):
            per_pipeline = ctx.num_replicas_in_sync // ctx.num_input_pipelines
            return resumable_dataset(config.data, [source], training=False, validation=True,
                                     input_context=ctx, cache_root=cache).take(
                batches * per_pipeline)

        def evaluate():
            data = strategy.distribute_datasets_from_function(dataset)
            return model.evaluate(data, steps=batches, verbose=0, return_dict=True)
        return evaluate

    def _recalibrate(self, model, progress):
        from keras_textnet.models.batch_norm import batch_norm_layers, recalibrate_batch_norm
        from keras_textnet.training.resumable_dataset import resumable_dataset

        steps = self.config.finish.bn_recalibration_steps
        if not any(layer.trainable for layer in batch_norm_layers(model)):
            return
        self.log(f"re-estimating the BatchNorm statistics over {steps} training batches")
        data = resumable_dataset(self.config.data, examples_seen=progress.examples_seen,
                                 cache_root=self.out_dir / "cache")
        recalibrate_batch_norm(model, data, steps=steps, progress=self.verbose == 1)

    # -------------------------------------------------------------- checks
    def _check_config(self):
        """Writes OUT/config.yaml, or compares with it when resuming."""
        path = self.out_dir / "config.yaml"
        if not self.worker.is_chief:
            return
        from keras_textnet.atomic_files import write_atomic

        if path.exists():
            try:
                saved = TrainingConfig.load(path)
            except ConfigError as e:
                raise TrainingError(f"the run folder's {path} is not a valid config ({e}); "
                                    "use another --out") from None
            changed = saved.differences(self.config)
            model_changes = {k: v for k, v in changed.items() if k.startswith("model.")}
            if model_changes:
                key, (old, new) = next(iter(model_changes.items()))
                raise TrainingError(f"{self.out_dir} holds a run with {key}={old!r}; this "
                                    f"command says {new!r}. Resume with the same model "
                                    "settings, or train into another --out")
            others = [k for k in changed if not k.startswith(FREE_TO_CHANGE)]
            for key in others:
                old, new = changed[key]
                self.log(f"warning: {key} changed since the run started ({old!r} -> {new!r})")
            if not changed:
                return
        write_atomic(path, self.config.to_yaml())

    def _check_workers_agree(self, strategy, worker, step):
        from keras_textnet.training.distribution import all_workers_sum

        if worker.multi_worker:
            total = all_workers_sum(strategy, float(step), worker)
            if abs(total - step * worker.count) > 0.5:
                raise TrainingError(f"the workers resumed from different checkpoints (this one "
                                    f"from step {step}): is {self.out_dir} on storage every "
                                    "worker sees?")

    def _read_summary(self) -> dict:
        import json

        path = self.out_dir / "summary.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _lock(self):
        """Only one process trains into a run folder (released even on SIGKILL)."""
        path = self.out_dir / ".lock"
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise TrainingError(f"{self.out_dir} is in use by {owner}: one training process "
                                "per run folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._lock_file = handle

    def _unlock(self):
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


__all__ = ["Trainer", "TrainingError", "TrainingResult", "build_text_net", "make_optimizer",
           "weights_fingerprint"]
