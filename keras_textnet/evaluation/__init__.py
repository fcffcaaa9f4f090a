"""The ICDAR-style evaluation protocol of DESIGN.md, and line-to-word splitting."""

from keras_textnet.evaluation.line_words import lines_to_words, split_line_into_words
from keras_textnet.evaluation.protocol import EvaluationResult, evaluate, load_predictions

__all__ = ["EvaluationResult", "evaluate", "lines_to_words", "load_predictions",
           "split_line_into_words"]
