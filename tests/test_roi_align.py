"""RoIAlign and multi-level RoIAlign: golden values, the NumPy oracle, gradients, graphs."""

import numpy as np
import pooling_oracle as oracle
import pytest
import tensorflow as tf
from harness import tflite_and_onnx

from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling
from keras_textnet.ops.roi_align import assign_pyramid_levels, multilevel_roi_align, roi_align

RNG = np.random.default_rng(1906)


@pytest.mark.parametrize("aligned, expected", [(False, [[7.5, 8.5], [11.5, 12.5]]),
                                               (True, [[5.0, 6.0], [9.0, 10.0]])])
def test_golden_half_pixel_offset(aligned, expected):
    # Box (1, 1, 3, 3) in 2 x 2 one-pixel bins, one sample at each bin centre
    # (1.5 or 2.5), minus 0.5 when aligned.
    pooled = roi_align(oracle.ramp(), [[1.0, 1.0, 3.0, 3.0]], [0], output_size=(2, 2),
                       spatial_scale=1.0, sampling_ratio=1, aligned=aligned)
    np.testing.assert_allclose(pooled.numpy()[0, :, :, 0], expected, atol=1e-6)


def test_golden_two_samples_and_the_clamped_border():
    # Box (0, 0, 4, 4), 2 x 2 bins of 2 px, samples at 0.5 and 1.5 (bin 0) or 2.5 and 3.5
    # (bin 1); 3.5 lies in (H - 1, H] and reads the last row/column, 3.
    pooled = roi_align(oracle.ramp(), [[0.0, 0.0, 4.0, 4.0]], [0], output_size=(2, 2),
                       spatial_scale=1.0, sampling_ratio=2, aligned=False)
    expected = [[4 * 1.0 + 1.0, 4 * 1.0 + 2.75], [4 * 2.75 + 1.0, 4 * 2.75 + 2.75]]
    np.testing.assert_allclose(pooled.numpy()[0, :, :, 0], expected, atol=1e-6)


def test_golden_spatial_scale():
    # The same box at stride 4: (4, 4, 12, 12) in input pixels.
    pooled = roi_align(oracle.ramp(), [[4.0, 4.0, 12.0, 12.0]], [0], output_size=(2, 2),
                       spatial_scale=0.25, sampling_ratio=1, aligned=False)
    np.testing.assert_allclose(pooled.numpy()[0, :, :, 0], [[7.5, 8.5], [11.5, 12.5]],
                               atol=1e-6)


