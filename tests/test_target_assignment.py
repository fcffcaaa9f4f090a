import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.ops import box_ops
from keras_textnet.ops.anchors import generate_anchors
from keras_textnet.ops.detection_losses import head_losses, huber, rpn_losses
from keras_textnet.ops.target_assignment import assign_rpn_targets, sample_head_targets

SEED = tf.constant([1, 2])

# Hand-built anchors: (label for GT below, why)
ANCHORS = tf.constant([
    [0, 0, 10, 10],    # 0: identical to GT 0                  -> positive
    [0, 0, 10, 20],    # 1: IoU 0.5 with GT 0                  -> positive
    [50, 50, 60, 60],  # 2: identical to an ignored box        -> never negative
    [0, 5, 10, 15],    # 3: IoU 1/3 with GT 0 (between 0.3 and 0.5) -> not sampled
    [30, 0, 40, 40],   # 4: IoU 1/3 with GT 1, tied best       -> positive
    [30, 40, 40, 80],  # 5: IoU 1/3 with GT 1, tied best       -> positive
    [80, 80, 90, 90],  # 6: identical to a padding row         -> negative
    [100, 0, 110, 10],  # 7: far from everything               -> negative
], tf.float32)
GT = tf.constant([[[0, 0, 10, 10], [30, 20, 40, 60], [50, 50, 60, 60], [80, 80, 90, 90]]],
                 tf.float32)
IGNORE = tf.constant([[False, False, True, False]])
NUM = tf.constant([3])


def test_hand_built_rpn_labels_matches_and_targets():
    out = assign_rpn_targets(ANCHORS, GT, IGNORE, NUM, seed=SEED)
    np.testing.assert_array_equal(out["labels"][0], [1, 1, -1, -1, 1, 1, 0, 0])
    np.testing.assert_array_equal(out["matched_gt"][0], [0, 0, -1, -1, 1, 1, -1, -1])
    targets = out["box_targets"][0].numpy()
    positive = out["labels"][0].numpy() == 1
    decoded = box_ops.decode_boxes(targets[positive], tf.boolean_mask(ANCHORS, positive))
    np.testing.assert_allclose(decoded, tf.gather(GT[0], out["matched_gt"][0][positive]),
                               atol=1e-4)
    np.testing.assert_array_equal(targets[~positive], 0.0)


def test_best_anchor_rule_reassigns_anchor_to_its_gt():
    # Anchor 0 overlaps GT 0 best (IoU 1) but is the only anchor touching GT 1:
    # GT 1 claims it, and the anchor regresses to GT 1.
    anchors = tf.constant([[0, 0, 10, 10], [100, 100, 110, 110]], tf.float32)
    gt = tf.constant([[[0, 0, 10, 10], [0, 0, 40, 40]]], tf.float32)
    out = assign_rpn_targets(anchors, gt, tf.zeros([1, 2], tf.bool), tf.constant([2]),
                             seed=SEED)
    np.testing.assert_array_equal(out["labels"][0], [1, 0])
    # Both GT claim anchor 0; the larger row index wins deterministically.
    assert int(out["matched_gt"][0, 0]) == 1


def test_ignore_region_anchors_are_never_negative():
    anchors = tf.constant([
        [0, 0, 10, 10],      # inside the ignore region (IoA 1)
        [0, 0, 100, 100],    # IoA 0.4 but IoU 0.4 >= negative_iou -> not negative
        [0, 50, 10, 150],    # IoA 0.5 (not > 0.5), IoU 0.11 -> negative
        [200, 0, 210, 10],   # far -> negative
    ], tf.float32)
    gt = tf.constant([[[0, 0, 40, 100]]], tf.float32)
    for trim in (True, False):
        out = assign_rpn_targets(anchors, gt, tf.constant([[True]]), tf.constant([1]),
                                 seed=SEED, trim_gt_padding=trim)
        np.testing.assert_array_equal(out["labels"][0], [-1, -1, 0, 0])


