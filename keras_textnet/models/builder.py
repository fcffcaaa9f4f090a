"""A preset's parts: turns the settings of :mod:`keras_textnet.models.presets` into new layers.

:func:`preset_arguments` returns the arguments of
:class:`~keras_textnet.models.text_net.TextNet` for a named preset: a new
backbone, feature pyramid, proposal head, box head and recognizer (weights
initialised here, nothing downloaded), the charset, the model's name and the
preset's model settings. It does not import the model class:
``TextNet(**preset_arguments(name))`` then ``build()`` is
``TextNet.from_preset(name)``.
"""

from __future__ import annotations

from keras_textnet.charset import Charset
from keras_textnet.layers.feature_pyramid import FeaturePyramid
from keras_textnet.layers.recognizers import build_recognizer
from keras_textnet.layers.region_proposal_head import RegionProposalHead
from keras_textnet.layers.text_box_head import TextBoxHead
from keras_textnet.models.backbones import build_backbone
from keras_textnet.models.presets import preset_settings
from keras_textnet.ops import anchors as anchor_ops


def preset_arguments(preset: str, charset: Charset | None = None, **overrides) -> dict:
    """``TextNet``'s keyword arguments for ``preset`` (see
    :func:`~keras_textnet.models.presets.preset_settings` for ``overrides``)."""
    settings = preset_settings(preset, **overrides)
    charset = charset or Charset()
    model_kwargs = settings["model"]
    levels = tuple(model_kwargs.get("pyramid_levels", ("P2", "P3")))
    heights = model_kwargs.get("anchor_heights", anchor_ops.DEFAULT_HEIGHTS)
    ratios = model_kwargs.get("anchor_aspect_ratios", anchor_ops.DEFAULT_ASPECT_RATIOS)
    level_numbers = [int(name[1:]) for name in levels]
    backbone_kwargs = dict(settings["backbone"])
    backbone = build_backbone(backbone_kwargs.pop("name"), **backbone_kwargs)
    fpn = FeaturePyramid(min_level=min(level_numbers), max_level=max(level_numbers),
                         channels=settings["fpn_channels"], name="feature_pyramid")
    rpn = RegionProposalHead(anchor_ops.anchors_per_location(heights, ratios),
                             channels=settings["rpn_channels"], level_names=levels,
                             name="proposal_head")
    box_head = TextBoxHead(**settings["box_head"], name="box_head")
    rec_kwargs = dict(settings["recognizer"])
    recognizer = build_recognizer(rec_kwargs.pop("kind"), charset.num_classes, **rec_kwargs,
                                  name="recognizer")
    return dict(backbone=backbone, feature_pyramid=fpn, proposal_head=rpn, box_head=box_head,
                recognizer=recognizer, charset=charset, name=f"textnet_{preset}",
                **model_kwargs)
