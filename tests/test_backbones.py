"""Backbones: C2..C5 shapes and strides, channels, parameter counts, TFLite op set."""

import math

import keras
import numpy as np
import pytest

from keras_textnet.models import backbones
from keras_textnet.models.backbones import BACKBONES, build_backbone

# Channels of C2..C5 at each preset's default arguments.
EXPECTED_CHANNELS = {
    "tiny": (16, 32, 48, 64),
    "mobilenet": (96, 96, 288, 1280),
    "densenet_shallow": (192, 288, 400, 392),
    "resnet50": (256, 512, 1024, 2048),
}
EXPECTED_PARAMS = {
    "tiny": 119_280,
    "mobilenet": 706_224,
    "densenet_shallow": 1_742_304,
    "resnet50": 23_587_712,
}
STRIDES = {"C2": 4, "C3": 8, "C4": 16, "C5": 32}

# Ops a mobile GPU delegate runs (the brief's allow-list).
DELEGATE_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "ADD",
    "PAD",
    "RELU6",
    "RELU",
    "MUL",
    "CONCATENATION",
    "RESIZE_NEAREST_NEIGHBOR",
    "RESIZE_BILINEAR",
    "MEAN",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "QUANTIZE",
    "DEQUANTIZE",
}


@pytest.fixture(scope="module")
def built():
    """One instance of each light preset, built once for the module."""
    return {name: build_backbone(name) for name in ("tiny", "mobilenet", "densenet_shallow")}


def _expected_shapes(name, height, width, batch=1):
    return {
        level: (
            batch,
            math.ceil(height / stride),
            math.ceil(width / stride),
            EXPECTED_CHANNELS[name][i],
        )
        for i, (level, stride) in enumerate(STRIDES.items())
    }


def test_registry_names():
    assert set(BACKBONES) == {"resnet50", "densenet_shallow", "mobilenet", "tiny"}


@pytest.mark.parametrize("name", ["tiny", "mobilenet", "densenet_shallow"])
@pytest.mark.parametrize("size", [(64, 96), (70, 90)])
def test_levels_shapes_and_strides(built, name, size):
    model = built[name]
    images = np.random.default_rng(0).uniform(0, 255, (2, *size, 3)).astype("float32")
    features = model(images)
    assert set(features) == set(STRIDES)
    assert {k: tuple(v.shape) for k, v in features.items()} == _expected_shapes(
        name, *size, batch=2
    )
    for value in features.values():
        assert np.all(np.isfinite(np.asarray(value)))


@pytest.mark.parametrize("name", ["tiny", "mobilenet", "densenet_shallow"])
def test_parameter_counts_and_symbolic_channels(built, name):
    model = built[name]
    assert model.count_params() == EXPECTED_PARAMS[name]
    symbolic = {k: tuple(v.shape) for k, v in model.output.items()}
    assert symbolic == {
        level: (None, None, None, c) for level, c in zip(STRIDES, EXPECTED_CHANNELS[name])
    }


def test_tiny_is_small(built):
    assert built["tiny"].count_params() < 200_000


def test_resnet50_forward_on_tiny_input():
    model = build_backbone("resnet50")
    assert model.count_params() == EXPECTED_PARAMS["resnet50"]
    features = model(np.full((1, 40, 72, 3), 128.0, "float32"))
    assert {k: tuple(v.shape) for k, v in features.items()} == _expected_shapes("resnet50", 40, 72)


