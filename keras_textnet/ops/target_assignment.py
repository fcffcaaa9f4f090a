"""Training targets of the two detection stages: RPN anchors and sampled RoIs.

Box convention: ``(y0, x0, y1, x1)`` in input-image pixels, ``y1``/``x1``
exclusive. Ground truth arrives as the data pipeline batches it:

* ``gt_boxes``  ``(B, G, 4)`` float
* ``gt_ignore`` ``(B, G)`` bool: regions to neither reward nor punish
* ``num_boxes`` ``(B,)`` int32: rows ``>= num_boxes`` are padding

Rows with zero area are treated as padding too. Everything is vectorised over
the batch (no Python loop over ``B``), uses stateless random ops (same
``seed``, same targets) and returns fixed-shape tensors, so it runs inside
``train_step`` under ``tf.function``.

``seed`` is a ``(2,)`` integer tensor as for ``tf.random.stateless_uniform``.
Pass a different one every step (e.g. ``tf.stack([base_seed, step])``) or the
same anchors are sampled every time.
"""

import tensorflow as tf

from keras_textnet.ops import box_ops

__all__ = ["assign_rpn_targets", "sample_head_targets"]


def _check_fraction(name, value):
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1]; received {value}.")


def _gt_masks(gt_boxes, gt_ignore, num_boxes):
    """``(real, ignored)`` masks ``(B, G)``: usable GT rows, ignore-region rows."""
    num_rows = tf.shape(gt_boxes)[1]
    num_boxes = tf.cast(tf.reshape(num_boxes, [-1]), tf.int32)
    present = tf.range(num_rows)[None, :] < num_boxes[:, None]
    present &= box_ops.box_area(gt_boxes) > 0
    gt_ignore = tf.cast(gt_ignore, tf.bool)
    return present & ~gt_ignore, present & gt_ignore


def _trim_padding(gt_boxes, gt_ignore, num_boxes):
    """Drops GT columns that are padding in every image (dynamic shape)."""
    keep = tf.maximum(tf.reduce_max(tf.cast(num_boxes, tf.int32)), 1)
    keep = tf.minimum(keep, tf.shape(gt_boxes)[1])
    return gt_boxes[:, :keep], gt_ignore[:, :keep]


def _static_min(k, size):
    """``min(k, size)``, a Python int when ``size`` is static."""
    static = tf.get_static_value(size)
    return min(int(k), int(static)) if static is not None else tf.minimum(int(k), size)


def _select_columns(gt_boxes, mask, trim):
    """Packs the GT rows where ``mask`` ``(B, G)`` holds to the front of each image.

    Returns ``(boxes (B, G', 4), index (B, G') int32 original row, valid (B, G') bool)``;
    rows beyond ``valid`` are zero boxes. With ``trim``, ``G'`` is the largest
    count in the batch (at least 1), otherwise ``G``.
    """
    order = tf.argsort(tf.cast(~mask, tf.int32), axis=1, stable=True)
    count = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    if trim:
        order = order[:, :tf.maximum(tf.reduce_max(count), 1)]
    valid = tf.range(tf.shape(order)[1])[None, :] < count[:, None]
    boxes = tf.where(valid[..., None], tf.gather(gt_boxes, order, batch_dims=1), 0.0)
    return boxes, order, valid


def _match(boxes, gt_boxes, real, ignored):
    """IoU-based matching of ``boxes`` ``(B, N, 4)`` against GT ``(B, G, 4)``.

    Returns ``max_iou``/``matched`` ``(B, N)`` over real GT (``max_iou`` -1
    without any), and ``ignore_iou``/``ignore_ioa`` ``(B, N)``: the largest
    IoU / IoA of each box with an ignore region (0 if none).
    """
    inter = box_ops.pairwise_intersection(boxes, gt_boxes)  # (B, N, G)
    box_area = box_ops.box_area(boxes)[..., :, None]
    gt_area = box_ops.box_area(gt_boxes)[..., None, :]
    iou = tf.math.divide_no_nan(inter, box_area + gt_area - inter)
    ioa = tf.math.divide_no_nan(inter, box_area)
    ignored = ignored[:, None, :]
    ignore_iou = tf.reduce_max(tf.where(ignored, iou, 0.0), axis=-1)
    ignore_ioa = tf.reduce_max(tf.where(ignored, ioa, 0.0), axis=-1)
    iou = tf.where(real[:, None, :], iou, -1.0)
    max_iou = tf.reduce_max(iou, axis=-1)
    matched = tf.argmax(iou, axis=-1, output_type=tf.int32)
    return max_iou, matched, ignore_iou, ignore_ioa


