"""Named model presets: which backbone, how wide each head, and the model settings.

Data only: ``PRESETS[name]`` holds plain keyword arguments and
:func:`preset_settings` applies overrides to them;
:mod:`keras_textnet.models.builder` turns them into new layers and
``TextNet.from_preset`` into a new
:class:`~keras_textnet.models.text_net.TextNet` (weights are always
initialised: nothing is downloaded).

=================== ======================================================
preset              for
=================== ======================================================
``tiny``            tests and smoke runs (a few hundred thousand parameters)
``mobilenet``       phones and CPU training: MobileNetV2 (alpha 0.5); the
                    default preset
``densenet_shallow`` the paper's figure ("shallow DenseNet")
``resnet50``        the paper's text (ResNet-50), the largest
=================== ======================================================
"""

from __future__ import annotations

import copy


#: The preset the CLI and the docs use unless told otherwise.
DEFAULT_PRESET = "mobilenet"

PRESETS: dict[str, dict] = {
    "tiny": {
        "backbone": {"name": "tiny"},
        "fpn_channels": 32,
        "rpn_channels": 32,
        "box_head": {"conv_filters": 32, "fc_units": 64},
        "recognizer": {"kind": "conv_attention", "filters": 64, "num_blocks": 2,
                       "num_heads": 2, "kernel_size": 5, "dropout": 0.0},
        "model": {"recognition_channels": 32, "detections_per_image": 64,
                  "rpn_post_nms_topk": 200, "head_rois_per_image": 64,
                  "recognition_rois_per_image": 16},
    },
    "mobilenet": {
        "backbone": {"name": "mobilenet", "alpha": 0.5},
        "fpn_channels": 96,
        "rpn_channels": 96,
        "box_head": {"conv_filters": 96, "fc_units": 256},
        "recognizer": {"kind": "conv_attention", "filters": 160, "num_blocks": 3,
                       "num_heads": 4, "kernel_size": 5, "dropout": 0.1,
                       "collapse_filters": 64},
        "model": {"recognition_channels": 64, "recognition_rois_per_image": 16},
    },
    "densenet_shallow": {
        "backbone": {"name": "densenet_shallow"},
        "fpn_channels": 128,
        "rpn_channels": 128,
        "box_head": {"conv_filters": 128, "fc_units": 256},
        "recognizer": {"kind": "conv_attention", "filters": 192, "num_blocks": 4,
                       "num_heads": 4, "kernel_size": 5, "dropout": 0.1},
        "model": {"recognition_channels": 96},
    },
    "resnet50": {
        "backbone": {"name": "resnet50"},
        "fpn_channels": 256,
        "rpn_channels": 256,
        "box_head": {"conv_filters": 256, "fc_units": 512},
        "recognizer": {"kind": "conv_attention", "filters": 256, "num_blocks": 4,
                       "num_heads": 8, "kernel_size": 5, "dropout": 0.1},
        "model": {"recognition_channels": 128},
    },
}


def preset_settings(preset: str, **overrides) -> dict:
    """The settings of ``preset`` with ``overrides`` applied (a deep copy).

    Overrides may name a top-level key (``fpn_channels=64``), a key of
    ``recognizer`` / ``backbone`` / ``box_head`` given as a dict
    (merged; ``recognizer={"kind": "bilstm"}`` replaces the recognizer's
    settings, keeping only its dropout), or any TextNet argument
    (``max_width=128``), which goes into ``model``.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    settings = copy.deepcopy(PRESETS[preset])
    for key, value in overrides.items():
        if key == "recognizer" and isinstance(value, dict) and \
                value.get("kind", settings[key]["kind"]) != settings[key]["kind"]:
            # Another kind of recognizer: the preset's settings were for the old one.
            settings[key] = {"dropout": settings[key].get("dropout", 0.1), **value}
        elif key in ("backbone", "recognizer", "box_head") and isinstance(value, dict):
            settings[key].update(value)
        elif key in ("fpn_channels", "rpn_channels"):
            settings[key] = value
        else:
            settings["model"][key] = value
    return settings
