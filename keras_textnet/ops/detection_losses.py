"""Losses of the two detection stages, from the targets of ``target_assignment``.

Labels follow :mod:`keras_textnet.ops.target_assignment`: 1 positive / text,
0 negative / background, -1 not sampled (contributes nothing). Both losses of
a stage are divided by the number of sampled entries over the whole batch
(at least 1), so the box loss weighs each positive as much as each sampled
classification and the scale does not depend on how many positives an image
happens to have. Losses are float32 scalars whatever the prediction dtype
(mixed precision safe); masking uses ``tf.where``, so non-finite values at
unsampled entries cannot leak into gradients.
"""

import tensorflow as tf

__all__ = ["head_losses", "huber", "rpn_losses"]


def huber(x, delta=1.0):
    """Elementwise Huber loss: ``0.5 x^2`` for ``|x| <= delta``, ``delta (|x| - delta/2)`` beyond."""
    ax = tf.abs(x)
    quadratic = tf.minimum(ax, delta)
    return 0.5 * quadratic * quadratic + delta * (ax - quadratic)


def _box_loss(labels, box_targets, deltas, normalizer, delta):
    deltas = tf.cast(deltas, tf.float32)
    box_targets = tf.cast(box_targets, tf.float32)
    positive = labels == 1
    error = tf.where(positive[..., None], deltas - box_targets, 0.0)
    return tf.reduce_sum(huber(error, delta)) / normalizer


def rpn_losses(labels, box_targets, objectness_logits, deltas, *, huber_delta=1.0):
    """RPN objectness and box losses.

    Args:
      labels: ``(B, A)`` int32 in {1, 0, -1} from ``assign_rpn_targets``.
      box_targets: ``(B, A, 4)`` encoded targets.
      objectness_logits: ``(B, A)`` logits.
      deltas: ``(B, A, 4)`` predicted deltas.
      huber_delta: Huber transition point, in encoded units (with the default
        box weights (10, 10, 5, 5), 1.0 is about 0.1 anchor height).
    Returns:
      ``(cls_loss, box_loss)`` float32 scalars: sigmoid cross-entropy summed over
      sampled anchors, Huber summed over positives and the 4 coordinates, each
      divided by the number of sampled anchors.
    """
    with tf.name_scope("rpn_losses"):
        labels = tf.cast(labels, tf.int32)
        logits = tf.cast(objectness_logits, tf.float32)
        sampled = labels >= 0
        normalizer = tf.maximum(tf.reduce_sum(tf.cast(sampled, tf.float32)), 1.0)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.cast(labels == 1, tf.float32), logits=tf.where(sampled, logits, 0.0))
        cls_loss = tf.reduce_sum(tf.where(sampled, bce, 0.0)) / normalizer
        box_loss = _box_loss(labels, box_targets, deltas, normalizer, huber_delta)
        return cls_loss, box_loss


def head_losses(labels, box_targets, class_logits, box_deltas, *, huber_delta=1.0):
    """Second-stage classification and box losses.

    Args:
      labels: ``(B, R)`` int32 in {1 text, 0 background, -1 padding}.
      box_targets: ``(B, R, 4)`` encoded targets w.r.t. the RoIs.
      class_logits: ``(B, R, 2)`` (softmax over background, text) or
        ``(B, R, 1)`` / ``(B, R)`` (sigmoid text logit).
      box_deltas: ``(B, R, 4)`` class-agnostic predicted deltas.
      huber_delta: Huber transition point, in encoded units.
    Returns:
      ``(cls_loss, box_loss)`` float32 scalars, normalised by the number of
      sampled (non-padding) RoIs.
    """
    with tf.name_scope("head_losses"):
        labels = tf.cast(labels, tf.int32)
        logits = tf.cast(class_logits, tf.float32)
        sampled = labels >= 0
        normalizer = tf.maximum(tf.reduce_sum(tf.cast(sampled, tf.float32)), 1.0)
        classes = logits.shape[-1] if logits.shape.rank == labels.shape.rank + 1 else None
        if classes == 2:
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.maximum(labels, 0), logits=tf.where(sampled[..., None], logits, 0.0))
        elif classes in (1, None):
            if classes == 1:
                logits = logits[..., 0]
            ce = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(labels == 1, tf.float32), logits=tf.where(sampled, logits, 0.0))
        else:
            raise ValueError("`class_logits` must be (B, R, 2), (B, R, 1) or (B, R); "
                             f"received shape {class_logits.shape} with labels {labels.shape}.")
        cls_loss = tf.reduce_sum(tf.where(sampled, ce, 0.0)) / normalizer
        box_loss = _box_loss(labels, box_targets, box_deltas, normalizer, huber_delta)
        return cls_loss, box_loss
