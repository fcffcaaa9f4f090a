"""Dynamic RoI pooling: golden values, the NumPy oracle, gradients, graphs.

The contract of the op: every test runs three times, under the default choice of
implementation (``auto``), with the custom op forced (``custom``; built once per session by
the ``custom_ops`` fixture of conftest.py) and with pure TF forced (``tf``), so that both
implementations meet the same golden values, oracle, gradient and graph tests. The
TFLite/ONNX export test runs under ``auto`` only: exports hold the pure-TF implementation
(a custom op cannot be converted).
"""

import math

import numpy as np
import pooling_oracle as oracle
import pytest
import tensorflow as tf
from harness import tflite_and_onnx

from keras_textnet.ops.custom_op import pooling_implementation
from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling, dynamic_roi_widths

RNG = np.random.default_rng(2019)
IMPLEMENTATIONS = ("auto", "custom", "tf")
_AUTO_ONLY = {"test_converts_to_tflite_builtins_and_onnx"}


def pytest_generate_tests(metafunc):
    """Runs each test under every implementation (the export test under ``auto`` only)."""
    if "implementation" in metafunc.fixturenames:
        names = ("auto",) if metafunc.function.__name__ in _AUTO_ONLY else IMPLEMENTATIONS
        metafunc.parametrize("implementation", names, indirect=True)


@pytest.fixture(autouse=True)
def implementation(request):
    """Forces ``request.param`` around the test; ``auto`` leaves the default choice alone."""
    if request.param == "auto":
        yield request.param
        return
    if request.param == "custom":
        request.getfixturevalue("custom_ops")
    with pooling_implementation(request.param):
        yield request.param


# --- golden values --------------------------------------------------------------------------


def test_golden_ramp_with_clamped_edge():
    # Box (0, 0, 2, 4), Hp 2: w = floor(2 * 4 / 2 + 0.5) = 4 one-pixel bins. With s = 2 and
    # aligned, the samples of bin (r, c) sit at r -/+ 0.25 and c -/+ 0.25; those at -0.25
    # clamp to 0 (row 0 and column 0 average 0.125, not 0) and x = 3.25 clamps to the last
    # column, 3 (column 3 averages 2.875, not 3).
    pooled, widths = dynamic_roi_pooling(oracle.ramp(), [[0.0, 0.0, 2.0, 4.0]], [0],
                                         spatial_scale=1.0, pooled_height=2, max_width=5,
                                         sampling_ratio=2, aligned=True)
    expected = np.array([[0.625, 1.5, 2.5, 3.375, 0.0],
                         [4.125, 5.0, 6.0, 6.875, 0.0]], np.float32)
    assert widths.numpy().tolist() == [4]
    np.testing.assert_allclose(pooled.numpy()[0, :, :, 0], expected, atol=1e-6)


@pytest.mark.parametrize("angle, expected", [(0.0, [9.5, 10.5]),
                                             (math.pi / 2, [12.0, 8.0]),
                                             (-math.pi / 2, [8.0, 12.0])])
def test_golden_rotation_turns_counter_clockwise(angle, expected):
    # Box centred at (y, x) = (2, 2), 2 wide, 1 high: two columns, one sample each at
    # u = -/+0.5 along the text. At +90 degrees the text runs up the screen (y = 2.5, 1.5).
    pooled, widths = dynamic_roi_pooling(oracle.ramp(), [[1.5, 1.0, 2.5, 3.0]], [0], [angle],
                                         spatial_scale=1.0, pooled_height=1, max_width=2,
                                         sampling_ratio=1, aligned=False)
    assert widths.numpy().tolist() == [2]
    np.testing.assert_allclose(pooled.numpy()[0, 0, :, 0], expected, atol=1e-5)


@pytest.mark.parametrize("centre_y, expected", [(-1.2, 0.0), (-0.8, 1.0), (3.6, 13.0),
                                                (4.0, 13.0), (4.2, 0.0)])
def test_golden_edge_rules(centre_y, expected):
    # One sample at (centre_y, 1): 0 beyond [-1, H], clamped to the border row inside.
    box = [[centre_y - 0.5, 0.5, centre_y + 0.5, 1.5]]
    pooled, _ = dynamic_roi_pooling(oracle.ramp(), box, [0], spatial_scale=1.0, pooled_height=1,
                                    max_width=1, sampling_ratio=1, aligned=False)
    np.testing.assert_allclose(pooled.numpy().ravel(), [expected], atol=1e-5)


