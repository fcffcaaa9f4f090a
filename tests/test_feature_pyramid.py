"""FeaturePyramid: levels, channels, odd-size alignment, the layer harness, saving, TFLite ops."""

import math

import keras
import numpy as np
import pytest
from harness import run_graph_fit_test, run_layer_test

from keras_textnet.layers.feature_pyramid import FeaturePyramid
from keras_textnet.models.backbones import build_backbone


def _features(height, width, channels=(4, 5, 6, 7), batch=1, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"C{level}": rng.normal(
            size=(batch, math.ceil(height / 2**level), math.ceil(width / 2**level), c)
        ).astype("float32")
        for level, c in zip(range(2, 6), channels)
    }


@pytest.mark.parametrize(
    "kwargs, levels",
    [
        ({}, [2, 3]),
        ({"min_level": 3, "max_level": 5}, [3, 4, 5]),
        ({"max_level": 6}, [2, 3, 4, 5, 6]),
        ({"max_level": 6, "use_p6_from": "C5"}, [2, 3, 4, 5, 6]),
        ({"max_level": 4, "backbone_max_level": 4}, [2, 3, 4]),
        ({"min_level": 5, "max_level": 5}, [5]),
    ],
)
@pytest.mark.parametrize("size", [(64, 96), (70, 90)])
def test_levels_channels_and_sizes(kwargs, levels, size):
    layer = FeaturePyramid(channels=16, **kwargs)
    outputs = layer(_features(*size))
    assert sorted(outputs) == [f"P{level}" for level in levels]
    for level in levels:
        expected = (1, math.ceil(size[0] / 2**level), math.ceil(size[1] / 2**level), 16)
        assert tuple(outputs[f"P{level}"].shape) == expected
    symbolic = layer.compute_output_shape({k: v.shape for k, v in _features(*size).items()})
    assert {k: tuple(v) for k, v in symbolic.items()} == {
        k: tuple(v.shape) for k, v in outputs.items()
    }


def _identity_pyramid(min_level=2, backbone_max_level=5):
    """One channel: laterals and output convs are identities, so P_l is the top-down sum."""
    layer = FeaturePyramid(
        min_level=min_level,
        max_level=backbone_max_level,
        backbone_max_level=backbone_max_level,
        channels=1,
    )
    layer.build({f"C{level}": (None, None, None, 1) for level in range(2, 6)})
    for conv in layer.lateral_convs:
        conv.set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros((1,), "float32")])
    center = np.zeros((3, 3, 1, 1), "float32")
    center[1, 1] = 1.0
    for conv in layer.output_convs:
        conv.set_weights([center, np.zeros((1,), "float32")])
    return layer


def _top_down_oracle(features, min_level, max_level):
    merged = {max_level: features[f"C{max_level}"]}
    for level in range(max_level - 1, min_level - 1, -1):
        lateral = features[f"C{level}"]
        up = np.repeat(np.repeat(merged[level + 1], 2, axis=1), 2, axis=2)
        merged[level] = lateral + up[:, : lateral.shape[1], : lateral.shape[2]]
    return merged


@pytest.mark.parametrize("size", [(64, 96), (70, 90), (33, 65), (1, 1)])
def test_top_down_alignment_matches_numpy_oracle(size):
    features = _features(*size, channels=(1, 1, 1, 1), batch=2)
    layer = _identity_pyramid()
    outputs = layer(features)
    oracle = _top_down_oracle(features, 2, 5)
    for level in range(2, 6):
        np.testing.assert_allclose(np.asarray(outputs[f"P{level}"]), oracle[level], atol=1e-5)


def test_alignment_inside_tf_function_with_unknown_sizes():
    import tensorflow as tf

    layer = _identity_pyramid()
    spec = {f"C{level}": tf.TensorSpec((None, None, None, 1)) for level in range(2, 6)}
    traced = tf.function(layer.call, input_signature=[spec])
    features = _features(70, 90, channels=(1, 1, 1, 1))
    outputs = traced(features)
    oracle = _top_down_oracle(features, 2, 5)
    np.testing.assert_allclose(outputs["P2"].numpy(), oracle[2], atol=1e-5)


def test_p6_sources():
    features = _features(64, 96)
    from_p5 = FeaturePyramid(max_level=6, channels=8)
    from_c5 = FeaturePyramid(max_level=6, channels=8, use_p6_from="C5")
    from_p5(features)
    from_c5(features)
    assert tuple(from_p5.p6_conv.kernel.shape) == (3, 3, 8, 8)
    assert tuple(from_c5.p6_conv.kernel.shape) == (3, 3, 7, 8)


def test_only_needed_inputs_are_read():
    features = _features(64, 96)
    del features["C2"]
    outputs = FeaturePyramid(min_level=3, max_level=4, channels=8)(features)
    assert sorted(outputs) == ["P3", "P4"]


def test_missing_input_level_is_reported():
    features = _features(64, 96)
    del features["C4"]
    with pytest.raises(ValueError, match="missing \\['C4'\\]"):
        FeaturePyramid()(features)


