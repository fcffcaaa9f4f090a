"""``tf.distribute`` strategies for training: one device, mirrored, multi-worker.

* ``default``: TensorFlow's default strategy (one device: the first GPU, else the CPU);
* ``mirrored``: :class:`tf.distribute.MirroredStrategy` over every local GPU, or,
  without GPUs, over the logical CPU devices (``logical_cpus``, for tests);
* ``multi_worker``: :class:`tf.distribute.MultiWorkerMirroredStrategy` over
  the cluster described by the ``TF_CONFIG`` environment variable (every
  worker runs the same command; worker 0, or the ``chief`` task, writes).

The strategy must be made before TensorFlow runs anything else in the
process (:func:`make_strategy` does it first thing in a run).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf


class DistributionError(RuntimeError):
    """The strategy cannot be set up as asked (bad TF_CONFIG, devices already started)."""


@dataclass(frozen=True)
class WorkerInfo:
    """Where this process stands in the cluster."""

    index: int = 0           # 0 for the chief
    count: int = 1           # processes training together
    is_chief: bool = True    # writes checkpoints, logs and models
    multi_worker: bool = False


def configure_logical_cpus(count: int) -> None:
    """Splits the CPU into ``count`` logical devices (before TensorFlow starts its devices)."""
    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as e:
        raise DistributionError(
            f"cannot split the CPU into {count} logical devices: TensorFlow has already started "
            f"its devices in this process ({e}); set logical_cpus in a fresh process") from None


def read_tf_config() -> dict:
    """The ``TF_CONFIG`` cluster description, checked; raises DistributionError."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise DistributionError(
            "strategy 'multi_worker' needs the TF_CONFIG environment variable, e.g. "
            'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\' (index differs per worker)')
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise DistributionError(f"TF_CONFIG is not valid JSON ({e}): {text!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not any(
            isinstance(cluster.get(k), list) and cluster.get(k) for k in ("worker", "chief")):
        raise DistributionError(f"TF_CONFIG field 'cluster' must list 'worker' (and optionally "
                                f"'chief') addresses; received {cluster!r}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(
            task.get("index"), int) or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise DistributionError(f"TF_CONFIG field 'task' must name this process's type (one of "
                                f"{sorted(cluster)}) and index in that list; received {task!r}")
    return config


def make_strategy(strategy: str = "default", logical_cpus: int = 0):
    """Returns ``(tf.distribute.Strategy, WorkerInfo)`` for ``strategy``."""
    if strategy not in ("default", "mirrored", "multi_worker"):
        raise ValueError(f"strategy must be 'default', 'mirrored' or 'multi_worker'; received "
                         f"{strategy!r}")
    configure_logical_cpus(int(logical_cpus))
    if strategy == "default":
        return tf.distribute.get_strategy(), WorkerInfo()
    if strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices), WorkerInfo()
    config = read_tf_config()
    cluster, task = config["cluster"], config["task"]
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    index = task["index"] if task["type"] == "chief" else chiefs + task["index"]
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO)
    result = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return result, WorkerInfo(index=index, count=count, is_chief=index == 0, multi_worker=True)


def all_workers_sum(strategy, value: float, worker: WorkerInfo) -> float:
    """``value`` summed over the workers (a collective; every worker must call it)."""
    if not worker.multi_worker:
        return float(value)
    function = _SUM_FUNCTIONS.get(id(strategy))
    if function is None:
        # Each of the num_replicas_in_sync replicas (count workers alike) adds its share.
        share = worker.count / strategy.num_replicas_in_sync

        @tf.function
        def function(local):
            per_replica = strategy.run(lambda: local * share)
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        _SUM_FUNCTIONS[id(strategy)] = function
    return float(function(tf.constant(float(value), tf.float32)))


_SUM_FUNCTIONS = {}


def all_workers_agree(strategy, flag: bool, worker: WorkerInfo) -> bool:
    """True on every worker when ``flag`` is true on any (a collective)."""
    return all_workers_sum(strategy, 1.0 if flag else 0.0, worker) > 0.5


def all_workers_mean(strategy, value: float, worker: WorkerInfo) -> float:
    """The mean of ``value`` over the workers (a collective)."""
    return all_workers_sum(strategy, value, worker) / worker.count


def vector_logs(step_function):
    """Wraps a ``train_step``/``test_step`` so that each log value has shape ``(1,)``.

    Keras 3.15 averages the replicas' logs under MultiWorkerMirroredStrategy
    with ``strategy.reduce("MEAN", value, axis=0)``, which fails on scalars
    ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388); with a leading axis of 1 the same reduction
    gives the scalar mean over the replicas.
    """
    def step(data):
        return {name: tf.reshape(value, [1]) for name, value in step_function(data).items()}
    return step


__all__ = ["DistributionError", "WorkerInfo", "all_workers_agree", "all_workers_mean",
           "all_workers_sum", "configure_logical_cpus", "make_strategy", "read_tf_config",
           "vector_logs"]
