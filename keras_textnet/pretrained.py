"""The model that ships in the package, and how a trained model becomes one.

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


def load_model(path: str | os.PathLike):
    """A saved TextNet ``.keras`` file, uncompiled, ready for inference."""
    import keras

    import keras_textnet.layers  # noqa: F401  (registers the custom classes)
    import keras_textnet.models.text_net  # noqa: F401

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    return keras.models.load_model(path, compile=False)


def load_default_model():
    """The shipped model (or ``$KERAS_TEXTNET_MODEL``)."""
    return load_model(default_model_path())


#: TextNet settings a release may change: they filter detections after the
#: network and leave every weight as it was trained.
INFERENCE_SETTINGS = ("detections_per_image", "score_threshold", "detection_nms_iou",
                      "rpn_pre_nms_topk", "rpn_post_nms_topk", "rpn_nms_iou",
                      "read_padding")


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
      ValueError: a setting that is not an inference setting.
    """
    from keras_textnet.models.text_net import TextNet

    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(INFERENCE_SETTINGS))
    if unknown:
        raise ValueError(f"release settings can only be {', '.join(INFERENCE_SETTINGS)} (they "
                         f"keep the trained weights valid); received {', '.join(unknown)}")
    trained = checkpoint if isinstance(checkpoint, TextNet) else load_model(checkpoint)
    fresh = TextNet.from_config({**trained.get_config(), **settings})
    fresh.build(None)
    fresh.set_weights(trained.get_weights())
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(destination.stem + ".tmp.keras")
    fresh.save(tmp)
    os.replace(tmp, destination)
    return destination
