"""Atomic checkpoints: complete or absent, the newest N kept, a SIGKILL mid-write harmless."""

import json
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_textnet.training.checkpoint_manager import CheckpointManager, write_json_atomic

from training_harness import ROOT, environment


def _model_and_optimizer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def _train_once(model, optimizer):
    grads = [np.ones_like(v.numpy()) for v in model.trainable_variables]
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


def test_save_restore_keep_and_leftovers(tmp_path):
    model, optimizer = _model_and_optimizer()
    manager = CheckpointManager(tmp_path, {"model": model, "optimizer": optimizer}, keep=2)
    assert manager.latest() is None and manager.restore_latest() is None
    saved = {}
    for step in (1, 2, 3):
        _train_once(model, optimizer)
        manager.save(step, {"examples_seen": 10 * step})
        saved[step] = [v.numpy().copy() for v in model.weights]
    assert [s for s, _ in manager.checkpoints()] == [2, 3]
    assert manager.save(3, {}) is None          # that step is saved already
    # A leftover of a killed write, and of an interrupted deletion.
    (tmp_path / ".tmp-ckpt-00000004-999").mkdir()
    (tmp_path / ".trash-ckpt-00000001-999").mkdir()

    fresh, fresh_optimizer = _model_and_optimizer()
    again = CheckpointManager(tmp_path, {"model": fresh, "optimizer": fresh_optimizer}, keep=2)
    assert not list(tmp_path.glob(".*"))
    state = again.restore_latest()
    assert state == {"examples_seen": 30, "step": 3}
    assert int(fresh_optimizer.iterations.numpy()) == 3
    for a, b in zip(saved[3], fresh.weights):
        np.testing.assert_array_equal(a, b.numpy())
    # A damaged newest checkpoint: the one before it is used, with a warning.
    (tmp_path / "ckpt-00000003" / "variables.index").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="cannot be read"):
        assert again.restore_latest()["step"] == 2
    np.testing.assert_array_equal(saved[2][0], fresh.weights[0].numpy())


def test_a_non_writer_saves_nothing_to_the_folder(tmp_path):
    model, optimizer = _model_and_optimizer()
    manager = CheckpointManager(tmp_path / "ck", {"model": model, "optimizer": optimizer},
                                writer=False)
    assert manager.save(5, {}) is None and not (tmp_path / "ck").exists()


def test_json_is_replaced_atomically(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    write_json_atomic(tmp_path / "a.json", {"x": 2})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


KILLED_MID_WRITE = """
import os, signal, sys
import keras, numpy as np
from keras_textnet.training import checkpoint_manager
from keras_textnet.training.checkpoint_manager import CheckpointManager

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
optimizer = keras.optimizers.Adam(0.1)
optimizer.build(model.trainable_variables)
manager = CheckpointManager(sys.argv[1], {"model": model, "optimizer": optimizer})
manager.save(1, {"examples_seen": 1})
optimizer.apply_gradients(zip([np.ones((3, 2)), np.ones(2)], model.trainable_variables))
real_fsync = checkpoint_manager.fsync_path
def fsync_then_die(path):
    real_fsync(path)
    if str(path).endswith("variables.index"):
        # The variables are on disk, the state file is not, the folder not renamed.
        os.kill(os.getpid(), signal.SIGKILL)
checkpoint_manager.fsync_path = fsync_then_die
manager.save(2, {"examples_seen": 2})
"""


def test_sigkill_while_a_checkpoint_is_written_leaves_the_previous_one(tmp_path):
    folder = tmp_path / "ck"
    process = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(folder)], check=False,
                             capture_output=True, text=True, cwd=ROOT, env=environment(),
                             timeout=300)
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    leftovers = [p.name for p in folder.iterdir()]
    assert sorted(leftovers)[0].startswith(".tmp-ckpt-00000002-") and "ckpt-00000001" in \
        leftovers and "ckpt-00000002" not in leftovers
    model, optimizer = _model_and_optimizer()
    manager = CheckpointManager(folder, {"model": model, "optimizer": optimizer})
    assert [s for s, _ in manager.checkpoints()] == [1]
    assert manager.restore_latest() == {"examples_seen": 1, "step": 1}
    assert int(optimizer.iterations.numpy()) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["ckpt-00000001"]


def test_an_optional_trackable_is_written_and_read_only_where_a_checkpoint_has_it(tmp_path):
    import tensorflow as tf

    model, optimizer = _model_and_optimizer()
    old = CheckpointManager(tmp_path, {"model": model, "optimizer": optimizer})
    _train_once(model, optimizer)
    old.save(1, {})
    extra = tf.Module()
    extra.value = tf.Variable(5.0)
    manager = CheckpointManager(tmp_path, {"model": model, "optimizer": optimizer},
                                optional={"extra": extra})
    assert manager.restore_latest()["step"] == 1      # a checkpoint from before "extra"
    assert manager.restored_optional == [] and float(extra.value.numpy()) == 5.0
    extra.value.assign(7.0)
    manager.save(2, {})
    extra.value.assign(0.0)
    assert manager.restore_latest()["step"] == 2
    assert manager.restored_optional == ["extra"] and float(extra.value.numpy()) == 7.0
    with pytest.raises(ValueError, match="both required and optional"):
        CheckpointManager(tmp_path, {"extra": model}, optional={"extra": extra})