CASES = [
    # batch, H, W, C, N, (ph, pw), s, scale, aligned
    (1, 5, 7, 1, 3, (2, 3), 1, 1.0, True),
    (2, 6, 9, 3, 5, (4, 6), 2, 0.5, False),
    (3, 4, 4, 2, 6, (3, 3), 3, 0.25, True),
    (2, 9, 5, 2, 4, (1, 8), 2, 0.125, False),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_oracle(case, dtype):
    batch, height, width, channels, num, size, s, scale, aligned = case
    rng = np.random.default_rng(hash(case) % 2**32)
    features = rng.normal(size=(batch, height, width, channels))
    boxes = oracle.random_boxes(rng, num, height, width, scale, width_ratio=1.2).astype(dtype)
    boxes[0] = [0.1, 0.3, 0.6, 0.9]  # smaller than a feature pixel: not enlarged
    box_indices = rng.integers(0, batch, num)
    expected = oracle.roi_align(features, boxes, box_indices, output_size=size,
                                spatial_scale=scale, sampling_ratio=s, aligned=aligned)
    pooled = roi_align(features.astype(dtype), boxes, box_indices, output_size=size,
                       spatial_scale=scale, sampling_ratio=s, aligned=aligned)
    assert pooled.dtype == tf.as_dtype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(pooled.numpy(), expected, atol=tol, rtol=tol)


def test_equals_dynamic_pooling_at_angle_zero_when_widths_match():
    features = RNG.normal(size=(2, 12, 20, 3)).astype(np.float32)
    # Hp * bw / bh = 4 * 30 / 10 = 12 = pw for both boxes.
    boxes = np.array([[2.0, 3.0, 12.0, 33.0], [-3.0, 40.0, 7.0, 70.0]], np.float32)
    kwargs = dict(spatial_scale=0.5, sampling_ratio=2, aligned=True)
    aligned = roi_align(features, boxes, [0, 1], output_size=(4, 12), **kwargs)
    pooled, widths = dynamic_roi_pooling(features, boxes, [0, 1], [0.0, 0.0], pooled_height=4,
                                         max_width=12, **kwargs)
    assert widths.numpy().tolist() == [12, 12]
    np.testing.assert_allclose(aligned.numpy(), pooled.numpy(), atol=1e-6)


def test_empty_rois_and_int_output_size():
    pooled = roi_align(tf.zeros([2, 8, 8, 3]), tf.zeros([0, 4]), tf.zeros([0], tf.int32),
                       output_size=5)
    assert pooled.shape == (0, 5, 5, 3)


def test_tf_function_with_unknown_num_rois():
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2], tf.float32),
                                  tf.TensorSpec([None, 4], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def pool(features, boxes, box_indices):
        return roi_align(features, boxes, box_indices, output_size=(2, 5), spatial_scale=0.5)

    features = RNG.normal(size=(2, 6, 10, 2)).astype(np.float32)
    for num in (0, 4):
        boxes = oracle.random_boxes(RNG, num, 6, 10, 0.5, width_ratio=1.2).astype(np.float32)
        indices = RNG.integers(0, 2, num).astype(np.int32)
        expected = oracle.roi_align(features, boxes, indices, output_size=(2, 5),
                                    spatial_scale=0.5)
        pooled = pool(features, boxes, indices)
        assert pooled.shape == (num, 2, 5, 2)
        np.testing.assert_allclose(pooled.numpy(), expected, atol=1e-5)


def test_gradient_check_float64():
    features = tf.constant(RNG.normal(size=(2, 3, 4, 2)))
    boxes = tf.constant([[0.5, 0.2, 5.0, 7.0], [-1.0, 1.0, 4.0, 10.0]], tf.float64)

    @tf.function
    def pool(features):
        return roi_align(features, boxes, [1, 0], output_size=(2, 2), spatial_scale=0.5)

    theoretical, numerical = tf.test.compute_gradient(pool, [features])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-7)
    assert np.abs(theoretical[0]).sum() > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(output_size=(0, 3)), r"output_size.*got \(0, 3\)"),
    (dict(output_size=(1, 2, 3)), r"output_size.*got \(1, 2, 3\)"),
    (dict(output_size=2.5), "output_size.*got 2.5"),
    (dict(sampling_ratio=0), "sampling_ratio.*got 0"),
    (dict(spatial_scale=-1), "spatial_scale.*got -1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        roi_align(tf.zeros([1, 4, 4, 1]), tf.zeros([1, 4]), [0], **kwargs)


# --- pyramid levels -------------------------------------------------------------------------


def test_assign_pyramid_levels():
    boxes = tf.constant([[0, 0, 16, 256],    # sqrt(area) 64 -> P3
                         [0, 0, 8, 128],     # 32 -> P2
                         [0, 0, 32, 512],    # 128 -> P4
                         [0, 0, 16, 255],    # just under 64 -> P2
                         [0, 0, 64, 4096],   # 512 -> P6 -> nearest available, P4
                         [0, 0, 0, 0]],      # empty -> the finest
                        tf.float32)
    assert assign_pyramid_levels(boxes, [2, 3, 4]).numpy().tolist() == [1, 0, 2, 0, 2, 0]
    # A gap: only P2 and P4; a P3 box is as near to both and goes to the finer.
    assert assign_pyramid_levels(boxes[:1], [2, 4]).numpy().tolist() == [0]
    assert assign_pyramid_levels(boxes[:3], [3], canonical_size=32.0).numpy().tolist() == [0] * 3


def test_multilevel_selects_each_box_level():
    maps = {"P2": tf.constant(RNG.normal(size=(2, 16, 16, 3)).astype(np.float32)),
            "P3": tf.constant(RNG.normal(size=(2, 8, 8, 3)).astype(np.float32))}
    strides = {"P2": 4, "P3": 8}
    boxes = tf.constant([[4.0, 4.0, 12.0, 60.0],      # sqrt(8 * 56) ~ 21 -> P2
                         [0.0, 0.0, 24.0, 200.0],    # ~69 -> P3
                         [30.0, 10.0, 50.0, 50.0]])  # ~28 -> P2
    indices = tf.constant([0, 1, 1])
    pooled = multilevel_roi_align(maps, strides, boxes, indices, output_size=(2, 6))
    p2 = roi_align(maps["P2"], boxes, indices, output_size=(2, 6), spatial_scale=0.25)
    p3 = roi_align(maps["P3"], boxes, indices, output_size=(2, 6), spatial_scale=0.125)
    np.testing.assert_allclose(pooled.numpy()[[0, 2]], p2.numpy()[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(pooled.numpy()[1], p3.numpy()[1], atol=1e-6)
    empty = multilevel_roi_align(maps, strides, tf.zeros([0, 4]), tf.zeros([0], tf.int32),
                                 output_size=(2, 6))
    assert empty.shape == (0, 2, 6, 3)


@pytest.mark.parametrize("strides, message", [
    ({"P2": 4, "P3": 6}, "power of two.*got 6"),
    ({"P2": 4}, "keys of `feature_maps`"),
    ({"P2": 4, "P3": 4}, "distinct"),
])
def test_multilevel_bad_strides(strides, message):
    maps = {"P2": tf.zeros([1, 8, 8, 1]), "P3": tf.zeros([1, 4, 4, 1])}
    with pytest.raises(ValueError, match=message):
        multilevel_roi_align(maps, strides, tf.zeros([1, 4]), [0])


@pytest.mark.slow
def test_converts_to_tflite_builtins_and_onnx(tmp_path):
    class Pool(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2, 16, 16, 3], tf.float32),
                                      tf.TensorSpec([2, 8, 8, 3], tf.float32),
                                      tf.TensorSpec([None, 4], tf.float32),
                                      tf.TensorSpec([None], tf.int32)])
        def serve(self, p2, p3, boxes, box_indices):
            return {"pooled": multilevel_roi_align({"P2": p2, "P3": p3}, {"P2": 4, "P3": 8},
                                                   boxes, box_indices, output_size=(2, 6))}

    module = Pool()
    runner, session = tflite_and_onnx(module, tmp_path)
    onnx_inputs = [item.name for item in session.get_inputs()]

    maps = dict(p2=RNG.normal(size=(2, 16, 16, 3)).astype(np.float32),
                p3=RNG.normal(size=(2, 8, 8, 3)).astype(np.float32))
    for num in (6, 0):
        boxes = oracle.random_boxes(RNG, num, 16, 16, 0.25, width_ratio=1.2)
        inputs = dict(maps, boxes=boxes.astype(np.float32),
                      box_indices=RNG.integers(0, 2, num).astype(np.int32))
        expected = module.serve(**inputs)["pooled"].numpy()
        lite = runner(**inputs)["pooled"]
        (onnx,) = session.run(None, {name: inputs[name] for name in onnx_inputs})
        for got in (lite, onnx):
            assert got.shape == (num, 2, 6, 3)
            np.testing.assert_allclose(got, expected, atol=1e-5)