def _top_random(candidates, k, seed):
    """For each row of ``candidates`` ``(B, N)`` bool: ``min(k, N)`` random candidate indices.

    Returns ``(indices (B, k') int32, count (B,) int32)``: the first ``count``
    indices of each row are distinct random candidates (``count = min(k,
    number of candidates)``), the rest are arbitrary distinct indices.
    """
    noise = tf.random.stateless_uniform(tf.shape(candidates), seed=seed, dtype=tf.float32,
                                        alg="philox")
    score = tf.where(candidates, noise, -1.0)
    k = _static_min(k, tf.shape(candidates)[1])
    _, indices = tf.math.top_k(score, k=k, sorted=True)
    count = tf.minimum(tf.reduce_sum(tf.cast(candidates, tf.int32), axis=1), k)
    return indices, count


def _batch_indices(indices):
    """``(B, k)`` column indices -> ``(B, k, 2)`` ``(row, column)`` pairs for scatter_nd."""
    shape = tf.shape(indices)
    rows = tf.broadcast_to(tf.range(shape[0])[:, None], shape)
    return tf.stack([rows, indices], axis=-1)


def _row_mask(indices, count, num_columns):
    """``(B, num_columns)`` bool, True at the first ``count[b]`` entries of ``indices[b]``."""
    keep = tf.range(tf.shape(indices)[1])[None, :] < count[:, None]
    scattered = tf.scatter_nd(_batch_indices(indices), tf.cast(keep, tf.int32),
                              tf.stack([tf.shape(indices)[0], num_columns]))
    return scattered > 0