def test_padding_and_zero_area_gt_never_match():
    anchors = tf.constant([[0, 0, 10, 10], [20, 20, 30, 30]], tf.float32)
    gt = tf.constant([[[20, 20, 30, 30], [0, 0, 0, 0], [0, 0, 10, 10]]], tf.float32)
    out = assign_rpn_targets(anchors, gt, tf.zeros([1, 3], tf.bool), tf.constant([2]),
                             seed=SEED)
    np.testing.assert_array_equal(out["labels"][0], [0, 1])  # row 1 empty, row 2 padding
    np.testing.assert_array_equal(out["matched_gt"][0], [-1, 0])


def _page(batch=2, seed=0, lines=30, size=256):
    rng = np.random.default_rng(seed)
    gt = np.zeros((batch, lines + 5, 4), np.float32)
    num = rng.integers(lines // 2, lines + 1, batch).astype(np.int32)
    for b in range(batch):
        h = rng.uniform(10, 40, num[b])
        w = rng.uniform(20, min(200, size - 8), num[b])
        y0 = rng.uniform(0, size - h)
        x0 = rng.uniform(0, size - w)
        gt[b, :num[b]] = np.stack([y0, x0, y0 + h, x0 + w], 1)
    ignore = np.zeros(gt.shape[:2], bool)
    ignore[:, 1] = True
    return gt, ignore, num


def test_sampling_counts_fraction_and_determinism():
    anchors = generate_anchors((256, 256))
    gt, ignore, num = _page()
    kwargs = {"batch_size_per_image": 64, "positive_fraction": 0.25}
    out = assign_rpn_targets(anchors, gt, ignore, num, seed=SEED, **kwargs)
    labels = out["labels"].numpy()
    assert labels.shape == (2, anchors.shape[0])
    np.testing.assert_array_equal((labels == 1).sum(1), [16, 16])  # plenty of positives
    np.testing.assert_array_equal((labels >= 0).sum(1), [64, 64])
    again = assign_rpn_targets(anchors, gt, ignore, num, seed=SEED, **kwargs)
    np.testing.assert_array_equal(again["labels"], labels)
    other = assign_rpn_targets(anchors, gt, ignore, num, seed=tf.constant([3, 4]), **kwargs)
    assert np.any(other["labels"].numpy() != labels)
    # Static-shape (XLA-friendly) path gives identical targets.
    dense = assign_rpn_targets(anchors, gt, ignore, num, seed=SEED, trim_gt_padding=False,
                               **kwargs)
    for key in out:
        np.testing.assert_allclose(dense[key], out[key], atol=1e-5)
    # Every sampled positive really is positive, and decodes to its matched GT.
    matched = out["matched_gt"].numpy()
    assert np.all((matched >= 0) == (labels == 1))
    assert not np.any(ignore[0][matched[0][matched[0] >= 0]])


def test_few_positives_fill_with_negatives():
    anchors = generate_anchors((64, 64))
    gt = tf.constant([[[10, 10, 22, 46]]], tf.float32)
    out = assign_rpn_targets(anchors, gt, tf.constant([[False]]), tf.constant([1]), seed=SEED,
                             batch_size_per_image=32)
    labels = out["labels"].numpy()
    positives = int((labels == 1).sum())
    assert 1 <= positives < 16
    assert int((labels == 0).sum()) == 32 - positives


def test_rpn_targets_in_tf_function_with_unknown_batch():
    anchors = generate_anchors((128, 128))
    fn = tf.function(
        lambda g, i, n: assign_rpn_targets(anchors, g, i, n, seed=SEED),
        input_signature=[tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None], tf.bool),
                         tf.TensorSpec([None], tf.int32)])
    gt, ignore, num = _page(batch=3, lines=8, size=128)
    out = fn(gt, ignore, num)
    assert out["labels"].shape == (3, anchors.shape[0])
    assert out["box_targets"].shape == (3, anchors.shape[0], 4)
    empty = fn(np.zeros((2, 4, 4), np.float32), np.zeros((2, 4), bool), np.zeros(2, np.int32))
    np.testing.assert_array_equal((empty["labels"].numpy() == 1).sum(), 0)
    np.testing.assert_array_equal((empty["labels"].numpy() == 0).sum(1), [256, 256])


