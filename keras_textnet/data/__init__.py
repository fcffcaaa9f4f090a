"""Data: annotation records, readers, synthetic documents, PDF rendering, tf.data."""

from keras_textnet.data.annotation import (AnnotationError, AnnotationSet, ImageRecord, Line,
                                           Word, boxes_xyxy_to_yxyx)

__all__ = ["AnnotationError", "AnnotationSet", "ImageRecord", "Line", "Word",
           "boxes_xyxy_to_yxyx"]
