"""TextBoxHead: the layer harness, the docstring example, angles off, bad arguments."""

import doctest

import numpy as np
import pytest
from harness import run_graph_fit_test, run_layer_test

from keras_textnet.layers import text_box_head as head_module
from keras_textnet.layers.text_box_head import TextBoxHead

# Every argument off its default; 3 RoIs of 2 x 6 cells, 4 channels.
KWARGS = {"conv_filters": 4, "fc_units": 8, "predict_angle": True, "name": "box_head"}
ROI_FEATURES = np.random.default_rng(0).normal(size=(3, 2, 6, 4)).astype("float32")


def test_passes_the_layer_harness(tmp_path):
    """Config, serialization, symbolic call, .keras save and load, one fit step (the
    angle, whose kernel starts at zero, trains too), mixed precision, the dtype argument."""
    run_layer_test(TextBoxHead, KWARGS, (ROI_FEATURES,), tmp_path=tmp_path,
                   expected_output_shape={"angles": (3,), "box_deltas": (3, 4),
                                          "class_logits": (3,)},
                   expected_output_dtype={"angles": "float32", "box_deltas": "float32",
                                          "class_logits": "float32"})


@pytest.mark.slow
def test_one_fit_step_in_a_graph():
    run_graph_fit_test(TextBoxHead, KWARGS, (ROI_FEATURES,))


def test_docstring_example():
    failures, _ = doctest.testmod(head_module)
    assert failures == 0


def test_without_angles_the_angles_are_zero():
    head = TextBoxHead(conv_filters=4, fc_units=8, predict_angle=False)
    head(ROI_FEATURES)
    head.angle.set_weights([np.ones((8, 1), "float32"), np.ones((1,), "float32")])
    out = head(ROI_FEATURES)
    np.testing.assert_array_equal(out["angles"].numpy(), np.zeros(3, "float32"))
    assert TextBoxHead(**{**head.get_config(), "name": "again"}).predict_angle is False


@pytest.mark.parametrize("kwargs", [{"conv_filters": 0}, {"fc_units": 2.5},
                                    {"conv_filters": "8"}])
def test_bad_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} must be a positive integer; received"):
        TextBoxHead(**kwargs)


def test_unknown_pooled_size_is_rejected():
    with pytest.raises(ValueError, match="static pooled sizes and channels"):
        TextBoxHead().build((None, 4, None, 64))