def test_rpn_argument_errors():
    with pytest.raises(ValueError, match="negative_iou"):
        assign_rpn_targets(ANCHORS, GT, IGNORE, NUM, seed=SEED, negative_iou=0.6)
    with pytest.raises(ValueError, match="positive_fraction"):
        assign_rpn_targets(ANCHORS, GT, IGNORE, NUM, seed=SEED, positive_fraction=1.5)


# ---------------------------------------------------------------- second stage


def test_head_sampling_adds_gt_and_has_fixed_size():
    gt = tf.constant([[[0, 0, 10, 50], [20, 0, 30, 80], [0, 0, 0, 0]]], tf.float32)
    proposals = tf.constant([[[100, 100, 110, 150], [0, 0, 0, 0]]], tf.float32)
    out = sample_head_targets(proposals, gt, tf.zeros([1, 3], tf.bool), tf.constant([2]),
                              seed=SEED, rois_per_image=8)
    assert out["rois"].shape == (1, 8, 4)
    np.testing.assert_array_equal(out["labels"][0], [1, 1, 0, -1, -1, -1, -1, -1])
    fg = out["rois"][0, :2].numpy()
    np.testing.assert_allclose(fg[np.argsort(fg[:, 0])], gt[0, :2])
    np.testing.assert_array_equal(np.sort(out["matched_gt"][0, :2]), [0, 1])
    np.testing.assert_allclose(out["box_targets"][0, :2], 0.0, atol=1e-6)  # exact GT rois
    np.testing.assert_array_equal(out["rois"][0, 3:], 0.0)  # padding rows are zeros
    np.testing.assert_array_equal(out["matched_gt"][0, 2:], -1)

    no_gt = sample_head_targets(proposals, gt, tf.zeros([1, 3], tf.bool), tf.constant([2]),
                                seed=SEED, rois_per_image=8, add_gt_boxes=False)
    np.testing.assert_array_equal(no_gt["labels"][0], [0] + [-1] * 7)


def test_head_sampling_foreground_fraction_ignore_and_targets():
    rng = np.random.default_rng(0)
    gt = np.array([[[10, 10, 30, 200], [50, 10, 70, 200], [100, 0, 150, 250]]], np.float32)
    jitter = rng.normal(0, 1.5, (1, 60, 4)).astype(np.float32)
    near = np.repeat(gt[:, :2], 30, axis=1) + jitter  # foreground candidates
    inside_ignore = np.array([[[110, 10, 120, 60]] * 10], np.float32)
    far = np.array([[[200, 0, 220, 100]] * 10], np.float32)
    proposals = np.concatenate([near, inside_ignore, far], axis=1)
    ignore = np.array([[False, False, True]])
    out = sample_head_targets(proposals, gt, ignore, np.array([3], np.int32), seed=SEED,
                              rois_per_image=32, foreground_fraction=0.25)
    labels = out["labels"][0].numpy()
    assert (labels == 1).sum() == 8  # capped at 32 * 0.25
    assert (labels == 0).sum() <= 10  # only the far boxes are background
    rois = out["rois"][0].numpy()
    bg_rois = rois[labels == 0]
    assert np.all(bg_rois[:, 0] == 200)  # nothing inside the ignore region
    fg = labels == 1
    decoded = box_ops.decode_boxes(out["box_targets"][0].numpy()[fg], rois[fg]).numpy()
    np.testing.assert_allclose(decoded, gt[0][out["matched_gt"][0].numpy()[fg]], atol=1e-3)
    assert set(out["matched_gt"][0].numpy()[fg]) <= {0, 1}