def assign_rpn_targets(anchors, gt_boxes, gt_ignore, num_boxes, *, seed,
                       positive_iou=0.5, negative_iou=0.3, ignore_ioa=0.5,
                       batch_size_per_image=256, positive_fraction=0.5,
                       box_weights=box_ops.BOX_CODING_WEIGHTS, trim_gt_padding=True):
    """Labels, box targets and matches of every anchor, with balanced sampling.

    An anchor is *positive* if its IoU with some real (non-ignored, non-padding)
    GT is ``>= positive_iou``, or if it is a best anchor of a real GT (every
    GT overlapping any anchor claims its best anchor and all exact ties,
    whatever their IoU; such an anchor regresses to that GT). It is
    *negative* if its best real IoU is ``< negative_iou``, it is not positive,
    and it is not near an ignore region (IoA with an ignored box
    ``> ignore_ioa`` or IoU with it ``>= negative_iou``). Then at most
    ``round(batch_size_per_image * positive_fraction)`` positives are sampled
    at random and negatives fill the rest of ``batch_size_per_image``.

    Cost: one ``(B, G_real, A)`` IoU matrix (the largest tensor) and two
    max-reductions over it; ignore regions get their own (usually tiny)
    matrix; matching and encoding run on the sampled positives only. At
    512x512 with the default anchors (A = 245,760), B = 4 and 60 GT per
    image this is about 0.35 CPU-seconds.

    Args:
      anchors: ``(A, 4)`` anchors from :func:`~keras_textnet.ops.anchors.generate_anchors`.
      gt_boxes: ``(B, G, 4)`` ground-truth boxes.
      gt_ignore: ``(B, G)`` bool, ignore regions.
      num_boxes: ``(B,)`` int32, GT rows in use per image.
      seed: ``(2,)`` int seed of the stateless sampling.
      positive_iou, negative_iou: IoU thresholds described above.
      ignore_ioa: anchors covered more than this by an ignore region are never negative.
      batch_size_per_image: anchors sampled per image (positives + negatives).
      positive_fraction: largest share of positives in the sample.
      box_weights: ``(wy, wx, wh, ww)`` of :func:`~keras_textnet.ops.box_ops.encode_boxes`;
        :func:`~keras_textnet.ops.proposals.generate_proposals` must decode with the same.
      trim_gt_padding: size the IoU matrices by the largest number of real /
        ignored GT in the batch instead of ``G`` (a dynamic shape: several
        times cheaper with the pipeline's 128-row padding, but not
        XLA-compilable; pass False under ``jit_compile``).
    Returns:
      dict with
      ``labels`` ``(B, A)`` int32: 1 sampled positive, 0 sampled negative,
      -1 not sampled / ignored;
      ``box_targets`` ``(B, A, 4)`` float32 encoded deltas of the matched GT
      (zeros where ``labels != 1``);
      ``matched_gt`` ``(B, A)`` int32 GT row (index into ``G``) of each sampled
      positive anchor, -1 elsewhere.
    """
    if not negative_iou <= positive_iou:
        raise ValueError(
            f"`negative_iou` ({negative_iou}) must not exceed `positive_iou` ({positive_iou}).")
    _check_fraction("positive_fraction", positive_fraction)
    if int(batch_size_per_image) < 1:
        raise ValueError(
            f"`batch_size_per_image` must be a positive integer; received {batch_size_per_image}.")
    batch_size_per_image = int(batch_size_per_image)
    with tf.name_scope("assign_rpn_targets"):
        anchors = tf.cast(tf.convert_to_tensor(anchors), tf.float32)
        gt_boxes = tf.cast(tf.convert_to_tensor(gt_boxes), tf.float32)
        real, ignored = _gt_masks(gt_boxes, gt_ignore, num_boxes)
        num_anchors = tf.shape(anchors)[0]
        anchor_area = box_ops.box_area(anchors)  # (A,)

        # Real GT: IoU laid out (B, G', A) so that the big reductions run over G'.
        real_boxes, real_index, real_valid = _select_columns(gt_boxes, real, trim_gt_padding)
        iou = box_ops.pairwise_iou(real_boxes, anchors[None])  # padding rows: IoU 0
        max_iou = tf.reduce_max(iou, axis=1)  # (B, A)

        # Best anchors of each real GT (all exact ties) are positive, matched to it.
        gt_best = tf.reduce_max(iou, axis=2, keepdims=True)  # (B, G', 1)
        gt_best = tf.where(real_valid[..., None] & (gt_best > 0), gt_best, 2.0)
        claims = iou >= gt_best  # (B, G', A), False on padding rows
        if trim_gt_padding:  # sparse: few claims, dynamic shape
            where = tf.cast(tf.where(claims), tf.int32)  # (N, 3) (image, column, anchor)
            claimant = tf.gather_nd(real_index, where[:, :2]) + 1
            claimed_by = tf.tensor_scatter_nd_max(  # (B, A): 1 + claiming GT row, 0 for none
                tf.zeros_like(max_iou, tf.int32), tf.gather(where, [0, 2], axis=1), claimant)
        else:  # dense, static shapes (XLA)
            claimed_by = tf.reduce_max(
                tf.where(claims, real_index[..., None] + 1, 0), axis=1)
        positive = (max_iou >= positive_iou) | (claimed_by > 0)

        # Ignore regions: their own (usually tiny) matrix.
        ignore_boxes, _, _ = _select_columns(gt_boxes, ignored, trim_gt_padding)
        inter = box_ops.pairwise_intersection(ignore_boxes, anchors[None])  # (B, Gi', A)
        ioa = tf.math.divide_no_nan(inter, anchor_area)
        union = anchor_area + box_ops.box_area(ignore_boxes)[..., None] - inter
        ignore_iou = tf.math.divide_no_nan(inter, union)
        near_ignore = tf.reduce_any((ioa > ignore_ioa) | (ignore_iou >= negative_iou), axis=1)
        negative = (max_iou < negative_iou) & ~positive & ~near_ignore

        max_positive = round(batch_size_per_image * positive_fraction)
        pos_idx, pos_count = _top_random(positive, max_positive, seed)
        neg_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        neg_idx, neg_count = _top_random(negative, batch_size_per_image, neg_seed)
        neg_count = tf.minimum(neg_count, batch_size_per_image - pos_count)
        sampled_pos = _row_mask(pos_idx, pos_count, num_anchors)
        sampled_neg = _row_mask(neg_idx, neg_count, num_anchors)
        labels = tf.where(sampled_pos, 1, tf.where(sampled_neg, 0, -1))

        # Match and encode the sampled positives only: (B, P) instead of (B, A).
        pos_keep = tf.range(tf.shape(pos_idx)[1])[None, :] < pos_count[:, None]
        pos_anchors = tf.gather(anchors, pos_idx)  # (B, P, 4)
        pos_iou = box_ops.pairwise_iou(pos_anchors, real_boxes)  # (B, P, G')
        pos_iou = tf.where(real_valid[:, None, :], pos_iou, -1.0)
        by_iou = tf.gather(real_index, tf.argmax(pos_iou, -1, output_type=tf.int32),
                           batch_dims=1)
        forced = tf.gather(claimed_by, pos_idx, batch_dims=1) - 1
        pos_match = tf.where(forced >= 0, forced, by_iou)
        pos_deltas = box_ops.encode_boxes(
            tf.gather(gt_boxes, pos_match, batch_dims=1), pos_anchors, box_weights)
        scatter_at = _batch_indices(pos_idx)
        box_targets = tf.scatter_nd(
            scatter_at, tf.where(pos_keep[..., None], pos_deltas, 0.0),
            tf.stack([tf.shape(labels)[0], num_anchors, 4]))
        matched_gt = tf.scatter_nd(
            scatter_at, tf.where(pos_keep, pos_match + 1, 0), tf.shape(labels)) - 1
        return {"labels": labels, "box_targets": box_targets, "matched_gt": matched_gt}


