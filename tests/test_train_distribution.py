"""tf.distribute: mirrored over two logical CPU devices, and two worker processes on localhost.

The default suite trains the small test model both ways at once and checks
that they train one and the same model: two replicas of one process and two
processes of one replica each read the same examples and give the same
weights. The slow tests do it with TextNet, and check that a mirrored step
equals the single-device step on the same examples.
"""

import json
import re
import subprocess
import sys

import pytest

from keras_textnet.training.distribution import DistributionError, read_tf_config

from training_harness import (ROOT, environment, fingerprints, free_ports, run_workers,
                              small_config, small_trainer_command, summary, textnet_command,
                              write_config)


def _start(command, **env):
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT, env=environment(**env), start_new_session=True)


def _finish(process, timeout=900):
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, output


def _mirrored_and_two_workers(command, config, folder):
    """Trains ``config`` mirrored over two logical CPUs and, at the same time, on two workers.

    ``command`` makes the command line (``small_trainer_command`` or ``textnet_command``);
    the runs write to ``folder / "mirrored"`` and ``folder / "workers"``. The mirrored run
    must succeed; returns its output and the workers' ``(exit code, output)``.
    """
    path = write_config(folder, config)
    mirrored = _start(command(path, folder / "mirrored", "--strategy", "mirrored",
                              "--logical-cpus", "2"))
    try:
        workers = run_workers(command(path, folder / "workers", "--strategy", "multi_worker"),
                              free_ports(2))
    finally:
        code, output = _finish(mirrored)
    assert code == 0, output[-3000:]
    return output, [(w.returncode, w.stdout) for w in workers]


def test_mirrored_and_two_workers_train_one_model(tmp_path):
    config = small_config(schedule={"steps": 4, "steps_per_epoch": 2})
    config["data"]["sources"][0]["page_size"] = [96, 128]
    output, workers = _mirrored_and_two_workers(small_trainer_command, config, tmp_path)
    assert "strategy mirrored (2 replica(s), 1 worker(s)); global batch 2, 1 per replica" in output
    for i, (worker_code, worker_output) in enumerate(workers):
        assert worker_code == 0, worker_output[-3000:]
        assert "strategy multi_worker (2 replica(s), 2 worker(s))" in worker_output
        assert ("[worker 1] " in worker_output) == (i == 1)
    # One model: both workers end with the same weights, the same as two mirrored replicas.
    [mirrored] = fingerprints(output)
    [chief], [other] = (fingerprints(w[1]) for w in workers)
    assert chief == other == pytest.approx(mirrored, rel=1e-6)
    done = summary(tmp_path / "workers")
    assert (done["step"], done["finished"], done["examples_seen"]) == (4, True, 8)
    assert (tmp_path / "workers" / "model.keras").exists()
    assert sorted(p.name for p in (tmp_path / "workers" / "checkpoints").iterdir()) == \
        ["ckpt-00000002", "ckpt-00000004"]


def test_tf_config_errors_say_what_is_wrong(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributionError, match="needs the TF_CONFIG environment variable"):
        read_tf_config()
    for text, message in [
            ("{not json", "TF_CONFIG is not valid JSON"),
            (json.dumps({"cluster": {"ps": ["a:1"]}, "task": {}}), "must list 'worker'"),
            (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker",
                                                                  "index": 1}}),
             "field 'task' must name this process's type")]:
        monkeypatch.setenv("TF_CONFIG", text)
        with pytest.raises(DistributionError, match=re.escape(message)):
            read_tf_config()


MIRRORED_STEP = """
import json, sys
from keras_textnet.training.distribution import make_strategy
strategy, _ = make_strategy("mirrored", logical_cpus=2)
import keras, numpy as np, tensorflow as tf
from keras_textnet.models.text_net import TextNet
from keras_textnet.training.config import TrainingConfig
from keras_textnet.training.resumable_dataset import resumable_dataset

data = TrainingConfig.from_dict({"data": {"image_size": [128, 128], "batch_size": 2,
    "synthetic_workers": 0, "sources": [{"kind": "synthetic", "page_size": [160, 200]}]}}).data
images, targets = next(iter(resumable_dataset(data)))
one = (images[:1], {k: v[:1] for k, v in targets.items()})

def build():
    keras.utils.set_random_seed(0)
    model = TextNet.from_preset("tiny")
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    return model

def update(model, batches, strategy=None):
    before = [w.numpy().copy() for w in model.trainable_weights]
    if strategy is None:
        model.fit(tf.data.Dataset.from_tensors(batches[0]).repeat(), steps_per_epoch=1,
                  verbose=0)
    else:
        model._distribute_strategy = None   # as the trainer does (Keras 3.15)
        with strategy.scope():
            ds = strategy.distribute_datasets_from_function(
                lambda ctx: tf.data.Dataset.from_tensor_slices(batches).batch(1).repeat())
            model.fit(ds, steps_per_epoch=1, verbose=0)
    return np.concatenate([(w.numpy() - b).ravel()
                           for b, w in zip(before, model.trainable_weights)])

def stack(*batches):
    return (tf.stack([b[0][0] for b in batches]),
            {k: tf.stack([b[1][k][0] for b in batches]) for k in batches[0][1]})

with strategy.scope():
    mirrored = build()
single = build()
# The same example on both replicas (per-replica batch 1) vs that example on one device.
m = update(mirrored, stack(one, one), strategy)
s = update(single, [one])
out = {"replicas": strategy.num_replicas_in_sync,
       "norm_ratio": float(np.linalg.norm(m) / np.linalg.norm(s)),
       "relative_difference": float(np.linalg.norm(m - s) / np.linalg.norm(s))}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_textnet_mirrored_step_equals_the_single_device_step():
    """Gradients of the replicas are summed: TextNet must give each its share of the mean."""
    result = subprocess.run([sys.executable, "-c", MIRRORED_STEP], check=False,
                            capture_output=True, text=True, cwd=ROOT, env=environment(),
                            timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")]
    found = json.loads(line[len("RESULT "):])
    print(found)
    assert found["replicas"] == 2
    assert found["norm_ratio"] == pytest.approx(1.0, abs=1e-5)
    assert found["relative_difference"] < 1e-5


@pytest.mark.slow
def test_textnet_two_workers_and_mirrored_train_one_model(tmp_path):
    config = small_config(data={"image_size": [128, 128]},
                          schedule={"steps": 3, "steps_per_epoch": 3, "optimizer": "adamw",
                                    "learning_rate": 1e-3},
                          checkpoint={"every_steps": 1})
    output, workers = _mirrored_and_two_workers(textnet_command, config, tmp_path)
    assert all(c == 0 for c, _ in workers), [o[-3000:] for _, o in workers]
    [mirrored] = fingerprints(output)
    [chief], [other] = (fingerprints(o) for _, o in workers)
    print(f"mirrored {mirrored:.10e}, worker 0 {chief:.10e}, worker 1 {other:.10e}")
    assert chief == pytest.approx(other, rel=1e-6)
    assert chief == pytest.approx(mirrored, rel=1e-5)
    done = summary(tmp_path / "workers")
    assert (done["step"], done["optimizer_iterations"], done["examples_seen"]) == (3, 3, 6)
    assert (tmp_path / "workers" / "model.keras").exists()
