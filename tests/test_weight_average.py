"""The weight average of a training run: its update, checkpoints, resume and release."""

import keras
import numpy as np
import pytest

from keras_textnet.training.config import TrainingConfig
from keras_textnet.training.trainer import Trainer
from keras_textnet.training.weight_average import (WeightAverage, checkpoint_has_average,
                                                   load_average)

from training_harness import build_small_model, small_config


def _dense():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return model


def _set(model, value):
    for v in model.trainable_variables:
        v.assign(np.full(v.shape, value, "float32"))


def test_the_first_update_copies_then_the_decay_warms_up():
    model = _dense()
    _set(model, 1.0)
    average = WeightAverage(model, decay=0.9)
    assert not average.started
    average.update()
    np.testing.assert_allclose(average.values()[0], 1.0)
    _set(model, 3.0)
    average.update()                       # n = 1: decay min(0.9, 2 / 11)
    d = 2 / 11
    np.testing.assert_allclose(average.values()[0], d * 1.0 + (1 - d) * 3.0, rtol=1e-6)
    for _ in range(200):
        average.update()
    np.testing.assert_allclose(average.values()[1], 3.0, rtol=1e-5)
    assert int(average.count.numpy()) == 202


def test_swapped_puts_the_live_weights_back():
    model = _dense()
    _set(model, 1.0)
    average = WeightAverage(model, decay=0.99)
    with pytest.raises(ValueError, match="empty"):
        with average.swapped(model):
            pass
    average.update()
    _set(model, 5.0)
    with average.swapped(model):
        np.testing.assert_allclose(model.trainable_variables[0].numpy(), 1.0)
    np.testing.assert_allclose(model.trainable_variables[0].numpy(), 5.0)
    with pytest.raises(ValueError, match="not those"):
        with average.swapped(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])):
            pass


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(_dense(), decay)


def _train(config, out, steps):
    config = TrainingConfig.from_dict(config)
    config.schedule.steps = steps
    logs = []
    result = Trainer(config, out, verbose=0, model_builder=build_small_model,
                     log=logs.append).run()
    return result, logs


def test_a_run_keeps_its_average_across_a_resume_and_writes_it(tmp_path):
    config = small_config(schedule={"weight_average": 0.8, "decay": "constant"})
    whole, _ = _train(config, tmp_path / "whole", 6)
    _train(config, tmp_path / "cut", 3)
    resumed, logs = _train(config, tmp_path / "cut", 6)
    assert any("3 steps averaged so far" in line for line in logs)
    assert resumed.fingerprint == pytest.approx(whole.fingerprint, rel=1e-7, abs=1e-9)

    # model.keras holds the average the last checkpoint holds, not the live weights.
    last = sorted((tmp_path / "cut" / "checkpoints").iterdir())[-1] / "variables"
    assert checkpoint_has_average(str(last))
    saved = keras.saving.load_model(tmp_path / "cut" / "model.keras")
    fresh = build_small_model(TrainingConfig.from_dict(config))
    assert load_average(fresh, str(last)) == 6
    for a, b in zip(saved.trainable_variables, fresh.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    live = _train(small_config(schedule={"decay": "constant"}), tmp_path / "live", 6)[0]
    assert abs(live.fingerprint - whole.fingerprint) > 1e-6


def test_averaging_added_to_a_running_run_starts_from_its_checkpoint(tmp_path):
    _train(small_config(), tmp_path / "run", 2)
    first = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1] / "variables"
    assert not checkpoint_has_average(str(first))
    with pytest.raises(ValueError, match="no weight average"):
        load_average(_dense(), str(first))
    _, logs = _train(small_config(schedule={"weight_average": 0.9}), tmp_path / "run", 4)
    assert any("starts from these weights" in line for line in logs)
    last = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1] / "variables"
    fresh = build_small_model(TrainingConfig.from_dict(small_config()))
    assert load_average(fresh, str(last)) == 2