def sample_head_targets(proposals, gt_boxes, gt_ignore, num_boxes, *, seed,
                        num_proposals=None, foreground_iou=0.5, background_iou=(0.0, 0.5),
                        ignore_ioa=0.5, rois_per_image=128, foreground_fraction=0.25,
                        add_gt_boxes=True, box_weights=box_ops.BOX_CODING_WEIGHTS,
                        trim_gt_padding=True):
    """Samples a fixed number of RoIs per image for the second stage, with targets.

    Candidates are the proposals plus, with ``add_gt_boxes``, every real GT
    box (so early in training, when proposals are poor, each GT still trains
    the heads). A candidate is *foreground* if its best IoU with a real GT is
    ``>= foreground_iou``; *background* if that IoU is in
    ``[background_iou[0], background_iou[1])`` and it is not inside an ignore
    region (IoA ``> ignore_ioa``, or IoU with an ignored box ``>= background_iou[1]``).
    Up to ``round(rois_per_image * foreground_fraction)`` foreground RoIs are
    sampled at random, background fills the rest; slots left over are padding.

    Args:
      proposals: ``(B, P, 4)`` boxes, e.g. from
        :func:`~keras_textnet.ops.proposals.generate_proposals` (stop-gradient).
      gt_boxes, gt_ignore, num_boxes: the pipeline's ground truth (module docstring).
      seed: ``(2,)`` int seed of the stateless sampling.
      num_proposals: optional ``(B,)`` int, proposal rows in use (the ``valid``
        output of ``generate_proposals``); zero-area proposals are always skipped.
      foreground_iou: IoU for a foreground RoI.
      background_iou: ``(low, high)`` IoU range of background RoIs.
      ignore_ioa: RoIs covered more than this by an ignore region are never background.
      rois_per_image: ``R``, fixed number of output RoIs per image.
      foreground_fraction: largest share of foreground RoIs.
      add_gt_boxes: add the real GT boxes to the candidates.
      box_weights: ``(wy, wx, wh, ww)`` of the head's box coding.
      trim_gt_padding: as in :func:`assign_rpn_targets`.
    Returns:
      dict with
      ``rois`` ``(B, R, 4)`` float32: foreground first, then background, then
      padding rows of zeros (give the RoI pooling degenerate-box-safe input);
      ``labels`` ``(B, R)`` int32: 1 text, 0 background, -1 padding;
      ``box_targets`` ``(B, R, 4)`` float32 deltas of the matched GT w.r.t. the
      RoI (zeros where ``labels != 1``);
      ``matched_gt`` ``(B, R)`` int32 GT row of each foreground RoI (-1 elsewhere),
      to gather its text, angle, ... from the pipeline's per-box tensors.
    """
    low, high = (float(v) for v in background_iou)
    if not 0.0 <= low <= high:
        raise ValueError(f"`background_iou` must be (low, high) with 0 <= low <= high; "
                         f"received {background_iou}.")
    _check_fraction("foreground_fraction", foreground_fraction)
    if int(rois_per_image) < 1:
        raise ValueError(f"`rois_per_image` must be a positive integer; received {rois_per_image}.")
    rois_per_image = int(rois_per_image)
    with tf.name_scope("sample_head_targets"):
        proposals = tf.stop_gradient(tf.cast(tf.convert_to_tensor(proposals), tf.float32))
        gt_boxes = tf.cast(tf.convert_to_tensor(gt_boxes), tf.float32)
        gt_ignore = tf.cast(gt_ignore, tf.bool)
        num_boxes = tf.cast(num_boxes, tf.int32)
        all_gt_boxes = gt_boxes
        if trim_gt_padding:
            gt_boxes, gt_ignore = _trim_padding(gt_boxes, gt_ignore, num_boxes)
        real, ignored = _gt_masks(gt_boxes, gt_ignore, num_boxes)

        usable = box_ops.box_area(proposals) > 0
        if num_proposals is not None:
            usable &= (tf.range(tf.shape(proposals)[1])[None, :]
                       < tf.cast(tf.reshape(num_proposals, [-1, 1]), tf.int32))
        candidates = proposals
        if add_gt_boxes:
            candidates = tf.concat([proposals, gt_boxes], axis=1)
            usable = tf.concat([usable, real], axis=1)

        max_iou, matched, iou_ignored, ioa_ignored = _match(
            candidates, gt_boxes, real, ignored)
        foreground = usable & (max_iou >= foreground_iou)
        near_ignore = (ioa_ignored > ignore_ioa) | (iou_ignored >= high)
        background = (usable & ~foreground & ~near_ignore
                      & (tf.maximum(max_iou, 0.0) >= low) & (max_iou < high))

        max_foreground = round(rois_per_image * foreground_fraction)
        fg_idx, fg_count = _top_random(foreground, max_foreground, seed)
        bg_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        bg_idx, bg_count = _top_random(background, rois_per_image, bg_seed)
        bg_count = tf.minimum(bg_count, rois_per_image - fg_count)

        # Slot r holds foreground r, else background r - fg_count, else padding.
        slot = tf.range(rois_per_image)[None, :]
        is_fg = slot < fg_count[:, None]
        is_bg = ~is_fg & (slot < (fg_count + bg_count)[:, None])
        fg_idx = tf.pad(fg_idx, [[0, 0], [0, rois_per_image - tf.shape(fg_idx)[1]]])
        bg_slot = tf.clip_by_value(slot - fg_count[:, None], 0, tf.shape(bg_idx)[1] - 1)
        bg_pick = tf.gather(bg_idx, bg_slot, batch_dims=1)
        pick = tf.where(is_fg, fg_idx, tf.where(is_bg, bg_pick, 0))
        in_use = is_fg | is_bg

        rois = tf.gather(candidates, pick, batch_dims=1)
        rois = tf.where(in_use[..., None], rois, 0.0)
        labels = tf.where(is_fg, 1, tf.where(is_bg, 0, -1))
        roi_match = tf.gather(matched, pick, batch_dims=1)
        matched_boxes = tf.gather(all_gt_boxes, roi_match, batch_dims=1)
        deltas = box_ops.encode_boxes(matched_boxes, rois, box_weights)
        box_targets = tf.where(is_fg[..., None], deltas, 0.0)
        matched_gt = tf.where(is_fg, roi_match, -1)
        return {"rois": rois, "labels": labels, "box_targets": box_targets,
                "matched_gt": matched_gt}