def test_non_dict_input_is_reported():
    with pytest.raises(TypeError, match="must be a dict"):
        FeaturePyramid()(np.zeros((1, 16, 16, 4), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_level": 1}, "min_level=1"),
        ({"min_level": 2.0}, "min_level=2.0"),
        ({"max_level": 7}, "max_level=7"),
        ({"min_level": 3, "max_level": 2}, "max_level=2"),
        ({"max_level": 5, "backbone_max_level": 4}, "max_level=5, backbone_max_level=4"),
        ({"max_level": 6, "backbone_max_level": 4}, "max_level=6, backbone_max_level=4"),
        ({"backbone_max_level": 6}, "backbone_max_level=6"),
        ({"channels": 0}, "channels=0"),
        ({"channels": True}, "channels=True"),
        ({"use_p6_from": "P4"}, "use_p6_from='P4'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeaturePyramid(**kwargs)


def test_get_config_holds_every_argument_and_round_trips():
    kwargs = {
        "min_level": 3,
        "max_level": 6,
        "channels": 24,
        "backbone_max_level": 5,
        "use_p6_from": "C5",
        "kernel_initializer": "he_normal",
        "kernel_regularizer": keras.regularizers.L2(1e-4),
        "name": "fpn",
    }
    layer = FeaturePyramid(**kwargs)
    config = layer.get_config()
    for key in ("min_level", "max_level", "channels", "backbone_max_level", "use_p6_from", "name"):
        assert config[key] == kwargs[key], key
    assert config["kernel_initializer"]["class_name"] == "HeNormal"
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["kernel_regularizer"]["config"]["l2"] == pytest.approx(1e-4)
    clone = FeaturePyramid.from_config(config)
    assert clone.get_config() == config
    clone(_features(64, 96))
    assert isinstance(clone.lateral_convs[0].kernel_initializer, keras.initializers.HeNormal)
    assert len(clone.losses) == len(clone.lateral_convs) + len(clone.output_convs) + 1


# Every argument off its default; a 32 x 32 page at batch 2 (C5 is 1 x 1, P6 from C5 too).
HARNESS_KWARGS = {
    "min_level": 2,
    "max_level": 6,
    "channels": 4,
    "backbone_max_level": 5,
    "use_p6_from": "C5",
    "kernel_initializer": "he_normal",
    "kernel_regularizer": keras.regularizers.L2(1e-4),
    "name": "fpn",
}


def test_passes_the_layer_harness(tmp_path):
    run_layer_test(
        FeaturePyramid, HARNESS_KWARGS, (_features(32, 32, channels=(3, 3, 3, 3), batch=2),),
        tmp_path=tmp_path,
        expected_output_shape={f"P{level}": (2, max(32 // 2**level, 1), max(32 // 2**level, 1), 4)
                               for level in range(2, 7)})


@pytest.mark.slow
def test_one_fit_step_in_a_graph():
    run_graph_fit_test(FeaturePyramid, HARNESS_KWARGS,
                       (_features(32, 32, channels=(3, 3, 3, 3), batch=2),))


def test_defaults_are_the_papers_levels():
    config = FeaturePyramid().get_config()
    assert (config["min_level"], config["max_level"], config["channels"]) == (2, 3, 128)


def test_saved_model_with_backbone_round_trips(tmp_path):
    images = keras.Input((None, None, 3), name="images")
    features = FeaturePyramid(channels=16, name="fpn")(build_backbone("tiny")(images))
    model = keras.Model(images, features)
    pixels = np.random.default_rng(3).uniform(0, 255, (1, 70, 90, 3)).astype("float32")
    before = model(pixels)
    path = tmp_path / "fpn.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.get_layer("fpn"), FeaturePyramid)
    after = restored(pixels)
    assert sorted(after) == ["P2", "P3"]
    for key in before:
        np.testing.assert_array_equal(np.asarray(after[key]), np.asarray(before[key]))


def test_trains_and_propagates_gradients_to_every_input_level():
    import tensorflow as tf

    layer = FeaturePyramid(channels=8)
    features = {k: tf.constant(v) for k, v in _features(70, 90).items()}
    with tf.GradientTape() as tape:
        tape.watch(features)
        outputs = layer(features)
        loss = tf.add_n([tf.reduce_sum(tf.square(v)) for v in outputs.values()])
    grads = tape.gradient(loss, [features[f"C{level}"] for level in range(2, 6)])
    for grad in grads:
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_mixed_precision_policy():
    layer = FeaturePyramid(channels=8, dtype="mixed_float16")
    outputs = layer({k: v.astype("float16") for k, v in _features(64, 96).items()})
    assert all(v.dtype == "float16" for v in outputs.values())
    assert layer.lateral_convs[0].kernel.dtype == "float32"


@pytest.mark.parametrize(
    "size, expected",
    [
        ((96, 128), {"CONV_2D", "ADD", "MUL", "RESIZE_NEAREST_NEIGHBOR"}),
        ((70, 90), {"CONV_2D", "ADD", "MUL", "RESIZE_NEAREST_NEIGHBOR", "STRIDED_SLICE"}),
    ],
)
def test_tflite_ops_with_tiny_backbone(tmp_path, size, expected):
    """A multiple-of-32 input needs no crop; an odd one adds a STRIDED_SLICE (delegable)."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    images = keras.Input((None, None, 3))
    model = keras.Model(images, FeaturePyramid(channels=16)(build_backbone("tiny")(images)))
    export_dir = str(tmp_path / "saved_model")
    model.export(
        export_dir,
        format="tf_saved_model",
        input_signature=[keras.InputSpec(shape=(1, *size, 3), dtype="float32")],
        verbose=False,
    )
    interpreter = Interpreter(
        model_content=tf.lite.TFLiteConverter.from_saved_model(export_dir).convert()
    )
    assert {op["op_name"] for op in interpreter._get_ops_details()} == expected
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    (input_name,) = runner.get_input_details()
    pixels = np.random.default_rng(4).uniform(0, 255, (1, *size, 3)).astype("float32")
    got = runner(**{input_name: pixels})
    want = model(pixels)
    for key in want:
        np.testing.assert_allclose(got[key], np.asarray(want[key]), atol=1e-4)
