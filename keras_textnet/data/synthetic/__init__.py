"""Synthetic documents: fonts, text content, page layouts and degradations."""

from keras_textnet.data.synthetic.fonts import FontError, FontFace, FontLibrary, restrict_to_face
from keras_textnet.data.synthetic.generator import (RenderedWord, SyntheticDocumentGenerator,
                                                    SyntheticPage)
from keras_textnet.data.synthetic.text import CELL_KINDS, TextSampler

__all__ = ["CELL_KINDS", "FontError", "FontFace", "FontLibrary", "RenderedWord",
           "SyntheticDocumentGenerator", "SyntheticPage", "TextSampler", "restrict_to_face"]