def test_widths_rule():
    boxes = np.array([[0, 0, 16, 160],     # 8 * 10 = 80
                      [0, 0, 16, 1000],    # 500 -> Wmax 128
                      [0, 0, 16, 1],       # 0.5 -> 1
                      [0, 0, 0.5, 3],      # bh < 1 counts as 1: 24
                      [0, 0, 16, 9],       # 4.5 -> floor(5.0) = 5
                      [0, 10, 16, 0]],     # negative width -> 1
                     np.float32)
    widths = dynamic_roi_widths(tf.constant(boxes), 8, 128).numpy()
    assert widths.tolist() == [80, 128, 1, 24, 5, 1]
    assert widths.tolist() == [oracle.dynamic_width(b, 8, 128) for b in boxes]


# --- the NumPy oracle -----------------------------------------------------------------------

# The first five edge shapes of the GPU check (batch, H, W, C, N, Hp, Wmax, s, scale,
# aligned), with fewer boxes: the oracle is slow.
ORACLE_CASES = [(*shape[:4], num, *shape[5:])
                for shape, num in zip(oracle.pooling_cases.EDGE_SHAPES[:5], (3, 5, 6, 4, 6))]


@pytest.mark.parametrize("case", ORACLE_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_oracle(case, dtype):
    batch, height, width, channels, num, hp, wmax, s, scale, aligned = case
    rng = np.random.default_rng(hash(case) % 2**32)
    features = rng.normal(size=(batch, height, width, channels))
    boxes = oracle.random_boxes(rng, num, height, width, scale)
    boxes[0] = [0.3, 0.2, 0.7, 6.0]  # bh < 1: a thin band, widths grow from bh = 1
    box_indices = rng.integers(0, batch, num)
    angles = np.array([0.0, math.pi / 2, -math.pi / 2, math.pi / 6, -0.4, 2.5])[:num]
    # The op computes coordinates in float32 for float32 features: feed the oracle the
    # same rounded boxes and angles (it then works in float64).
    boxes, angles = boxes.astype(dtype), angles.astype(dtype)
    expected, expected_widths = oracle.dynamic_roi_pooling(
        features, boxes, box_indices, angles, spatial_scale=scale, pooled_height=hp,
        max_width=wmax, sampling_ratio=s, aligned=aligned)
    pooled, widths = dynamic_roi_pooling(
        features.astype(dtype), boxes, box_indices, angles, spatial_scale=scale,
        pooled_height=hp, max_width=wmax, sampling_ratio=s, aligned=aligned)
    assert pooled.dtype == tf.as_dtype(dtype)
    assert widths.dtype == tf.int32
    np.testing.assert_array_equal(widths.numpy(), expected_widths)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(pooled.numpy(), expected, atol=tol, rtol=tol)
    assert np.abs(expected).sum() > 0  # some boxes do sample the map


def test_widths_hit_one_and_max_width():
    features = RNG.normal(size=(1, 6, 6, 2))
    boxes = np.array([[0.0, 0.0, 20.0, 2.0], [1.0, 1.0, 5.0, 60.0]])
    expected, expected_widths = oracle.dynamic_roi_pooling(
        features, boxes, [0, 0], spatial_scale=0.5, pooled_height=4, max_width=8)
    pooled, widths = dynamic_roi_pooling(features, boxes, [0, 0], spatial_scale=0.5,
                                         pooled_height=4, max_width=8)
    assert widths.numpy().tolist() == expected_widths.tolist() == [1, 8]
    np.testing.assert_allclose(pooled.numpy(), expected, atol=1e-10)
    assert np.all(pooled.numpy()[0, :, 1:] == 0.0)


def test_float16_features_keep_float32_coordinates():
    features = RNG.normal(size=(1, 40, 300, 2))
    boxes = np.array([[30.0, 600.0, 90.0, 1100.0]])
    expected, _ = oracle.dynamic_roi_pooling(features, boxes, [0], [0.1], spatial_scale=0.25,
                                             pooled_height=4, max_width=40)
    pooled, _ = dynamic_roi_pooling(tf.constant(features, tf.float16), boxes, [0], [0.1],
                                    spatial_scale=0.25, pooled_height=4, max_width=40)
    assert pooled.dtype == tf.float16
    np.testing.assert_allclose(pooled.numpy().astype(np.float64), expected, atol=2e-2)


def test_rotated_patch_pools_back_to_the_unrotated_one():
    cv2 = pytest.importorskip("cv2")
    size = 96
    y, x = np.mgrid[:size, :size].astype(np.float32)
    # Stripes along x ("characters") with a slow ramp across the line.
    stripes = np.sin(2.0 * np.pi * x / 12.0) + 0.02 * (y - size / 2)
    box = [40.0, 24.0, 56.0, 72.0]  # 48 x 16, centred at (48, 48)
    angle_deg = 30.0
    # Pixel (i, j) holds the value at (i + 0.5, j + 0.5) in continuous coordinates, which is
    # what aligned=True at scale 1 assumes; cv2 rotates about pixel centres, hence 47.5.
    # cv2's positive angle is counter-clockwise on screen, like ours.
    matrix = cv2.getRotationMatrix2D((47.5, 47.5), angle_deg, 1.0)
    rotated = cv2.warpAffine(stripes, matrix, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
    kwargs = dict(spatial_scale=1.0, pooled_height=8, max_width=32, sampling_ratio=2)
    reference, widths = dynamic_roi_pooling(stripes[None, :, :, None], [box], [0], [0.0],
                                            **kwargs)
    assert widths.numpy().tolist() == [24]
    back, _ = dynamic_roi_pooling(rotated[None, :, :, None], [box], [0],
                                  [math.radians(angle_deg)], **kwargs)
    wrong, _ = dynamic_roi_pooling(rotated[None, :, :, None], [box], [0],
                                   [-math.radians(angle_deg)], **kwargs)
    reference = reference.numpy()[0, :, :24, 0]
    assert np.abs(back.numpy()[0, :, :24, 0] - reference).max() < 0.08
    assert np.abs(wrong.numpy()[0, :, :24, 0] - reference).max() > 0.5


# --- shapes, graphs, gradients --------------------------------------------------------------


def test_empty_rois():
    features = tf.zeros([2, 8, 8, 3])
    pooled, widths = dynamic_roi_pooling(features, tf.zeros([0, 4]), tf.zeros([0], tf.int32),
                                         tf.zeros([0]), pooled_height=8, max_width=16)
    assert pooled.shape == (0, 8, 16, 3)
    assert widths.shape == (0,)
    assert widths.dtype == tf.int32


def test_tf_function_with_unknown_num_rois():
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 4], tf.float32),
                                  tf.TensorSpec([None, 4], tf.float32),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32)])
    def pool(features, boxes, box_indices, angles):
        return dynamic_roi_pooling(features, boxes, box_indices, angles, spatial_scale=0.5,
                                   pooled_height=3, max_width=9)

    features = RNG.normal(size=(2, 7, 9, 4)).astype(np.float32)
    concrete = pool.get_concrete_function()
    assert concrete.structured_outputs[0].shape.as_list() == [None, 3, 9, 4]
    for num in (0, 1, 5):
        boxes = oracle.random_boxes(RNG, num, 7, 9, 0.5).astype(np.float32)
        indices = RNG.integers(0, 2, num).astype(np.int32)
        angles = RNG.uniform(-1, 1, num).astype(np.float32)
        pooled, widths = pool(features, boxes, indices, angles)
        expected, expected_widths = oracle.dynamic_roi_pooling(
            features, boxes, indices, angles, spatial_scale=0.5, pooled_height=3, max_width=9)
        assert pooled.shape == (num, 3, 9, 4)
        np.testing.assert_array_equal(widths.numpy(), expected_widths)
        np.testing.assert_allclose(pooled.numpy(), expected, atol=1e-5)


