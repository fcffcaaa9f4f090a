"""Where an export starts: a TextNet from a ``.keras`` file, a weights file or a preset.

Loading is :func:`keras_textnet.pretrained.load_model` (the package's one model
loader), here with pure-TF pooling and its errors as :class:`ExportError`.

Also the two things every exporter needs before it traces the model:

* :func:`pure_tf_pooling`: dynamic RoI pooling must run its pure-TensorFlow
  implementation (gathers, which TFLite, tf2onnx and TF Serving all know), never
  the optional C++/CUDA custom op, which no exported format can carry;
* :func:`write_tensor_saved_model`: the graph at a fixed input size, uint8 image in,
  the model's output tensors out, written with ``keras.export.ExportArchive``
  (TFLite and ONNX are converted from it: with this TF, converting from a
  concrete function, ``from_concrete_functions([cf], keras_model)``, silently
  yields NaN outputs).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from keras_textnet import pretrained
from keras_textnet.pretrained import INFERENCE_SETTINGS


class ExportError(ValueError):
    """An export cannot be made; the message says what to change."""


def load_model(model=None, preset: str | None = None, **overrides):
    """The TextNet to export: :func:`keras_textnet.pretrained.load_model`, traced pure-TF.

    Args:
        model: a TextNet, a path to a ``.keras`` file, or a path to a
            ``.weights.h5`` file (then ``preset`` names the architecture).
        preset: with no ``model``, a new (untrained) model of this preset;
            with a weights file, the preset those weights belong to.
        **overrides: preset overrides (see ``TextNet.from_preset``) for presets
            and weights files; for a TextNet or a ``.keras`` file, only
            :data:`INFERENCE_SETTINGS` (see :func:`with_inference_settings`).

    Raises:
        ExportError: the file is missing, is not a Keras model, or its weights
            do not fit the preset; the preset or a setting is not valid.
    """
    with pure_tf_pooling():  # building runs the model once: no custom-op build for an export
        try:
            return pretrained.load_model(model, preset=preset, **overrides)
        except (FileNotFoundError, pretrained.ModelSourceError) as e:
            raise ExportError(str(e)) from e
        except (ValueError, OSError, TypeError) as e:  # keras.models.load_model's
            raise ExportError(f"{model}: cannot be loaded as a Keras model: {e}") from e


def with_inference_settings(model, **settings):
    """:func:`keras_textnet.pretrained.with_inference_settings`, failing with an ExportError.

    E.g. ``detections_per_image=32`` for a phone: the recognizer then reads 32
    lines per page instead of 100, which is most of its cost.
    """
    try:
        return pretrained.with_inference_settings(model, **settings)
    except pretrained.ModelSourceError as e:
        raise ExportError(str(e)) from e


@contextlib.contextmanager
def pure_tf_pooling():
    """Within this block, dynamic RoI pooling traces its pure-TF implementation.

    Uses :func:`keras_textnet.ops.custom_op.pooling_implementation` (``"tf"``),
    which wins over the ``KERAS_TEXTNET_POOLING`` environment variable and over any
    earlier ``set_pooling_implementation`` call; the previous setting is restored
    afterwards.
    """
    from keras_textnet.ops.custom_op import pooling_implementation

    with pooling_implementation("tf"):
        yield


def check_input_size(input_size, model=None) -> tuple[int, int]:
    """``(height, width)`` as ints, each a positive multiple of the backbone's 32."""
    try:
        height, width = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ExportError(f"input_size must be (height, width); received {input_size!r}") \
            from None
    if height < 32 or width < 32 or height % 32 or width % 32:
        raise ExportError(f"input_size must be multiples of 32 (the backbone's stride), each "
                          f">= 32; received {height}x{width}")
    return height, width


def write_tensor_saved_model(model, path, input_size=None, batch_size: int = 1) -> Path:
    """A SavedModel of ``model`` ending at its tensors: the converters' starting point.

    Signature ``serving_default``: ``images`` ``(batch_size, H, W, 3)`` uint8 ->
    the model's output dict (see :data:`keras_textnet.export.outputs.OUTPUT_TENSORS`).
    ``input_size`` ``(H, W)`` fixes the spatial size (TFLite); ``None`` leaves it
    dynamic (ONNX). A static batch of 1 keeps the graph free of loops (NMS runs once).
    """
    import keras
    import tensorflow as tf

    height, width = check_input_size(input_size) if input_size is not None else (None, None)
    path = Path(path)
    spec = tf.TensorSpec([batch_size, height, width, 3], tf.uint8, name="images")
    with pure_tf_pooling():
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serving_default", lambda images: model(images, training=False),
                             input_signature=[spec])
        archive.write_out(str(path), verbose=False)
    return path


__all__ = [
    "INFERENCE_SETTINGS",
    "ExportError",
    "check_input_size",
    "load_model",
    "pure_tf_pooling",
    "with_inference_settings",
    "write_tensor_saved_model",
]
