"""Region proposals from RPN outputs, and a padded, batched NMS for any detections.

Box convention: ``(y0, x0, y1, x1)`` in input-image pixels, ``y1``/``x1``
exclusive.

NMS runs image by image with ``NonMaxSuppressionV4`` (padded to a fixed
size), which TFLite converts to a builtin and tf2onnx to ONNX
``NonMaxSuppression``; ``tf.image.combined_non_max_suppression`` is avoided
on purpose (it needs Flex in TFLite). With a static batch size of 1 (mobile
export) no loop is emitted; otherwise ``tf.map_fn`` loops over the images.
Plain IoU-NMS suits text lines: two lines stacked one above the other share
little area even when long.
"""

import tensorflow as tf

from keras_textnet.ops import box_ops

__all__ = ["batched_nms_padded", "generate_proposals"]

# Scores of removed (tiny) boxes, below every real score in [0, 1].
_REMOVED_SCORE = -1.0


def batched_nms_padded(boxes, scores, max_output, iou_threshold=0.5,
                       score_threshold=float("-inf")):
    """Per-image NMS padded to a fixed number of outputs.

    Args:
      boxes: ``(B, N, 4)`` boxes, ``(y0, x0, y1, x1)``.
      scores: ``(B, N)`` scores.
      max_output: Python int ``K``, outputs per image.
      iou_threshold: boxes overlapping a kept, higher-scored box by more than
        this IoU are suppressed.
      score_threshold: only boxes with ``score > score_threshold`` are kept.
    Returns:
      ``(indices, valid)``: ``indices`` ``(B, K)`` int32 into ``N``, kept boxes
      in decreasing score order, padded with 0 after ``valid[b]`` entries;
      ``valid`` ``(B,)`` int32. Gather with ``tf.gather(x, indices, batch_dims=1)``
      and mask with ``tf.range(K) < valid[:, None]``.
    """
    max_output = int(max_output)
    if max_output < 1:
        raise ValueError(f"`max_output` must be a positive integer; received {max_output}.")
    boxes = tf.convert_to_tensor(boxes)
    scores = tf.convert_to_tensor(scores)
    if boxes.shape.rank != 3 or scores.shape.rank != 2:
        raise ValueError(f"Expected boxes (B, N, 4) and scores (B, N); received shapes "
                         f"{boxes.shape} and {scores.shape}.")
    boxes = tf.cast(boxes, tf.float32)
    scores = tf.cast(scores, tf.float32)
    iou_threshold = tf.constant(float(iou_threshold), tf.float32)
    score_threshold = tf.cast(score_threshold, tf.float32)

    def one_image(args):
        image_boxes, image_scores = args
        indices, valid = tf.raw_ops.NonMaxSuppressionV4(
            boxes=image_boxes, scores=image_scores, max_output_size=max_output,
            iou_threshold=iou_threshold, score_threshold=score_threshold,
            pad_to_max_output_size=True)
        # The kernel pads to max_output only up to N boxes when N < max_output.
        indices = tf.pad(indices, [[0, max_output - tf.shape(indices)[0]]])
        return tf.ensure_shape(indices, [max_output]), valid

    with tf.name_scope("batched_nms_padded"):
        if boxes.shape[0] == 1:
            indices, valid = one_image((boxes[0], scores[0]))
            return indices[None], valid[None]
        return tf.map_fn(
            one_image, (boxes, scores),
            fn_output_signature=(tf.TensorSpec([max_output], tf.int32),
                                 tf.TensorSpec([], tf.int32)))


def generate_proposals(objectness_logits, box_deltas, anchors, image_size, *,
                       pre_nms_topk=2000, post_nms_topk=300, nms_iou=0.7, min_size=2.0,
                       box_weights=box_ops.BOX_CODING_WEIGHTS):
    """Turns RPN outputs into a fixed number of proposals per image.

    Steps: keep the ``pre_nms_topk`` highest logits, decode their deltas
    against the anchors, clip to the image, drop boxes with a side shorter
    than ``min_size``, NMS at ``nms_iou``, pad to ``post_nms_topk``.
    Outputs carry no gradient (``tf.stop_gradient``), as in Faster R-CNN.

    Args:
      objectness_logits: ``(B, A)`` RPN logits.
      box_deltas: ``(B, A, 4)`` RPN deltas, coded with ``box_weights``.
      anchors: ``(A, 4)`` from :func:`~keras_textnet.ops.anchors.generate_anchors`.
      image_size: ``(H, W)`` (Python numbers or a ``(2,)`` tensor) shared by
        the batch, or ``(B, 2)`` per image (e.g. the unpadded sizes).
      pre_nms_topk, post_nms_topk: candidates before / outputs after NMS.
      nms_iou: NMS IoU threshold.
      min_size: smallest allowed box height and width, pixels.
      box_weights: the ``(wy, wx, wh, ww)`` used by the RPN's targets.
    Returns:
      ``(boxes, scores, valid)``: ``boxes`` ``(B, post_nms_topk, 4)`` float32 in
      decreasing score order, zero rows after ``valid[b]``; ``scores``
      ``(B, post_nms_topk)`` sigmoid objectness, 0 on padding; ``valid`` ``(B,)`` int32.
    """
    if int(pre_nms_topk) < 1 or int(post_nms_topk) < 1:
        raise ValueError(f"`pre_nms_topk` and `post_nms_topk` must be positive; received "
                         f"{pre_nms_topk} and {post_nms_topk}.")
    with tf.name_scope("generate_proposals"):
        logits = tf.stop_gradient(tf.cast(objectness_logits, tf.float32))
        deltas = tf.stop_gradient(tf.cast(box_deltas, tf.float32))
        anchors = tf.cast(tf.convert_to_tensor(anchors), tf.float32)
        num_anchors = tf.shape(logits)[1]
        k = int(pre_nms_topk)
        if logits.shape[1] is not None:
            k = min(k, int(logits.shape[1]))
        else:
            k = tf.minimum(k, num_anchors)
        top_logits, top_idx = tf.math.top_k(logits, k=k, sorted=False)
        top_deltas = tf.gather(deltas, top_idx, batch_dims=1)
        top_anchors = tf.gather(anchors, top_idx)
        boxes = box_ops.decode_boxes(top_deltas, top_anchors, box_weights)

        size = tf.cast(tf.convert_to_tensor(image_size), tf.float32)
        if size.shape.rank == 2:
            size = size[:, None, :]
        boxes = box_ops.clip_boxes(boxes, size)
        _, _, h, w = box_ops.box_centers_and_sizes(boxes)
        scores = tf.sigmoid(top_logits)
        scores = tf.where((h >= min_size) & (w >= min_size), scores, _REMOVED_SCORE)

        indices, valid = batched_nms_padded(
            boxes, scores, post_nms_topk, iou_threshold=nms_iou,
            score_threshold=0.5 * _REMOVED_SCORE)
        in_use = tf.range(int(post_nms_topk))[None, :] < valid[:, None]
        out_boxes = tf.where(in_use[..., None], tf.gather(boxes, indices, batch_dims=1), 0.0)
        out_scores = tf.where(in_use, tf.gather(scores, indices, batch_dims=1), 0.0)
        return out_boxes, out_scores, valid
