import doctest
import math

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.ops import anchors as anchors_module
from keras_textnet.ops.anchors import (
    DEFAULT_ASPECT_RATIOS,
    DEFAULT_HEIGHTS,
    anchor_coverage,
    anchors_per_location,
    feature_map_sizes,
    generate_anchors,
    num_anchors,
)


def test_docstring_examples():
    failures, _ = doctest.testmod(anchors_module)
    assert failures == 0


def test_counts_for_odd_image_size():
    size = (37, 50)
    assert feature_map_sizes(size, (4, 8)) == [(10, 13), (5, 7)]
    k = anchors_per_location()
    assert k == len(DEFAULT_HEIGHTS[0]) * len(DEFAULT_ASPECT_RATIOS) == 12
    anchors = generate_anchors(size)
    assert anchors.shape == ((10 * 13 + 5 * 7) * k, 4)
    assert num_anchors(size) == anchors.shape[0]
    assert anchors.dtype == tf.float32


def test_order_is_level_row_column_height_ratio():
    size = (37, 50)
    strides = (4, 8)
    heights = ((8.0, 12.0), (20.0, 30.0))
    ratios = (1.0, 3.0, 9.0)
    anchors = generate_anchors(size, strides, heights, ratios).numpy()
    index = 0
    for stride, level_heights in zip(strides, heights):
        rows, cols = math.ceil(size[0] / stride), math.ceil(size[1] / stride)
        for i in range(rows):
            for j in range(cols):
                for h in level_heights:
                    for r in ratios:
                        y0, x0, y1, x1 = anchors[index]
                        assert (y0 + y1) / 2 == pytest.approx((i + 0.5) * stride)
                        assert (x0 + x1) / 2 == pytest.approx((j + 0.5) * stride)
                        assert y1 - y0 == pytest.approx(h)
                        assert x1 - x0 == pytest.approx(h * r)
                        index += 1
    assert index == len(anchors)


def test_dynamic_image_size_in_tf_function():
    fn = tf.function(lambda h, w: generate_anchors((h, w)),
                     input_signature=[tf.TensorSpec([], tf.int32)] * 2)
    dynamic = fn(tf.constant(37), tf.constant(50))
    np.testing.assert_allclose(dynamic, generate_anchors((37, 50)))


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="same non-zero number"):
        generate_anchors((32, 32), heights=((8.0, 12.0), (20.0,)))
    with pytest.raises(ValueError, match="one tuple of anchor heights per stride"):
        generate_anchors((32, 32), strides=(4, 8, 16))
    with pytest.raises(ValueError, match="aspect_ratios"):
        generate_anchors((32, 32), aspect_ratios=(1.0, -2.0))
    with pytest.raises(ValueError, match="strides"):
        generate_anchors((32, 32), strides=(4.5, 8))


def _synthetic_lines(n, seed=0, size=512):
    rng = np.random.default_rng(seed)
    h = rng.uniform(10, 60, n)
    w = rng.uniform(20, 500, n)
    y0 = rng.uniform(0, size - h)
    x0 = rng.uniform(0, size - w)
    return np.stack([y0, x0, y0 + h, x0 + w], axis=1)


def test_default_anchors_cover_synthetic_text_lines():
    """Heights 10..60 px, widths 20..500 px on 512x512: measured 99.6% at IoU 0.5."""
    report = anchor_coverage(_synthetic_lines(500), generate_anchors((512, 512)))
    assert report["best_iou"].shape == (500,)
    assert report["fraction_at_least"][0.5] >= 0.95
    assert report["fraction_at_least"][0.3] == 1.0
    assert report["quantiles"][0.05] >= 0.5


def test_coverage_report_on_exact_anchor():
    anchors = generate_anchors((64, 64), strides=(8,), heights=((16.0,),), aspect_ratios=(2.0,))
    report = anchor_coverage(anchors[:3], anchors)
    np.testing.assert_allclose(report["best_iou"], 1.0)
    assert report["fraction_at_least"] == {0.3: 1.0, 0.5: 1.0, 0.7: 1.0}
    empty = anchor_coverage(np.zeros((0, 4)), anchors)
    assert empty["best_iou"].shape == (0,)
