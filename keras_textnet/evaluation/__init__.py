"""The ICDAR-style evaluation protocol of docs/evaluation.md, line-to-word splitting, and the
recognizer read on ground-truth line boxes."""

from keras_textnet.evaluation.line_words import lines_to_words, split_line_into_words
from keras_textnet.evaluation.protocol import EvaluationResult, evaluate, load_predictions
from keras_textnet.evaluation.recognition import LineReadCounts, read_gt_lines, read_lines

__all__ = ["EvaluationResult", "LineReadCounts", "evaluate", "lines_to_words",
           "load_predictions", "read_gt_lines", "read_lines", "split_line_into_words"]
