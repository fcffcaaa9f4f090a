"""An exponential moving average of the trainable weights, kept beside a training run.

At batch 2 and a learning rate still high, consecutive checkpoints of one run
read real pages very differently (docs/training.md: step 5,800 and step 6,100
of the shipped recipe scored 0.753 and 0.677 end-to-end F). The average of the
weights over the last few hundred steps smooths that noise away, the way a
step-size schedule would only at the end of the run.

:class:`WeightAverage` holds one shadow variable per trainable variable of the
model and updates it after every step::

    average = decay_n * average + (1 - decay_n) * weight,
    decay_n = min(decay, (1 + n) / (10 + n))

where ``n`` counts the updates so far (the shadow starts as a copy of the
weights, and follows them closely while ``n`` is small, as
``tf.train.ExponentialMovingAverage`` does with ``num_updates``). It is a
``tf.Module``: the run's checkpoints carry it, and a run that starts averaging
when resumed from a checkpoint without it starts from that checkpoint's weights.

>>> average = WeightAverage(model, decay=0.998)                 # doctest: +SKIP
>>> model.fit(data, callbacks=[average.callback()])             # doctest: +SKIP
>>> with average.swapped(model):                                # doctest: +SKIP
...     model.save("averaged.keras")
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

CHECKPOINT_KEY = "weight_average"   # the average's name in a run's checkpoints


class _AverageState(tf.Module):
    """What a checkpoint keeps of the average: the update count and the shadows."""

    def __init__(self, weights):
        super().__init__(name=CHECKPOINT_KEY)
        self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name="count")
        self.averages = [tf.Variable(tf.zeros(w.shape, w.dtype), trainable=False,
                                     name=f"average_{i}") for i, w in enumerate(weights)]


class WeightAverage:
    """An exponential moving average of ``model.trainable_variables``.

    Args:
        model: a built Keras model (create the average in the scope of the
            distribution strategy the model was built in).
        decay: the decay per step, in ``(0, 1)``: the average spans about
            ``1 / (1 - decay)`` steps.

    Attributes:
        state: the trackable part (``tf.Module``) for ``tf.train.Checkpoint``;
            the model's own weights are not in it.
    """

    def __init__(self, model, decay: float):
        decay = float(decay)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1); received {decay!r}")
        self.decay = decay
        self._weights = list(model.trainable_variables)
        if not self._weights:
            raise ValueError("the model has no trainable variables to average")
        self.state = _AverageState(self._weights)

    @property
    def count(self):
        return self.state.count

    @property
    def averages(self) -> list:
        return self.state.averages

    @property
    def started(self) -> bool:
        """Whether the average holds anything (restored, or updated once)."""
        return int(self.count.numpy()) > 0

    @tf.function
    def update(self):
        """One step of the average; the first one copies the weights."""
        n = tf.cast(self.count, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + n) / (10.0 + n))
        decay = tf.where(self.count > 0, decay, 0.0)
        for average, weight in zip(self.averages, self._weights):
            value = tf.convert_to_tensor(weight)
            average.assign(tf.cast(decay, average.dtype) * average
                           + tf.cast(1.0 - decay, average.dtype) * value)
        self.count.assign_add(1)

    def restart(self):
        """Forgets the average: the next update copies the weights."""
        self.count.assign(0)

    def values(self) -> list:
        """The averaged weights, as numpy arrays in ``model.trainable_variables`` order."""
        return [a.numpy() for a in self.averages]

    @contextlib.contextmanager
    def swapped(self, model):
        """Inside the block, ``model`` holds the averaged weights; the live ones after.

        Raises:
            ValueError: when nothing has been averaged yet, or ``model`` is not
                the model (or a copy of it) this average follows.
        """
        if not self.started:
            raise ValueError("the weight average is empty: no training step was averaged")
        variables = list(model.trainable_variables)
        if [tuple(v.shape) for v in variables] != [tuple(a.shape) for a in self.averages]:
            raise ValueError("the model's trainable variables are not those this average "
                             "follows")
        live = [v.numpy() for v in variables]
        for variable, average in zip(variables, self.averages):
            variable.assign(average)
        try:
            yield model
        finally:
            for variable, value in zip(variables, live):
                variable.assign(value)

    def callback(self) -> keras.callbacks.Callback:
        """A Keras callback that updates the average after every training batch."""
        return _AverageCallback(self)


class _AverageCallback(keras.callbacks.Callback):
    def __init__(self, average: WeightAverage):
        super().__init__()
        self.average = average

    def on_train_batch_end(self, batch, logs=None):
        self.average.update()


def checkpoint_has_average(checkpoint_prefix: str) -> bool:
    """Whether a training checkpoint (``.../ckpt-N/variables``) holds a weight average."""
    names = tf.train.load_checkpoint(checkpoint_prefix).get_variable_to_shape_map()
    return any(name.startswith(CHECKPOINT_KEY + "/") for name in names)


def load_average(model, checkpoint_prefix: str) -> int:
    """Sets ``model``'s trainable weights to the average a checkpoint holds.

    Returns the number of steps averaged into it.

    Raises:
        ValueError: when the checkpoint holds no average.
    """
    if not checkpoint_has_average(checkpoint_prefix):
        raise ValueError(f"{checkpoint_prefix}: the checkpoint holds no weight average (the "
                         "run did not set schedule.weight_average before it)")
    average = WeightAverage(model, decay=0.5)
    tf.train.Checkpoint(**{CHECKPOINT_KEY: average.state}).read(checkpoint_prefix).expect_partial()
    for variable, value in zip(model.trainable_variables, average.averages):
        variable.assign(value)
    return int(average.count.numpy())


__all__ = ["CHECKPOINT_KEY", "WeightAverage", "checkpoint_has_average", "load_average"]
