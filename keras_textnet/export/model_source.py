"""Where an export starts: a TextNet from a ``.keras`` file, a weights file or a preset.

Also the two things every exporter needs before it traces the model:

* :func:`pure_tf_pooling`: dynamic RoI pooling must run its pure-TensorFlow
  implementation (gathers, which TFLite, tf2onnx and TF Serving all know), never
  the optional C++/CUDA custom op, which no exported format can carry;
* :func:`write_tensor_saved_model`: the graph at a fixed input size, uint8 image in,
  the model's output tensors out, written with ``keras.export.ExportArchive``
  (TFLite and ONNX are converted from it: converting from a concrete function
  yields NaN outputs with this TF, see DESIGN.md).
"""

from __future__ import annotations

import contextlib
from pathlib import Path


class ExportError(ValueError):
    """An export cannot be made; the message says what to change."""


def load_model(model=None, preset: str | None = None, **overrides):
    """The TextNet to export.

    Args:
        model: a TextNet, a path to a ``.keras`` file, or a path to a
            ``.weights.h5`` file (then ``preset`` names the architecture).
        preset: with no ``model``, a new (untrained) model of this preset;
            with a weights file, the preset those weights belong to.
        **overrides: preset overrides (see ``TextNet.from_preset``) for presets
            and weights files; for a TextNet or a ``.keras`` file, only
            :data:`INFERENCE_SETTINGS` (see :func:`with_inference_settings`).

    Raises:
        ExportError: the file is missing, of an unknown kind, or its weights
            do not fit the preset.
    """
    with pure_tf_pooling():  # building runs the model once: no custom-op build for an export
        return _load_model(model, preset, **overrides)


def _load_model(model, preset, **overrides):
    from keras_textnet.models.text_net import TextNet

    if isinstance(model, TextNet):
        return with_inference_settings(model, **overrides) if overrides else model
    if model is None:
        if preset is None:
            raise ExportError("give a model file (.keras or .weights.h5) or a preset name")
        return _from_preset(preset, overrides)
    path = Path(model)
    if not path.exists():
        raise ExportError(f"model file not found: {path}")
    name = path.name.lower()
    if name.endswith(".keras"):
        import keras

        import keras_textnet.layers  # noqa: F401  (registers the components)

        try:
            net = keras.models.load_model(path, compile=False)
        except (ValueError, OSError, TypeError) as e:
            raise ExportError(f"{path}: cannot be loaded as a Keras model: {e}") from e
        return with_inference_settings(net, **overrides) if overrides else net
    if name.endswith(".weights.h5"):
        if preset is None:
            raise ExportError(f"{path}: a weights file needs the preset it was trained with "
                              f"(--preset)")
        net = _from_preset(preset, overrides)
        try:
            net.load_weights(path)
        except (ValueError, OSError) as e:
            raise ExportError(f"{path}: these weights do not fit preset {preset!r}: {e}") from e
        return net
    raise ExportError(f"{path}: expected a .keras model or a .weights.h5 file")


def _from_preset(preset, overrides):
    from keras_textnet.models.text_net import TextNet

    try:
        return TextNet.from_preset(preset, **overrides)
    except (ValueError, TypeError) as e:
        raise ExportError(f"preset {preset!r}: {e}") from e


#: TextNet settings that change inference only (no weight depends on them).
INFERENCE_SETTINGS = ("detections_per_image", "score_threshold", "detection_nms_iou",
                      "rpn_pre_nms_topk", "rpn_post_nms_topk", "rpn_nms_iou", "max_text_length")


def with_inference_settings(model, **settings):
    """A copy of a trained ``model`` (same weights) with other inference settings.

    E.g. ``detections_per_image=32`` for a phone: the recognizer then reads 32
    lines per page instead of 100, which is most of its cost.
    """
    from keras_textnet.models.text_net import TextNet

    unknown = sorted(set(settings) - set(INFERENCE_SETTINGS))
    if unknown:
        raise ExportError(f"a trained model's {unknown} cannot change at export; inference "
                          f"settings that can: {', '.join(INFERENCE_SETTINGS)}")
    config = {**model.get_config(), **settings}
    try:
        copy = TextNet.from_config(config)
    except ValueError as e:
        raise ExportError(f"invalid inference settings {settings}: {e}") from e
    copy.build()
    copy.set_weights(model.get_weights())
    return copy


@contextlib.contextmanager
def pure_tf_pooling():
    """Within this block, dynamic RoI pooling traces its pure-TF implementation.

    Uses :func:`keras_textnet.ops.custom_op_loader.pooling_implementation` (``"tf"``),
    which wins over the ``KERAS_TEXTNET_POOLING`` environment variable and over any
    earlier ``set_pooling_implementation`` call; the previous setting is restored
    afterwards.
    """
    from keras_textnet.ops.custom_op_loader import pooling_implementation

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