def test_head_sampling_respects_num_proposals_and_is_deterministic():
    gt = tf.constant([[[0, 0, 10, 50]]], tf.float32)
    proposals = tf.constant([[[0, 0, 10, 50], [60, 0, 70, 50]]], tf.float32)
    kwargs = {"seed": SEED, "rois_per_image": 4, "add_gt_boxes": False}
    out = sample_head_targets(proposals, gt, tf.constant([[False]]), tf.constant([1]),
                              num_proposals=tf.constant([1]), **kwargs)
    np.testing.assert_array_equal(out["labels"][0], [1, -1, -1, -1])
    fn = tf.function(lambda p: sample_head_targets(
        p, gt, tf.constant([[False]]), tf.constant([1]), **kwargs),
        input_signature=[tf.TensorSpec([None, None, 4])])
    a, b = fn(proposals), fn(proposals)
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_array_equal(a["labels"][0], [1, 0, -1, -1])


def test_head_argument_errors():
    with pytest.raises(ValueError, match="background_iou"):
        sample_head_targets(GT, GT, IGNORE, NUM, seed=SEED, background_iou=(0.5, 0.1))
    with pytest.raises(ValueError, match="rois_per_image"):
        sample_head_targets(GT, GT, IGNORE, NUM, seed=SEED, rois_per_image=0)


# ---------------------------------------------------------------- losses


def _np_bce(label, logit):
    return max(logit, 0) - logit * label + np.log1p(np.exp(-abs(logit)))


def test_rpn_losses_match_numpy():
    labels = np.array([[1, 0, -1, 1], [0, -1, -1, -1]], np.int32)
    logits = np.array([[2.0, -1.0, 50.0, -0.5], [0.3, 0.0, 0.0, 0.0]], np.float32)
    targets = np.zeros((2, 4, 4), np.float32)
    targets[0, 0] = [0.5, -0.2, 3.0, 0.0]
    deltas = np.zeros((2, 4, 4), np.float32)
    deltas[0, 2] = 100.0  # not a positive: no box loss
    cls_loss, box_loss = rpn_losses(labels, targets, logits, deltas)
    sampled = labels >= 0
    expected = sum(_np_bce(float(labels[i, j] == 1), logits[i, j])
                   for i, j in zip(*np.nonzero(sampled))) / sampled.sum()
    assert float(cls_loss) == pytest.approx(expected, rel=1e-5)
    expected_box = (0.5 * 0.25 + 0.5 * 0.04 + (3.0 - 0.5)) / sampled.sum()
    assert float(box_loss) == pytest.approx(expected_box, rel=1e-5)


def test_losses_ignore_non_finite_unsampled_entries_and_have_finite_gradients():
    labels = tf.constant([[1, -1]])
    targets = tf.zeros([1, 2, 4])
    logits = tf.Variable([[0.0, np.inf]])
    deltas = tf.Variable([[[0.1] * 4, [np.nan] * 4]])
    with tf.GradientTape() as tape:
        cls_loss, box_loss = rpn_losses(labels, targets, logits, deltas)
        total = cls_loss + box_loss
    grads = tape.gradient(total, [logits, deltas])
    assert np.isfinite(float(total))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_head_losses_softmax_and_sigmoid_forms():
    labels = tf.constant([[1, 0, -1]])
    targets = tf.constant([[[1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]])
    deltas = tf.zeros([1, 3, 4])
    two = tf.constant([[[0.0, 2.0], [1.0, -1.0], [0.0, 0.0]]])
    cls2, box2 = head_losses(labels, targets, two, deltas)
    expected = (np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-2.0))) / 2
    assert float(cls2) == pytest.approx(expected, rel=1e-5)
    assert float(box2) == pytest.approx(0.5 / 2)
    one = tf.constant([[[2.0], [-2.0], [9.0]]])
    cls1, _ = head_losses(labels, targets, one, deltas)
    assert float(cls1) == pytest.approx(expected, rel=1e-5)
    cls_flat, _ = head_losses(labels, targets, one[..., 0], deltas)
    assert float(cls_flat) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="class_logits"):
        head_losses(labels, targets, tf.zeros([1, 3, 3]), deltas)
    assert float(huber(tf.constant(3.0))) == pytest.approx(2.5)
    empty_cls, empty_box = head_losses(tf.fill([1, 3], -1), targets, two, deltas)
    assert float(empty_cls) == 0.0 and float(empty_box) == 0.0
