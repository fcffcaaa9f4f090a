"""Proposal generation, padded NMS, and the RegionProposalHead that feeds them."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import check_symbolic_call, run_graph_fit_test, run_layer_test

from keras_textnet.layers import region_proposal_head as head_module
from keras_textnet.layers.region_proposal_head import RegionProposalHead
from keras_textnet.ops import box_ops
from keras_textnet.ops.anchors import anchors_per_location, generate_anchors
from keras_textnet.ops.proposals import batched_nms_padded, generate_proposals


def _logit(p):
    return float(np.log(p / (1 - p)))


ANCHORS = tf.constant([
    [0, 0, 10, 100],     # 0 \ near duplicates
    [0, 2, 10, 102],     # 1 /
    [20, 0, 30, 100],    # 2 the next line down: kept
    [40, 0, 41, 100],    # 3 one pixel high: removed (min_size 2)
    [50, 50, 60, 150],   # 4 runs past the 128-px image edge: clipped
], tf.float32)


def test_nms_removes_duplicates_and_pads():
    logits = tf.constant([[_logit(0.9), _logit(0.8), _logit(0.7), _logit(0.95), _logit(0.6)]])
    boxes, scores, valid = generate_proposals(logits, tf.zeros([1, 5, 4]), ANCHORS, (128, 128),
                                              post_nms_topk=6)
    assert boxes.shape == (1, 6, 4) and scores.shape == (1, 6) and valid.shape == (1,)
    assert int(valid[0]) == 3
    np.testing.assert_allclose(scores[0], [0.9, 0.7, 0.6, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(boxes[0, :3], [[0, 0, 10, 100], [20, 0, 30, 100],
                                              [50, 50, 60, 128]], atol=1e-4)
    np.testing.assert_array_equal(boxes[0, 3:], 0.0)


def test_deltas_decode_and_pre_nms_topk_limits_candidates():
    deltas = box_ops.encode_boxes(tf.constant([[5.0, 10.0, 17.0, 90.0]]), ANCHORS[2:3])
    all_deltas = tf.tensor_scatter_nd_update(tf.zeros([1, 5, 4]), [[0, 2]], deltas)
    logits = tf.constant([[0.0, -1.0, 3.0, -2.0, -3.0]])
    boxes, _, valid = generate_proposals(logits, all_deltas, ANCHORS, (128, 128),
                                         pre_nms_topk=1, post_nms_topk=3)
    assert int(valid[0]) == 1
    np.testing.assert_allclose(boxes[0, 0], [5, 10, 17, 90], atol=1e-4)


def test_batched_nms_padded_counts_and_threshold():
    boxes = tf.constant([[[0, 0, 10, 10], [0, 0, 10, 10.5], [20, 20, 30, 30]],
                         [[0, 0, 10, 10], [50, 50, 60, 60], [80, 80, 90, 90]]], tf.float32)
    scores = tf.constant([[0.9, 0.8, 0.1], [0.3, 0.9, 0.6]])
    indices, valid = batched_nms_padded(boxes, scores, 5, iou_threshold=0.5)
    assert indices.shape == (2, 5)
    np.testing.assert_array_equal(valid, [2, 3])
    np.testing.assert_array_equal(indices[0, :2], [0, 2])
    np.testing.assert_array_equal(indices[1, :3], [1, 2, 0])
    _, valid = batched_nms_padded(boxes, scores, 5, iou_threshold=0.5, score_threshold=0.5)
    np.testing.assert_array_equal(valid, [1, 2])
    single, single_valid = batched_nms_padded(boxes[1:], scores[1:], 5)  # no-loop path
    np.testing.assert_array_equal(single[0], indices[1])
    assert int(single_valid[0]) == 3
    with pytest.raises(ValueError, match="max_output"):
        batched_nms_padded(boxes, scores, 0)


def test_generate_proposals_in_tf_function_with_unknown_batch():
    anchors = generate_anchors((64, 96))
    num = anchors.shape[0]
    fn = tf.function(
        lambda l, d: generate_proposals(l, d, anchors, (64, 96), pre_nms_topk=500,
                                        post_nms_topk=50),
        input_signature=[tf.TensorSpec([None, num]), tf.TensorSpec([None, num, 4])])
    for batch in (1, 3):
        logits = tf.random.stateless_normal([batch, num], seed=[batch, 0])
        deltas = 0.1 * tf.random.stateless_normal([batch, num, 4], seed=[batch, 1])
        boxes, scores, valid = fn(logits, deltas)
        assert boxes.shape == (batch, 50, 4) and scores.shape == (batch, 50)
        assert np.all(valid.numpy() == 50)
        b = boxes.numpy()
        assert b.min() >= 0 and np.all(b[..., 2] <= 64) and np.all(b[..., 3] <= 96)
        assert np.all(np.diff(scores.numpy(), axis=1) <= 1e-7)  # sorted by score
        iou = box_ops.pairwise_iou(boxes, boxes).numpy()
        iou[:, np.arange(50), np.arange(50)] = 0
        assert iou.max() <= 0.7 + 1e-5


def test_per_image_sizes_clip_each_image():
    logits = tf.zeros([2, 5])
    boxes, _, _ = generate_proposals(logits, tf.zeros([2, 5, 4]), ANCHORS,
                                     tf.constant([[128, 128], [128, 60]]), post_nms_topk=5)
    assert float(tf.reduce_max(boxes[0, :, 3])) == pytest.approx(128)
    assert float(tf.reduce_max(boxes[1, :, 3])) == pytest.approx(60)


# ---------------------------------------------------------------- RegionProposalHead


def test_head_docstring_example():
    failures, _ = doctest.testmod(head_module)
    assert failures == 0


def _position_features(image_size, strides):
    """Feature maps whose channels hold (centre y, centre x, stride) of each cell."""
    features = {}
    for name, stride in zip(("P2", "P3"), strides):
        rows, cols = -(-image_size[0] // stride), -(-image_size[1] // stride)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * stride, (np.arange(cols) + 0.5) * stride,
                             indexing="ij")
        features[name] = np.stack([cy, cx, np.full_like(cy, stride)], -1)[None].astype("float32")
    return features


def test_head_output_order_matches_generate_anchors():
    image_size, strides = (37, 50), (4, 8)
    heights, ratios = ((8.0, 12.0), (20.0, 30.0)), (1.0, 3.0, 9.0)
    k = anchors_per_location(heights, ratios)
    head = RegionProposalHead(k, channels=3)
    features = _position_features(image_size, strides)
    head(features)
    # 3x3 conv passes (cy, cx, stride) through; logit k = k; deltas (cy, cx, k, stride).
    conv = np.zeros((3, 3, 3, 3), "float32")
    conv[1, 1] = np.eye(3)
    head.conv.set_weights([conv, np.zeros(3, "float32")])
    head.objectness_conv.set_weights([np.zeros((1, 1, 3, k), "float32"),
                                      np.arange(k, dtype="float32")])
    kernel = np.zeros((1, 1, 3, 4 * k), "float32")
    bias = np.zeros(4 * k, "float32")
    for t in range(k):
        kernel[0, 0, 0, 4 * t] = 1.0
        kernel[0, 0, 1, 4 * t + 1] = 1.0
        kernel[0, 0, 2, 4 * t + 3] = 1.0
        bias[4 * t + 2] = t
    head.deltas_conv.set_weights([kernel, bias])

    logits, deltas = head(features)
    anchors = generate_anchors(image_size, strides, heights, ratios).numpy()
    logits, deltas = logits.numpy()[0], deltas.numpy()[0]
    assert logits.shape == (len(anchors),) and deltas.shape == (len(anchors), 4)
    np.testing.assert_allclose(logits, deltas[:, 2])
    np.testing.assert_allclose((anchors[:, 0] + anchors[:, 2]) / 2, deltas[:, 0])
    np.testing.assert_allclose((anchors[:, 1] + anchors[:, 3]) / 2, deltas[:, 1])
    level = np.where(deltas[:, 3] == 4, 0, 1)
    anchor_type = deltas[:, 2].astype(int)
    expected_h = np.array(heights)[level, anchor_type // len(ratios)]
    np.testing.assert_allclose(anchors[:, 2] - anchors[:, 0], expected_h)
    np.testing.assert_allclose(anchors[:, 3] - anchors[:, 1],
                               expected_h * np.array(ratios)[anchor_type % len(ratios)])


HEAD_KWARGS = {"anchors_per_location": 6, "channels": 8, "level_names": ("A", "B"),
               "kernel_initializer": "he_normal", "name": "rpn"}


def _head_features(seed=0):
    rng = np.random.default_rng(seed)
    return {"A": rng.random((2, 6, 5, 4)).astype("float32"),
            "B": rng.random((2, 3, 3, 4)).astype("float32")}


def test_head_passes_the_layer_harness(tmp_path):
    """Config (every argument, ``level_names`` as a list, He normal), serialization,
    symbolic call, .keras save and load (free sizes), one fit step, mixed precision."""
    features = _head_features()
    run_layer_test(RegionProposalHead, HEAD_KWARGS, (features,), tmp_path=tmp_path,
                   input_shapes=({"A": (None, None, 4), "B": (None, None, 4)},),
                   expected_output_shape=((2, (30 + 9) * 6), (2, (30 + 9) * 6, 4)))
    # With the sizes known, the symbolic call knows the anchor count too.
    check_symbolic_call(RegionProposalHead(**HEAD_KWARGS), (features,),
                        RegionProposalHead(**HEAD_KWARGS)(features))


@pytest.mark.slow
def test_head_one_fit_step_in_a_graph():
    run_graph_fit_test(RegionProposalHead, HEAD_KWARGS, (_head_features(),))


def test_head_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="anchors_per_location"):
        RegionProposalHead(0)
    with pytest.raises(ValueError, match="channels"):
        RegionProposalHead(3, channels=-1)
    with pytest.raises(ValueError, match="level_names"):
        RegionProposalHead(3, level_names="P2")
    with pytest.raises(ValueError, match="missing"):
        RegionProposalHead(3)({"P2": np.zeros((1, 4, 4, 2), "float32")})
    with pytest.raises(ValueError, match="same known channel count"):
        RegionProposalHead(3)({"P2": np.zeros((1, 4, 4, 2), "float32"),
                               "P3": np.zeros((1, 2, 2, 3), "float32")})
