import math

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.ops import box_ops


def _random_boxes(rng, shape, size=100.0):
    y = np.sort(rng.uniform(0, size, shape + (2,)), axis=-1)
    x = np.sort(rng.uniform(0, size, shape + (2,)), axis=-1)
    return np.stack([y[..., 0], x[..., 0], y[..., 1], x[..., 1]], axis=-1)


def _np_iou(a, b, over_a=False):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            ih = max(min(p[2], q[2]) - max(p[0], q[0]), 0)
            iw = max(min(p[3], q[3]) - max(p[1], q[1]), 0)
            inter = ih * iw
            area_p = max(p[2] - p[0], 0) * max(p[3] - p[1], 0)
            area_q = max(q[2] - q[0], 0) * max(q[3] - q[1], 0)
            denom = area_p if over_a else area_p + area_q - inter
            out[i, j] = inter / denom if denom > 0 else 0.0
    return out


def test_iou_and_ioa_match_numpy_reference_batched():
    rng = np.random.default_rng(0)
    a = _random_boxes(rng, (2, 7))
    b = _random_boxes(rng, (2, 5))
    b[0, 0] = a[0, 0]  # identical pair
    b[1, 1] = [10, 10, 10, 30]  # degenerate box
    iou = box_ops.pairwise_iou(a, b).numpy()
    ioa = box_ops.pairwise_ioa(a, b).numpy()
    assert iou.shape == (2, 7, 5)
    for i in range(2):
        np.testing.assert_allclose(iou[i], _np_iou(a[i], b[i]), atol=1e-12)
        np.testing.assert_allclose(ioa[i], _np_iou(a[i], b[i], over_a=True), atol=1e-12)
    assert iou[0, 0, 0] == pytest.approx(1.0)
    assert iou.dtype == np.float64  # dtype preserved


def test_iou_broadcasts_leading_dims_and_handles_empty():
    rng = np.random.default_rng(1)
    anchors = tf.constant(_random_boxes(rng, (6,)), tf.float32)
    gt = tf.constant(_random_boxes(rng, (3, 4)), tf.float32)
    iou = box_ops.pairwise_iou(anchors[None], gt)
    assert iou.shape == (3, 6, 4)
    assert box_ops.pairwise_iou(tf.zeros([0, 4]), gt[0]).shape == (0, 4)
    assert box_ops.pairwise_iou(gt[0], tf.zeros([0, 4])).shape == (4, 0)
    # Two degenerate boxes: IoU 0, not NaN.
    zero = tf.zeros([1, 4])
    assert float(box_ops.pairwise_iou(zero, zero)[0, 0]) == 0.0


def test_long_thin_iou_value():
    a = tf.constant([[0.0, 0.0, 10.0, 400.0]])
    b = tf.constant([[2.0, 0.0, 12.0, 400.0]])  # 2 px vertical shift of a 10 px line
    assert float(box_ops.pairwise_iou(a, b)[0, 0]) == pytest.approx(8 / 12)


def test_iou_gradient_matches_finite_differences():
    a = tf.constant([[1.0, 2.0, 11.0, 42.0], [0.0, 0.0, 9.0, 30.0]], tf.float64)
    b = tf.constant([[3.0, 5.0, 12.0, 35.0]], tf.float64)
    theoretical, numerical = tf.test.compute_gradient(
        lambda x: box_ops.pairwise_iou(x, b), [a])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)


def test_box_area_and_bad_shapes():
    boxes = tf.constant([[0.0, 0.0, 2.0, 3.0], [5.0, 5.0, 4.0, 9.0]])
    np.testing.assert_allclose(box_ops.box_area(boxes), [6.0, 0.0])
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_ops.pairwise_iou(tf.zeros([3, 5]), tf.zeros([2, 4]))
    with pytest.raises(ValueError, match="weights"):
        box_ops.encode_boxes(boxes, boxes, weights=(1.0, 1.0, 0.0, 1.0))


