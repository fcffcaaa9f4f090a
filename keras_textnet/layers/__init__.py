"""Keras layers of the network (thin wrappers over keras_textnet.ops).

Importing this package registers every layer for ``.keras`` loading.
"""

from keras_textnet.layers.bilstm_recognizer import BiLSTMRecognizer
from keras_textnet.layers.conv_attention_recognizer import ConvAttentionRecognizer
from keras_textnet.layers.feature_pyramid import FeaturePyramid
from keras_textnet.layers.recognizers import build_recognizer
from keras_textnet.layers.region_proposal_head import RegionProposalHead
from keras_textnet.layers.text_box_head import TextBoxHead

__all__ = ["BiLSTMRecognizer", "ConvAttentionRecognizer", "FeaturePyramid", "RegionProposalHead",
           "TextBoxHead", "build_recognizer"]