def test_gradient_check_float64():
    features = tf.constant(RNG.normal(size=(2, 3, 4, 2)))
    boxes = tf.constant([[0.5, 0.2, 5.0, 7.0], [-1.0, 1.0, 4.0, 10.0]], tf.float64)
    indices = tf.constant([0, 1])
    angles = tf.constant([0.3, -0.5], tf.float64)

    @tf.function  # compute_gradient calls it ~150 times
    def pool(features):
        return dynamic_roi_pooling(features, boxes, indices, angles, spatial_scale=0.5,
                                   pooled_height=2, max_width=3, sampling_ratio=2)[0]

    theoretical, numerical = tf.test.compute_gradient(pool, [features])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-7)
    assert np.abs(theoretical[0]).sum() > 0


def test_gradient_flows_to_features_only_and_not_from_padding():
    features = tf.constant(RNG.normal(size=(1, 8, 12, 3)).astype(np.float32))
    boxes = tf.constant([[4.0, 4.0, 20.0, 30.0], [0.0, 2.0, 16.0, 50.0]])
    angles = tf.constant([0.2, 0.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([features, boxes, angles])
        pooled, widths = dynamic_roi_pooling(features, boxes, [0, 0], angles,
                                             pooled_height=4, max_width=16)
        padded = tf.range(16)[None, None, :, None] >= widths[:, None, None, None]
        loss_inside = tf.reduce_sum(tf.where(padded, 0.0, pooled) ** 2)
        loss_padding = tf.reduce_sum(tf.where(padded, pooled + 1.0, 0.0))
    assert widths.numpy().tolist() == [7, 12]
    grad = tape.gradient(loss_inside, features)
    assert np.abs(grad.numpy()).sum() > 0
    np.testing.assert_array_equal(tape.gradient(loss_padding, features).numpy(), 0.0)
    assert tape.gradient(loss_inside, boxes) is None
    assert tape.gradient(loss_inside, angles) is None


# --- arguments ------------------------------------------------------------------------------

FEATURES = tf.zeros([1, 4, 4, 2])
BOXES = tf.zeros([1, 4])


@pytest.mark.parametrize("kwargs, message", [
    (dict(pooled_height=0), "pooled_height.*got 0"),
    (dict(max_width=-3), "max_width.*got -3"),
    (dict(sampling_ratio=0), "sampling_ratio.*got 0"),
    (dict(sampling_ratio=1.5), "sampling_ratio.*got 1.5"),
    (dict(pooled_height=True), "pooled_height.*got True"),
    (dict(spatial_scale=0.0), "spatial_scale.*got 0.0"),
    (dict(spatial_scale=-0.25), "spatial_scale.*got -0.25"),
    (dict(spatial_scale=float("nan")), "spatial_scale.*got nan"),
    (dict(spatial_scale="0.25"), "spatial_scale.*got '0.25'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dynamic_roi_pooling(FEATURES, BOXES, [0], **kwargs)


@pytest.mark.parametrize("features, boxes, indices, angles, message", [
    (tf.zeros([4, 4, 2]), BOXES, [0], None, "features.*rank 4"),
    (FEATURES, tf.zeros([1, 5]), [0], None, "boxes.*last dimension of 4"),
    (FEATURES, tf.zeros([4]), [0], None, "boxes.*rank 2"),
    (FEATURES, BOXES, [[0]], None, "box_indices.*rank 1"),
    (FEATURES, BOXES, [0], [[0.0]], "angles.*rank 1"),
    (tf.zeros([1, 4, 4, 2], tf.int32), BOXES, [0], None, "features.*float"),
])
def test_bad_inputs(features, boxes, indices, angles, message):
    with pytest.raises(ValueError, match=message):
        dynamic_roi_pooling(features, boxes, indices, angles)


# --- export ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_converts_to_tflite_builtins_and_onnx(tmp_path):
    class Pool(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2, 12, 16, 3], tf.float32),
                                      tf.TensorSpec([None, 4], tf.float32),
                                      tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None], tf.float32)])
        def serve(self, features, boxes, box_indices, angles):
            pooled, widths = dynamic_roi_pooling(features, boxes, box_indices, angles,
                                                 spatial_scale=0.25, pooled_height=4,
                                                 max_width=16)
            return {"pooled": pooled, "widths": widths}

    # Exports trace the pure-TF pooling (the custom op is neither TFLite nor ONNX).
    with pooling_implementation("tf"):
        module = Pool()
        runner, session = tflite_and_onnx(module, tmp_path)
        onnx_inputs = [item.name for item in session.get_inputs()]
        onnx_outputs = [item.name for item in session.get_outputs()]

        features = RNG.normal(size=(2, 12, 16, 3)).astype(np.float32)
        for num in (5, 0):
            boxes = oracle.random_boxes(RNG, num, 12, 16, 0.25).astype(np.float32)
            inputs = dict(features=features, boxes=boxes,
                          box_indices=RNG.integers(0, 2, num).astype(np.int32),
                          angles=RNG.uniform(-1.0, 1.0, num).astype(np.float32))
            expected = {key: value.numpy() for key, value in module.serve(**inputs).items()}
            lite = runner(**inputs)
            onnx = dict(zip(onnx_outputs,
                            session.run(None, {name: inputs[name] for name in onnx_inputs})))
            for got in (lite, onnx):
                assert got["pooled"].shape == (num, 4, 16, 3)
                np.testing.assert_array_equal(got["widths"], expected["widths"])
                np.testing.assert_allclose(got["pooled"], expected["pooled"], atol=1e-5)
