"""BatchNorm recalibration ("precise BN")."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.models.batch_norm import batch_norm_layers, recalibrate_batch_norm


def _model():
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(2, 1, use_bias=False, kernel_initializer="ones", name="conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.999, name="bn1")(x)
    inner = keras.Sequential([keras.layers.BatchNormalization(name="bn2")], name="inner")
    return keras.Model(inputs, inner(x))


def test_finds_nested_layers():
    assert sorted(layer.name for layer in batch_norm_layers(_model())) == ["bn1", "bn2"]


def test_moving_statistics_become_the_average_of_batch_statistics():
    model = _model()
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0 + i, 2.0, (2, 4, 4, 3)).astype("float32") for i in range(5)]
    kernel_before = model.get_layer("conv").kernel.numpy().copy()
    used = recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(
        np.stack(batches)), steps=10, progress=False)
    assert used == 5  # the dataset ended first
    bn1 = model.get_layer("bn1")
    # conv sums the 3 channels with weight 1: per-batch mean over every position.
    conv = [b.sum(-1, keepdims=True).repeat(2, -1) for b in batches]
    expected_mean = np.mean([c.mean(axis=(0, 1, 2)) for c in conv], axis=0)
    expected_var = np.mean([c.var(axis=(0, 1, 2)) for c in conv], axis=0)
    np.testing.assert_allclose(bn1.moving_mean.numpy(), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(bn1.moving_variance.numpy(), expected_var, rtol=1e-4)
    # The nested layer normalises bn1's output: mean ~0 on average.
    assert np.all(np.abs(model.get_layer("inner").layers[0].moving_mean.numpy()) < 0.5)
    # Weights untouched, the momentum restored.
    np.testing.assert_array_equal(model.get_layer("conv").kernel.numpy(), kernel_before)
    assert bn1.momentum == 0.999


def test_models_with_compute_losses_are_run_through_it():
    """TextNet's path (``compute_losses(images, targets)``), on the small test model."""
    from training_harness import SmallTextModel

    model = SmallTextModel()
    model(tf.zeros((1, 32, 32, 3), tf.uint8))
    rng = np.random.default_rng(1)
    batches = [(tf.constant(rng.integers(0, 256, (2, 32, 32, 3)), tf.uint8),
                {"num_boxes": tf.constant([i, i + 1])}) for i in range(3)]
    trainable = [w.numpy().copy() for w in model.trainable_weights]
    assert recalibrate_batch_norm(model, batches, steps=3, progress=False) == 3
    for before, after in zip(trainable, model.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    # The average of the batch statistics of what the BN layer sees (the conv's output).
    conv = [model.conv(tf.cast(images, tf.float32) / 255.0).numpy() for images, _ in batches]
    np.testing.assert_allclose(model.norm.moving_mean.numpy(),
                               np.mean([c.mean(axis=(0, 1, 2)) for c in conv], axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.norm.moving_variance.numpy(),
                               np.mean([c.var(axis=(0, 1, 2)) for c in conv], axis=0),
                               rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_textnet_recalibration_changes_only_statistics():
    """TextNet itself (20-30 s: tracing its losses); the default suite runs the path above."""
    from keras_textnet.data.pipeline import SyntheticSource, make_dataset
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.models.text_net import TextNet

    source = SyntheticSource(SyntheticDocumentGenerator(page_size=(192, 256), degrade=0.0),
                             count=2, workers=0)
    images, targets = next(iter(make_dataset(
        source, image_size=(128, 128), batch_size=2, seed=0, deterministic=True,
        max_text_length=24)))
    model = TextNet.from_preset("tiny", max_text_length=24)
    model(images)
    trainable = [w.numpy().copy() for w in model.trainable_weights]
    stats = [w.numpy().copy() for w in model.non_trainable_weights]
    used = recalibrate_batch_norm(model, [(images, targets)] * 2, steps=2, progress=False)
    assert used == 2
    for before, after in zip(trainable, model.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(not np.allclose(b, a.numpy()) for b, a in zip(stats, model.non_trainable_weights))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        recalibrate_batch_norm(_model(), [], steps=0)
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no trainable BatchNormalization"):
        recalibrate_batch_norm(plain, [], steps=1)