def test_clip_boxes_shared_and_per_image_sizes():
    boxes = tf.constant([[[-5.0, -3.0, 20.0, 70.0]], [[-5.0, -3.0, 20.0, 70.0]]])
    clipped = box_ops.clip_boxes(boxes, (16, 64)).numpy()
    np.testing.assert_allclose(clipped[:, 0], [[0, 0, 16, 64], [0, 0, 16, 64]])
    per_image = box_ops.clip_boxes(boxes, tf.constant([[[10, 50]], [[30, 80]]])).numpy()
    np.testing.assert_allclose(per_image[:, 0], [[0, 0, 10, 50], [0, 0, 20, 70]])
    assert box_ops.clip_boxes(tf.cast(boxes, tf.float16), (16, 64)).dtype == tf.float16


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_encode_decode_round_trip(dtype):
    rng = np.random.default_rng(2)
    boxes = tf.constant(_random_boxes(rng, (3, 10), 500.0) + [0, 0, 1, 1], dtype)
    anchors = tf.constant(_random_boxes(rng, (3, 10), 500.0) + [0, 0, 1, 1], dtype)
    for weights in (box_ops.BOX_CODING_WEIGHTS, (1.0, 1.0, 1.0, 1.0)):
        deltas = box_ops.encode_boxes(boxes, anchors, weights)
        assert deltas.dtype == dtype and deltas.shape == (3, 10, 4)
        decoded = box_ops.decode_boxes(deltas, anchors, weights)
        tol = 1e-3 if dtype == tf.float32 else 1e-9
        np.testing.assert_allclose(decoded, boxes, atol=tol)


def test_encode_known_values_and_decode_clamp():
    anchor = tf.constant([[0.0, 0.0, 10.0, 40.0]])
    box = tf.constant([[5.0, 0.0, 25.0, 40.0]])  # centre +10 px, twice as high
    deltas = box_ops.encode_boxes(box, anchor).numpy()[0]
    np.testing.assert_allclose(deltas, [10 * 10 / 10, 0.0, 5 * math.log(2.0), 0.0], atol=1e-6)
    huge = box_ops.decode_boxes(tf.constant([[0.0, 0.0, 1e4, 1e4]]), anchor).numpy()[0]
    assert np.all(np.isfinite(huge))
    assert huge[2] - huge[0] == pytest.approx(10 * 1000 / 16, rel=1e-4)
    # Degenerate (padding) boxes give finite deltas.
    assert np.all(np.isfinite(box_ops.encode_boxes(tf.zeros([1, 4]), anchor)))


def test_docstring_examples():
    import doctest

    failures, _ = doctest.testmod(box_ops)
    assert failures == 0


def test_numpy_line_rectangle_of_the_predictor_matches_the_tensorflow_op():
    from keras_textnet.ops.rotated_boxes import bounds_to_rotated_box
    from keras_textnet.predictor import _rotated_rect

    rng = np.random.default_rng(5)
    x0, y0 = rng.uniform(0, 500, 400), rng.uniform(0, 500, 400)
    w, h = rng.uniform(0.5, 600, 400), rng.uniform(0.5, 80, 400)
    angles = np.concatenate([np.zeros(50), rng.uniform(-0.9, 0.9, 350)])
    expected = bounds_to_rotated_box(np.stack([y0, x0, y0 + h, x0 + w], 1), angles).numpy()
    for i in range(400):
        got = _rotated_rect((x0[i], y0[i], x0[i] + w[i], y0[i] + h[i]), angles[i])
        np.testing.assert_allclose(got, expected[i, [1, 0, 3, 2]], rtol=1e-9, atol=1e-6)
    replaced = [not np.allclose(expected[i], [y0[i], x0[i], y0[i] + h[i], x0[i] + w[i]])
                for i in range(400)]
    assert 50 < sum(replaced) < 350          # both branches: rotated rectangles and bounds kept
