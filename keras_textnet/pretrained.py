"""The one model loader, the model that ships in the package, and how a trained model becomes one.

:func:`load_model` is the one road from what a user names (a ``.keras`` file, a
``.weights.h5`` file of a preset, a preset, a loaded TextNet) to a TextNet ready
for inference; ``keras-textnet read`` / ``predict`` / ``evaluate``, training's
``model.init_from`` and every exporter (``keras_textnet.export.model_source``)
go through it. :func:`with_inference_settings` copies a trained model with other
:data:`INFERENCE_SETTINGS` (the weights stay as they are).

``keras-textnet read page.png`` (and :func:`load_default_model`) use the model
file ``keras_textnet/assets/<DEFAULT_MODEL_FILE>``, trained here from scratch
(nothing is downloaded: see ``docs/results/`` for how and how well).
:func:`release_model` turns a training checkpoint into such a file: the same
architecture and weights without the optimizer's state (a third of the size).
"""

from __future__ import annotations

import os
from pathlib import Path

#: File name of the shipped model inside ``keras_textnet/assets``.
DEFAULT_MODEL_FILE = "textnet_mobilenet_real.keras"

#: Environment variable naming another default model file.
MODEL_ENV = "KERAS_TEXTNET_MODEL"

#: TextNet settings that change inference only: no weight depends on them, so a
#: trained model may take other values (:func:`with_inference_settings`), at
#: release or at export. They filter detections after the network, widen the
#: lines it reads, or bound the length of the transcriptions.
INFERENCE_SETTINGS = ("detections_per_image", "score_threshold", "detection_nms_iou",
                      "rpn_pre_nms_topk", "rpn_post_nms_topk", "rpn_nms_iou",
                      "read_padding", "read_word_ends", "max_text_length")


class ModelSourceError(ValueError):
    """No model can be made from what was named; the message names the file or preset."""


def assets_dir() -> Path:
    return Path(__file__).resolve().parent / "assets"


def default_model_path() -> Path:
    """The model ``read`` / ``predict`` use unless told otherwise.

    ``$KERAS_TEXTNET_MODEL`` when set, else the shipped model.

    Raises:
        FileNotFoundError: the file is missing (says which and what to do).
    """
    env = os.environ.get(MODEL_ENV)
    path = Path(env) if env else assets_dir() / DEFAULT_MODEL_FILE
    if not path.is_file():
        origin = f"${MODEL_ENV}" if env else "the package's shipped model"
        raise FileNotFoundError(
            f"{origin} {path} does not exist; pass --model MODEL.keras (a model saved by "
            "training, e.g. runs/NAME/model.keras)")
    return path


def load_model(path=None, *, preset: str | None = None, **settings):
    """A TextNet, uncompiled, ready for inference.

    Args:
        path: a saved model file (``.keras``; any file but a weights file goes
            to ``keras.models.load_model``), a ``.weights.h5`` file (then
            ``preset`` names the architecture), a TextNet, or ``None`` with
            ``preset``: a new, untrained model of that preset.
        preset: the preset of a new model or of a weights file.
        **settings: for a preset or a weights file, any preset override (see
            ``TextNet.from_preset``); for a saved model or a TextNet, only
            :data:`INFERENCE_SETTINGS` (a copy with the same weights).

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ModelSourceError: neither ``path`` nor ``preset``; an unknown preset or
            a bad override; a weights file without its preset, or whose
            weights do not fit it; a setting a trained model cannot change.
        Whatever ``keras.models.load_model`` raises for a file that holds no
        Keras model.
    """
    import keras_textnet.layers  # noqa: F401  (registers the custom classes)
    from keras_textnet.models.text_net import TextNet

    if isinstance(path, TextNet):
        return with_inference_settings(path, **settings) if settings else path
    if path is None:
        if preset is None:
            raise ModelSourceError("give a model file (.keras or .weights.h5) or a preset name")
        return _from_preset(preset, settings)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.name.lower().endswith(".weights.h5"):
        if preset is None:
            raise ModelSourceError(f"{path}: a weights file needs the preset it was trained "
                                   f"with (preset=, or --preset of keras-textnet export)")
        net = _from_preset(preset, settings)
        try:
            net.load_weights(path)
        except (ValueError, OSError) as e:
            raise ModelSourceError(f"{path}: these weights do not fit preset {preset!r}: "
                                   f"{e}") from e
        return net
    import keras

    net = keras.models.load_model(path, compile=False)
    return with_inference_settings(net, **settings) if settings else net


def _from_preset(preset: str, overrides: dict):
    from keras_textnet.models.text_net import TextNet

    try:
        return TextNet.from_preset(preset, **overrides)
    except (ValueError, TypeError) as e:
        raise ModelSourceError(f"preset {preset!r}: {e}") from e


def load_default_model():
    """The shipped model (or ``$KERAS_TEXTNET_MODEL``)."""
    return load_model(default_model_path())


def with_inference_settings(model, **settings):
    """A copy of a trained ``model`` (same weights) with other :data:`INFERENCE_SETTINGS`.

    E.g. ``detections_per_image=32`` for a phone: the recognizer then reads 32
    lines per page instead of 100, which is most of its cost. Without
    ``settings``, a copy of the architecture and weights alone (no optimizer).

    Raises:
        ModelSourceError: a setting the weights depend on, or an invalid value.
    """
    from keras_textnet.models.text_net import TextNet

    _check_inference_settings(settings)
    try:
        copy = TextNet.from_config({**model.get_config(), **settings})
    except ValueError as e:
        raise ModelSourceError(f"invalid inference settings {settings}: {e}") from e
    copy.build(None)
    copy.set_weights(model.get_weights())
    return copy


def _check_inference_settings(settings) -> None:
    unknown = sorted(set(settings) - set(INFERENCE_SETTINGS))
    if unknown:
        raise ModelSourceError(
            f"a trained model's {unknown} cannot change at export or release (its weights "
            f"depend on them); the settings that can: {', '.join(INFERENCE_SETTINGS)}")


def release_model(checkpoint, destination: str | os.PathLike, *,
                  settings: dict | None = None) -> Path:
    """Writes ``checkpoint``'s architecture and weights, without optimizer state.

    Args:
      checkpoint: a ``.keras`` file saved during training (compiled, with the
        optimizer's moments: about three times the weights' size), or a loaded
        TextNet (e.g. after :func:`~keras_textnet.models.batch_norm.recalibrate_batch_norm`).
      destination: the ``.keras`` file to write (atomically).
      settings: new values of :data:`INFERENCE_SETTINGS` for the released model,
        e.g. ``{"detections_per_image": 400}`` for dense pages.
    Returns:
      ``destination`` as a Path. Without ``settings``, outputs of the released
      model equal the checkpoint's exactly.
    Raises:
      ModelSourceError (a ValueError): a setting that is not an inference setting.
    """
    from keras_textnet.models.text_net import TextNet

    settings = dict(settings or {})
    _check_inference_settings(settings)  # before a checkpoint is loaded
    trained = checkpoint if isinstance(checkpoint, TextNet) else load_model(checkpoint)
    fresh = with_inference_settings(trained, **settings)
    from keras_textnet.atomic_files import save_atomic

    return save_atomic(destination, fresh.save)