def test_mobilenet_matches_keras_applications_parameters():
    reference = keras.applications.MobileNetV2(
        alpha=0.75, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    ours = build_backbone("mobilenet", alpha=0.75)
    assert ours.count_params() == reference.count_params()


def test_mobilenet_block_taps():
    model = build_backbone("mobilenet", taps="block", input_shape=(64, 96, 3))
    assert {k: tuple(v.shape) for k, v in model.output.items()} == {
        "C2": (None, 16, 24, 16),
        "C3": (None, 8, 12, 16),
        "C4": (None, 4, 6, 48),
        "C5": (None, 2, 3, 1280),
    }


def test_normalization_is_inside_the_model(built):
    for model in built.values():
        rescaling = model.get_layer("normalize")
        assert isinstance(rescaling, keras.layers.Rescaling)
        assert model.inputs[0].dtype == "float32"
        np.testing.assert_allclose(
            np.asarray(rescaling(np.array([[0.0, 127.5, 255.0]], "float32"))), [[-1, 0, 1]]
        )


def test_width_kwargs():
    tiny = build_backbone("tiny", widths=(8, 8, 16, 16), stem_channels=8)
    assert [v.shape[-1] for v in tiny.output.values()] == [8, 8, 16, 16]
    dense = build_backbone("densenet_shallow", block_layers=(1, 2, 2, 1), growth_rate=8)
    # stem 16; 16+8=24; 12+16=28; 14+16=30; 15+8=23
    assert [dense.output[k].shape[-1] for k in STRIDES] == [24, 28, 30, 23]


def test_fixed_input_shape():
    model = build_backbone("tiny", input_shape=(64, 96, 3))
    assert tuple(model.output["C5"].shape) == (None, 2, 3, 64)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("vgg", {}, "Unknown backbone 'vgg'"),
        ("tiny", {"input_shape": (64, 64)}, "input_shape=\\(64, 64\\)"),
        ("tiny", {"input_shape": (64, 64, 1)}, "input_shape"),
        ("tiny", {"input_shape": (0, 64, 3)}, "input_shape"),
        ("tiny", {"widths": (16, 32, 48)}, "widths"),
        ("mobilenet", {"alpha": 0.6}, "alpha=0.6"),
        ("mobilenet", {"taps": "outputs"}, "taps='outputs'"),
        ("densenet_shallow", {"block_layers": (4, 6, 8)}, "block_layers"),
        ("densenet_shallow", {"compression": 0.0}, "compression=0.0"),
        ("densenet_shallow", {"growth_rate": 0}, "growth_rate=0"),
    ],
)
def test_bad_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_backbone(name, **kwargs)


def tflite_ops(model, shape, tmp_path):
    """Converts ``model`` at a fixed input shape; returns (op names, interpreter)."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    export_dir = str(tmp_path / "saved_model")
    model.export(
        export_dir,
        format="tf_saved_model",
        input_signature=[keras.InputSpec(shape=shape, dtype="float32")],
        verbose=False,
    )
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(export_dir).convert()
    interpreter = Interpreter(model_content=flatbuffer)
    return {op["op_name"] for op in interpreter._get_ops_details()}, interpreter


# The default suite converts the tiny backbone; the larger ones (a conversion
# takes 3 to 9 s each) run with `-m slow`.
@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        ("tiny", {}, {"CONV_2D", "ADD", "MUL"}),
        pytest.param("mobilenet", {}, {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL"},
                     marks=pytest.mark.slow),
        pytest.param(
            "densenet_shallow",
            {"block_layers": (1, 1, 1, 1), "growth_rate": 8},
            {"CONV_2D", "ADD", "MUL", "CONCATENATION", "MAX_POOL_2D", "AVERAGE_POOL_2D"},
            marks=pytest.mark.slow,
        ),
    ],
)
def test_tflite_ops_are_gpu_delegate_friendly(tmp_path, name, kwargs, expected):
    model = build_backbone(name, **kwargs)
    ops, interpreter = tflite_ops(model, (1, 96, 128, 3), tmp_path)
    assert ops <= DELEGATE_OPS
    assert ops == expected
    # The converted model computes what Keras computes (no silent NaNs).
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    (input_name,) = runner.get_input_details()
    images = np.random.default_rng(1).uniform(0, 255, (1, 96, 128, 3)).astype("float32")
    got = runner(**{input_name: images})
    want = model(images)
    assert set(got) == set(want)
    for key in want:
        reference = np.asarray(want[key])
        scale = float(np.max(np.abs(reference))) + 1e-12
        np.testing.assert_allclose(got[key], reference, atol=1e-4 * scale, rtol=0)


def test_module_docstring_table_matches():
    doc = backbones.__doc__
    for name, count in EXPECTED_PARAMS.items():
        assert f"{count:,}" in doc, name
