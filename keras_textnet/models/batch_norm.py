"""Batch-norm statistics: find a model's BN layers and re-estimate their moving averages.

A detector trained with small batches (2 pages of 512x512 on a CPU) updates its
BatchNormalization moving averages slowly: with momentum 0.999 (the MobileNetV2
default), after 1,300 steps 27% of the initial mean 0 / variance 1 is still in
them, and at inference the network sees features scaled nothing like training.
:func:`recalibrate_batch_norm` ("precise BN") replaces the moving averages by
the plain average of the batch statistics over ``steps`` training batches, with
every other weight untouched; run it after training (``keras-textnet``'s
training script does) or on any saved model.

    >>> # model = keras.models.load_model("model.keras")
    >>> # recalibrate_batch_norm(model, make_dataset(...), steps=100)
"""

from __future__ import annotations

import keras
import tensorflow as tf


def batch_norm_layers(model) -> list:
    """Every trainable :class:`keras.layers.BatchNormalization` inside ``model`` (nested too)."""
    found, seen = [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and id(layer) not in seen:
            seen.add(id(layer))
            found.append(layer)
    return found


def recalibrate_batch_norm(model, dataset, steps: int = 100, progress: bool = True) -> int:
    """Sets every BN layer's moving mean/variance to the average over ``steps`` batches.

    Args:
      model: a :class:`~keras_textnet.models.text_net.TextNet` (anything with
        ``compute_losses(images, targets, training=True)``) or a plain Keras
        model (called as ``model(inputs, training=True)``).
      dataset: yields ``(images, targets)`` (TextNet) or inputs, e.g. the
        training pipeline; it should look like the data the model will see.
      steps: batches to average (the batches used is returned; fewer when the
        dataset ends first).
      progress: show a progress bar.
    Returns:
      the number of batches averaged. Trainable weights are not changed; the
      moving averages of layers with ``trainable=False`` are left alone.
    Raises:
      ValueError: ``steps < 1``, or the model has no trainable BN layer.
    """
    if int(steps) < 1:
        raise ValueError(f"`steps` must be a positive integer; received {steps!r}")
    layers = [layer for layer in batch_norm_layers(model) if layer.trainable]
    if not layers:
        raise ValueError("the model has no trainable BatchNormalization layer to recalibrate")
    # The momentum becomes a variable so that one traced function serves every
    # step: step k (from 0) keeps k/(k+1) of the running value, a plain mean.
    momentum = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="bn_recalibration")
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = momentum

    if hasattr(model, "compute_losses"):
        @tf.function(reduce_retracing=True)
        def forward(images, targets):
            model.compute_losses(images, targets, training=True,
                                 seed=tf.constant([0, 0], tf.int64))
    else:
        @tf.function(reduce_retracing=True)
        def forward(inputs, _unused=None):
            model(inputs, training=True)

    from tqdm.auto import tqdm

    done = 0
    try:
        bar = tqdm(total=int(steps), desc="recalibrate BN", unit="batch", disable=not progress)
        for batch in dataset.take(int(steps)) if hasattr(dataset, "take") else dataset:
            if done >= int(steps):
                break
            momentum.assign(done / (done + 1.0))
            if isinstance(batch, (tuple, list)):
                forward(*batch[:2])
            else:
                forward(batch)
            done += 1
            bar.update(1)
        bar.close()
    finally:
        for layer, value in zip(layers, saved):
            layer.momentum = value
    return done
