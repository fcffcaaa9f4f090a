"""TextNet: the multitask network of Sarshogh & Hines (ICDAR 2019) as a ``keras.Model``.

A backbone and a Feature Pyramid Network give one shared representation.
Three heads use it: a region proposal network with text-shaped anchors, a
second-stage head that classifies each region as text or background and
refines its box and angle, and the text recognition network, which reads every
line pooled from the stride-4 map ``C2`` by dynamic pooling (height fixed,
width proportional to the line's aspect) and is trained with CTC.

Box convention: tensors are ``(y0, x0, y1, x1)`` in the pixels of the input
image, angles in radians, counter-clockwise. Rotated lines are described by
the axis-aligned bounds of their ink plus an angle (as in the annotation
format); the recognizer pools each line's own rotated rectangle, recovered
by :func:`keras_textnet.ops.rotated_boxes.bounds_to_rotated_box`.

Training (``model.fit`` on :func:`keras_textnet.data.pipeline.make_dataset`)
sums these losses, each multiplied by ``loss_weights[name]``:

* ``rpn_class``: binary cross-entropy of the sampled anchors' objectness,
* ``rpn_box``: Huber loss of the positive anchors' box deltas,
* ``head_class``: binary cross-entropy of the sampled RoIs (text vs background),
* ``head_box``: Huber loss of the foreground RoIs' refined-box deltas,
* ``head_angle``: Huber loss of the foreground RoIs' angle (radians),
* ``ctc``: CTC negative log-likelihood per character of the recognised lines,
  which are the ground-truth lines (readable ones only) with jittered
  boxes, as a detector's imperfect boxes would be.

All default to 1.0 (``DEFAULT_LOSS_WEIGHTS``).

Inference (``model(images)`` / ``model.predict``) returns fixed-size tensors,
``D = detections_per_image`` rows per image and ``L = max_text_length``:

* ``boxes`` ``(B, D, 4)``, ``scores`` ``(B, D)``, ``angles`` ``(B, D)``,
  ``count`` ``(B,)`` (rows past ``count`` are padding),
* ``char_ids`` ``(B, D, L)`` charset ids (0 = padding), ``lengths`` ``(B, D)``,
* ``positions`` ``(B, D, L)`` the recognizer step where each character was
  emitted, ``num_steps`` ``(B, D)`` the line's valid steps (so character
  ``k`` lies about ``positions / num_steps`` along the line),
* ``text_scores`` ``(B, D)`` the recognizer's confidence.
"""

from __future__ import annotations

import copy

import keras
import tensorflow as tf

import keras_textnet.layers  # noqa: F401  (registers the components for .keras loading)
from keras_textnet.charset import Charset
from keras_textnet.ops import anchors as anchor_ops
from keras_textnet.ops import box_ops
from keras_textnet.ops.ctc import ctc_greedy_decode, ctc_loss
from keras_textnet.ops.detection_losses import head_losses, huber, rpn_losses
from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling
from keras_textnet.ops.proposals import batched_nms_padded, generate_proposals
from keras_textnet.ops.roi_align import multilevel_roi_align
from keras_textnet.ops.rotated_boxes import bounds_to_rotated_box
from keras_textnet.ops.target_assignment import assign_rpn_targets, sample_head_targets
from keras_textnet.ops.word_ends import extend_to_word_ends

#: What dynamic pooling may read (see ``recognition_features``).
RECOGNITION_FEATURES = ("C2", "C2+P2")

DEFAULT_LOSS_WEIGHTS = {"rpn_class": 1.0, "rpn_box": 1.0, "head_class": 1.0, "head_box": 1.0,
                        "head_angle": 1.0, "ctc": 1.0}

_serialize = keras.saving.serialize_keras_object
_deserialize = keras.saving.deserialize_keras_object


@keras.saving.register_keras_serializable(package="keras_textnet")
class TextNet(keras.Model):
    """Finds and reads text lines (or words) in document images, in one pass.

    Components are passed in (see :mod:`keras_textnet.models.presets` and
    :meth:`from_preset` for ready-made sets).

    Args:
        backbone: a functional model ``(B, H, W, 3)`` float pixels in
            ``[0, 255]`` -> dict ``C2..C5``.
        feature_pyramid: layer dict ``C*`` -> dict ``P*`` (at least
            ``pyramid_levels``).
        proposal_head: :class:`~keras_textnet.layers.region_proposal_head.RegionProposalHead`
            over ``pyramid_levels``.
        box_head: :class:`~keras_textnet.layers.text_box_head.TextBoxHead`.
        recognizer: a recognizer layer ``(pooled, widths) -> (logits, steps)``.
        charset: the :class:`~keras_textnet.charset.Charset` (or its config).
        pyramid_levels: level names used by the RPN and the box head, finest
            first; their strides are ``2 ** level``.
        anchor_heights, anchor_aspect_ratios: per-level anchor heights and
            the width/height ratios (see :mod:`keras_textnet.ops.anchors`).
        recognition_channels: C2 is projected to this many channels before
            dynamic pooling.
        recognition_features: what the stride-4 map the lines are pooled from
            holds: ``"C2"`` (a 3x3 convolution over the backbone's C2 alone)
            or ``"C2+P2"`` (plus a 1x1 projection of the pyramid's P2, which
            carries the coarser levels' context down to stride 4; the
            projection starts at zero, so a model warm-started from a
            ``"C2"`` one reads exactly as it did).
        pooled_height, max_width, sampling_ratio: dynamic pooling attributes.
        roi_size: ``(rows, columns)`` of the box head's RoIAlign.
        rpn_*: proposal settings in training (``_train``) and inference.
        head_rois_per_image: RoIs sampled per image for the box head.
        recognition_rois_per_image: ground-truth lines read per image.
        box_jitter: jitter of the recognised lines' edges, in line heights.
        train_read_padding: in training, each recognised line is also widened at
            each end by a uniform draw of up to this many line heights, stopped
            short of any other box on its row: the blank margins inference reads
            with ``read_padding``, so that the recognizer learns that they hold
            no character (0: none).
        detections_per_image: ``D``.
        score_threshold, detection_nms_iou: final detection filtering.
        max_text_length: ``L``.
        read_padding: at inference, each detected line is widened by this many
            line heights at both ends before it is read (and returned so), for
            line ends the detector placed a character short; 0 reads the boxes
            as detected.
        read_word_ends: at inference, a line end that cuts a word is first
            carried over the ink to the end of that word, at most this many line
            heights (:func:`keras_textnet.ops.word_ends.extend_to_word_ends`): the
            detector's segments of a long line often stop inside a word. 0: off.
        loss_weights: overrides of ``DEFAULT_LOSS_WEIGHTS``.
        seed: keys the stateless sampling of training targets.

    Example:

    >>> model = TextNet.from_preset("tiny")            # doctest: +SKIP
    >>> model.compile(optimizer="adam")                # doctest: +SKIP
    >>> model.fit(make_dataset("synthetic"), steps_per_epoch=100)  # doctest: +SKIP
    >>> out = model.predict(images)                    # doctest: +SKIP
    """

    def __init__(self, backbone, feature_pyramid, proposal_head, box_head, recognizer, *,
                 charset=None, pyramid_levels=("P2", "P3"),
                 anchor_heights=anchor_ops.DEFAULT_HEIGHTS,
                 anchor_aspect_ratios=anchor_ops.DEFAULT_ASPECT_RATIOS,
                 recognition_channels: int = 64, recognition_features: str = "C2",
                 pooled_height: int = 8, max_width: int = 256,
                 sampling_ratio: int = 2, roi_size=(4, 24),
                 rpn_pre_nms_topk_train: int = 2000, rpn_post_nms_topk_train: int = 512,
                 rpn_pre_nms_topk: int = 1000, rpn_post_nms_topk: int = 300,
                 rpn_nms_iou: float = 0.7, head_rois_per_image: int = 128,
                 recognition_rois_per_image: int = 24, box_jitter: float = 0.08,
                 train_read_padding: float = 0.0,
                 detections_per_image: int = 100, score_threshold: float = 0.5,
                 detection_nms_iou: float = 0.3, max_text_length: int = 96,
                 read_padding: float = 0.0, read_word_ends: float = 0.0,
                 loss_weights: dict | None = None, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone if isinstance(backbone, keras.Model) else _deserialize(backbone)
        self.feature_pyramid = _maybe_deserialize(feature_pyramid)
        self.proposal_head = _maybe_deserialize(proposal_head)
        self.box_head = _maybe_deserialize(box_head)
        self.recognizer = _maybe_deserialize(recognizer)
        if charset is None:
            charset = Charset()
        self.charset = charset if isinstance(charset, Charset) else Charset.from_config(charset)
        self.pyramid_levels = tuple(pyramid_levels)
        strides = []
        for name in self.pyramid_levels:
            if not (isinstance(name, str) and name.startswith("P") and name[1:].isdigit()):
                raise ValueError(f"pyramid_levels must be names like 'P2'; received {name!r}")
            strides.append(2 ** int(name[1:]))
        self.strides = tuple(strides)
        self.anchor_heights = tuple(tuple(float(h) for h in level) for level in anchor_heights)
        if len(self.anchor_heights) != len(self.strides):
            raise ValueError(f"anchor_heights needs one tuple per pyramid level "
                             f"{self.pyramid_levels}; received {anchor_heights!r}")
        self.anchor_aspect_ratios = tuple(float(r) for r in anchor_aspect_ratios)
        for name, value in (("recognition_channels", recognition_channels),
                            ("pooled_height", pooled_height), ("max_width", max_width),
                            ("sampling_ratio", sampling_ratio),
                            ("head_rois_per_image", head_rois_per_image),
                            ("recognition_rois_per_image", recognition_rois_per_image),
                            ("detections_per_image", detections_per_image),
                            ("max_text_length", max_text_length)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer; received {value!r}")
        self.recognition_channels = recognition_channels
        if recognition_features not in RECOGNITION_FEATURES:
            raise ValueError(f"recognition_features must be one of {RECOGNITION_FEATURES}; "
                             f"received {recognition_features!r}")
        if recognition_features == "C2+P2" and "P2" not in self.pyramid_levels:
            raise ValueError("recognition_features='C2+P2' needs P2 among pyramid_levels; "
                             f"received {self.pyramid_levels}")
        self.recognition_features = recognition_features
        self.pooled_height = pooled_height
        self.max_width = max_width
        self.sampling_ratio = sampling_ratio
        self.roi_size = tuple(int(v) for v in roi_size)
        self.rpn_pre_nms_topk_train = int(rpn_pre_nms_topk_train)
        self.rpn_post_nms_topk_train = int(rpn_post_nms_topk_train)
        self.rpn_pre_nms_topk = int(rpn_pre_nms_topk)
        self.rpn_post_nms_topk = int(rpn_post_nms_topk)
        self.rpn_nms_iou = float(rpn_nms_iou)
        self.head_rois_per_image = head_rois_per_image
        self.recognition_rois_per_image = recognition_rois_per_image
        self.box_jitter = float(box_jitter)
        if not 0.0 <= float(train_read_padding) <= 2.0:
            raise ValueError(f"train_read_padding must be in [0, 2] line heights; received "
                             f"{train_read_padding!r}")
        self.train_read_padding = float(train_read_padding)
        self.detections_per_image = detections_per_image
        self.score_threshold = float(score_threshold)
        self.detection_nms_iou = float(detection_nms_iou)
        self.max_text_length = max_text_length
        if not 0.0 <= float(read_padding) <= 2.0:
            raise ValueError(f"read_padding must be in [0, 2] line heights; received "
                             f"{read_padding!r}")
        self.read_padding = float(read_padding)
        if not 0.0 <= float(read_word_ends) <= 10.0:
            raise ValueError(f"read_word_ends must be in [0, 10] line heights; received "
                             f"{read_word_ends!r}")
        self.read_word_ends = float(read_word_ends)
        unknown = set(loss_weights or {}) - set(DEFAULT_LOSS_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown loss weight(s) {sorted(unknown)}; the losses are "
                             f"{sorted(DEFAULT_LOSS_WEIGHTS)}")
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(loss_weights or {})}
        self.seed = int(seed)
        if getattr(self.recognizer, "num_classes", self.charset.num_classes) != \
                self.charset.num_classes:
            raise ValueError(f"the recognizer has {self.recognizer.num_classes} classes but the "
                             f"charset needs {self.charset.num_classes} (characters + blank)")
        with_context = recognition_features == "C2+P2"
        self.recognition_adapter = keras.layers.Conv2D(
            recognition_channels, 3, padding="same",
            activation=None if with_context else "relu", name="recognition_adapter")
        self.recognition_context = keras.layers.Conv2D(
            recognition_channels, 1, use_bias=False, kernel_initializer="zeros",
            name="recognition_context") if with_context else None
        self.loss_trackers = {name: keras.metrics.Mean(name=name)
                              for name in ("loss", *DEFAULT_LOSS_WEIGHTS)}

    # ------------------------------------------------------------------ build
    def build(self, input_shape=None):
        if self.built:
            return
        # Every sublayer is created by running the model once on a small image
        # (marked built first, so that this call does not come back here). The
        # compact inference reads only the lines kept (here the one placeholder
        # row), not every detection slot at full width: loading the shipped model
        # took 11 s on 2 cores with ``self(...)``, most of it this warm-up.
        self.built = True
        self.infer(tf.zeros((1, 64, 64, 3), tf.uint8), training=False, compact=True)

    def compile(self, optimizer="adam", **kwargs):
        """``keras.Model.compile``, with ``jit_compile=False`` unless asked.

        Dynamic pooling has data-dependent shapes, which XLA cannot compile;
        Keras's default ``"auto"`` would turn XLA on where TF sees a GPU.
        The losses come from the model itself: no ``loss`` argument is needed.
        """
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=optimizer, **kwargs)

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    # --------------------------------------------------------------- features
    def _features(self, images, training):
        x = tf.cast(images, tf.float32)
        feats = self.backbone(x, training=training)
        pyramid = _float32(self.feature_pyramid(feats, training=training))
        recognition_map = self.recognition_adapter(feats["C2"])
        if self.recognition_context is not None:
            recognition_map = keras.ops.relu(
                recognition_map + self.recognition_context(pyramid["P2"]))
        return pyramid, _float32(recognition_map)

    def _anchors(self, image_size):
        return anchor_ops.generate_anchors(image_size, strides=self.strides,
                                           heights=self.anchor_heights,
                                           aspect_ratios=self.anchor_aspect_ratios)

    def _roi_features(self, pyramid, rois):
        """RoIAlign features ``(B * R, rows, cols, C)`` of ``rois`` ``(B, R, 4)``."""
        batch = tf.shape(rois)[0]
        per_image = tf.shape(rois)[1]
        flat = tf.reshape(rois, [-1, 4])
        indices = tf.repeat(tf.range(batch, dtype=tf.int32), per_image)
        maps = {name: pyramid[name] for name in self.pyramid_levels}
        strides = dict(zip(self.pyramid_levels, self.strides))
        return multilevel_roi_align(maps, strides, flat, indices, output_size=self.roi_size,
                                    sampling_ratio=2)

    def _read_lines(self, recognition_map, boxes, angles, training, trim=None):
        """Recognizer logits of lines ``boxes`` ``(B, K, 4)`` (bounds) with ``angles`` ``(B, K)``."""
        batch, per_image = tf.shape(boxes)[0], tf.shape(boxes)[1]
        indices = tf.repeat(tf.range(batch, dtype=tf.int32), per_image)
        return self._read_flat_lines(recognition_map, tf.reshape(boxes, [-1, 4]),
                                     tf.reshape(angles, [-1]), indices,
                                     trim=training if trim is None else trim,
                                     training=training)

    def _read_flat_lines(self, recognition_map, boxes, angles, indices, trim, training):
        """Logits and steps of lines ``boxes`` ``(N, 4)`` of images ``indices`` ``(N,)``.

        With ``trim``, the pooled columns past the widest line (rounded up to
        8) are dropped before the recognizer: they are padding that every
        recognizer ignores, and lines are mostly much shorter than
        ``max_width``. The exports keep the fixed ``max_width``.
        """
        flat = bounds_to_rotated_box(boxes, angles)
        pooled, widths = dynamic_roi_pooling(
            recognition_map, flat, indices, angles, spatial_scale=0.25,
            pooled_height=self.pooled_height, max_width=self.max_width,
            sampling_ratio=self.sampling_ratio, aligned=True)
        if trim and not training and READ_BUCKETS > 1 and not tf.executing_eagerly():
            return self._read_in_buckets(pooled, widths)
        if trim:
            pooled = _trim_columns(pooled, widths)
        return _float32(self.recognizer(pooled, widths, training=training))

    def _read_in_buckets(self, pooled, widths):
        """The recognizer's ``(logits, steps)`` of ``pooled`` lines, read in
        :data:`READ_BUCKETS` groups of similar width, each trimmed to its widest.

        Lines padded to the page's widest line cost the recognizer twice the
        columns they hold (1.97x over our real validation pages); in three
        groups, 1.34x. Each group also reads one extra row (the narrowest line
        of the page), dropped after, so that no group is empty. The recognizer
        masks every line's padding, so the outputs are the lines' own.
        """
        n = tf.shape(widths)[0]
        order = tf.argsort(widths, stable=True)
        parts, steps = [], []
        for k in range(READ_BUCKETS):
            rows = tf.concat([order[n * k // READ_BUCKETS:n * (k + 1) // READ_BUCKETS],
                              order[:1]], 0)
            group_widths = tf.gather(widths, rows)
            logits, group_steps = _float32(self.recognizer(
                _trim_columns(tf.gather(pooled, rows), group_widths[:-1]), group_widths,
                training=False))
            parts.append(logits[:-1])
            steps.append(group_steps[:-1])
        longest = tf.reduce_max(tf.stack([tf.shape(p)[1] for p in parts]))
        logits = tf.concat([tf.pad(p, [[0, 0], [0, longest - tf.shape(p)[1]], [0, 0]])
                            for p in parts], 0)
        back = tf.argsort(order, stable=True)       # sorted position of every line
        return tf.gather(logits, back), tf.gather(tf.concat(steps, 0), back)

    # -------------------------------------------------------------- inference
    def call(self, images, training=False):
        return self.infer(images, training=training, compact=False)

    def infer(self, images, training=False, compact=True):
        """The outputs of ``call``; with ``compact``, read only the lines kept.

        ``call`` (and so every export) runs the recognizer on all ``D``
        detection slots at the full ``max_width`` columns, shapes fixed for
        TFLite, ONNX and TF Serving. ``compact=True`` gives the same outputs
        but gathers the kept detections of the whole batch first and pools
        them only as wide as the widest needs: on a CPU, most of the
        recognizer's work is saved (dynamic shapes: for Keras and
        ``tf.function`` use, not for the fixed-shape exports).
        """
        pyramid, recognition_map = self._features(images, training)
        objectness, deltas = _float32(self.proposal_head({k: pyramid[k]
                                                          for k in self.pyramid_levels}))
        image_size = tf.shape(images)[1:3]
        anchors = self._anchors(image_size)
        proposals, _, valid = generate_proposals(
            objectness, deltas, anchors, image_size, pre_nms_topk=self.rpn_pre_nms_topk,
            post_nms_topk=self.rpn_post_nms_topk, nms_iou=self.rpn_nms_iou)
        batch, num = tf.shape(proposals)[0], tf.shape(proposals)[1]
        head = _float32(self.box_head(self._roi_features(pyramid, proposals)))
        refined = box_ops.decode_boxes(tf.reshape(head["box_deltas"], [batch, num, 4]), proposals)
        refined = box_ops.clip_boxes(refined, image_size)
        in_use = tf.range(num)[tf.newaxis, :] < valid[:, tf.newaxis]
        scores = tf.where(in_use, tf.sigmoid(tf.reshape(head["class_logits"], [batch, num])), 0.0)
        angles = tf.reshape(head["angles"], [batch, num])
        keep, count = batched_nms_padded(refined, scores, self.detections_per_image,
                                         iou_threshold=self.detection_nms_iou,
                                         score_threshold=self.score_threshold)
        mask = tf.range(self.detections_per_image)[tf.newaxis, :] < count[:, tf.newaxis]
        boxes = tf.where(mask[..., tf.newaxis], tf.gather(refined, keep, batch_dims=1), 0.0)
        det_scores = tf.where(mask, tf.gather(scores, keep, batch_dims=1), 0.0)
        det_angles = tf.where(mask, tf.gather(angles, keep, batch_dims=1), 0.0)
        d, length = self.detections_per_image, self.max_text_length
        flat_mask = tf.reshape(mask, [-1])
        if self.read_word_ends > 0 or self.read_padding > 0:
            # the boxes read (and returned): kept ones only where shapes may vary
            flat_boxes = tf.reshape(boxes, [-1, 4])
            image_of = tf.repeat(tf.range(batch, dtype=tf.int32), d)
            if compact:
                rows = tf.where(flat_mask)
                read = self._read_boxes(images, tf.gather_nd(flat_boxes, rows),
                                        tf.gather_nd(tf.reshape(det_angles, [-1]), rows),
                                        tf.gather_nd(image_of, rows))
                flat_boxes = tf.tensor_scatter_nd_update(flat_boxes, rows, read)
            else:
                flat_boxes = self._read_boxes(images, flat_boxes, tf.reshape(det_angles, [-1]),
                                              image_of)
            boxes = tf.where(mask[..., tf.newaxis], tf.reshape(flat_boxes, tf.shape(boxes)), 0.0)
        if compact:
            rows = tf.where(flat_mask)
            # One harmless extra row (an 8x8 box on image 0) keeps the batch of
            # lines non-empty when nothing is kept (BatchNorm folding and the
            # recognizer's reshapes need a row); it is dropped after reading.
            flat_boxes = tf.concat([tf.gather_nd(tf.reshape(boxes, [-1, 4]), rows),
                                    tf.constant([[0., 0., 8., 8.]])], 0)
            flat_angles = tf.concat([tf.gather_nd(tf.reshape(det_angles, [-1]), rows),
                                     tf.zeros([1])], 0)
            image_of = tf.concat([tf.cast(rows[:, 0] // d, tf.int32), tf.zeros([1], tf.int32)], 0)
            logits, steps = self._read_flat_lines(recognition_map, flat_boxes, flat_angles,
                                                  image_of, trim=True, training=training)
            logits, steps = logits[:-1], steps[:-1]
            kept = ctc_greedy_decode(logits, steps, length)
            total = tf.shape(flat_mask, out_type=tf.int64)[:1]
            decoded = {name: tf.scatter_nd(rows, kept[name], tf.concat(
                [total, tf.shape(kept[name], out_type=tf.int64)[1:]], 0))
                for name in ("ids", "lengths", "positions", "scores")}
            steps = tf.scatter_nd(rows, tf.cast(steps, tf.int32), total)
        else:
            # Padding rows get a harmless box so pooling stays finite; masked below.
            safe_boxes = tf.where(mask[..., tf.newaxis], boxes, tf.constant([0., 0., 8., 8.]))
            logits, steps = self._read_lines(recognition_map, safe_boxes, det_angles, training)
            decoded = ctc_greedy_decode(logits, steps, length)
        char_mask = tf.reshape(mask, [-1, d, 1])
        return {
            "boxes": boxes,
            "scores": det_scores,
            "angles": det_angles,
            "count": count,
            "char_ids": tf.where(char_mask, tf.reshape(decoded["ids"], [-1, d, length]), 0),
            "lengths": tf.reshape(tf.where(flat_mask, decoded["lengths"], 0), [-1, d]),
            "positions": tf.where(char_mask, tf.reshape(decoded["positions"], [-1, d, length]),
                                  0),
            "num_steps": tf.reshape(tf.where(flat_mask, tf.cast(steps, tf.int32), 0), [-1, d]),
            "text_scores": tf.reshape(tf.where(flat_mask, decoded["scores"], 0.0), [-1, d]),
        }

    def _read_boxes(self, images, boxes, angles, image_of):
        """Detected ``boxes`` ``(N, 4)`` as they are read: ends carried to the ends of the
        words they cut (``read_word_ends``), then widened by ``read_padding``."""
        if self.read_word_ends > 0:
            boxes = extend_to_word_ends(images, boxes, image_of, angles, reach=self.read_word_ends)
        if self.read_padding > 0:
            boxes = self._pad_ends(boxes, tf.cast(tf.shape(images)[2], tf.float32))
        return boxes

    def _pad_ends(self, boxes, image_width):
        """``boxes`` (y0, x0, y1, x1) widened by ``read_padding`` line heights at each end.

        The detector's line ends are often a character short (its regression at
        the far ends of a long box): the recognizer then loses a word's first or
        last letter. The widened box is read and returned; the predictor then
        fits every word, and so every line, to its ink.
        """
        y0, x0, y1, x1 = tf.unstack(boxes, axis=-1)
        pad = self.read_padding * (y1 - y0)
        return tf.stack([y0, tf.maximum(x0 - pad, 0.0), y1, tf.minimum(x1 + pad, image_width)],
                        axis=-1)

    # --------------------------------------------------------------- training
    def _step_seed(self):
        step = tf.cast(self.optimizer.iterations if self.optimizer is not None else 0, tf.int64)
        return tf.stack([tf.constant(self.seed, tf.int64), step])

    def _recognition_samples(self, targets, seed, image_width=None):
        """Up to ``recognition_rois_per_image`` readable GT lines per image, jittered.

        With ``train_read_padding``, each is also widened (within ``image_width``).
        """
        boxes = tf.cast(targets["boxes"], tf.float32)
        g = boxes.shape[1] if boxes.shape[1] is not None else tf.shape(boxes)[1]
        k = min(self.recognition_rois_per_image, g) if isinstance(g, int) else \
            self.recognition_rois_per_image
        s_pick, s_jitter, s_pad = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        rows = tf.range(tf.shape(boxes)[1])[tf.newaxis, :]
        readable = ((rows < targets["num_boxes"][:, tf.newaxis]) & ~targets["ignore"]
                    & (targets["text_lengths"] > 0))
        priority = tf.random.stateless_uniform(tf.shape(readable, out_type=tf.int32), s_pick)
        priority = tf.where(readable, priority, -1.0)
        top, picked = tf.math.top_k(priority, k=k)
        chosen = top >= 0.0
        picked_boxes = tf.gather(boxes, picked, batch_dims=1)
        height = picked_boxes[..., 2] - picked_boxes[..., 0]
        noise = tf.random.stateless_uniform(tf.shape(picked_boxes), s_jitter, minval=-1.0,
                                            maxval=1.0)
        picked_boxes = picked_boxes + noise * self.box_jitter * height[..., tf.newaxis]
        if self.train_read_padding > 0:
            draws = tf.random.stateless_uniform(tf.concat([tf.shape(picked)[:2], [2]], 0), s_pad)
            picked_boxes = self._pad_to_neighbours(
                picked_boxes, height, boxes, rows < targets["num_boxes"][:, tf.newaxis], picked,
                draws)
            if image_width is not None:
                picked_boxes = tf.stack(
                    [picked_boxes[..., 0], tf.maximum(picked_boxes[..., 1], 0.0),
                     picked_boxes[..., 2], tf.minimum(picked_boxes[..., 3], image_width)],
                    axis=-1)
        picked_boxes = tf.where(chosen[..., tf.newaxis], picked_boxes,
                                tf.constant([0., 0., 8., 8.]))
        return {
            "boxes": picked_boxes,
            "angles": tf.gather(targets["angles"], picked, batch_dims=1),
            "labels": tf.gather(targets["texts"], picked, batch_dims=1),
            "label_lengths": tf.where(chosen, tf.gather(targets["text_lengths"], picked,
                                                        batch_dims=1), 0),
            "mask": chosen,
        }

    def _pad_to_neighbours(self, picked_boxes, height, boxes, valid, picked, draws):
        """``picked_boxes`` widened at each end by ``draws * train_read_padding`` heights.

        ``boxes`` (B, G, 4) are all of an image's boxes (``valid`` marks the real
        rows, ignored ones included), ``picked`` (B, K) the rows the picked boxes
        came from, ``draws`` (B, K, 2) uniform [0, 1) for the left and right end.
        A widened end stops at 0.8 of the gap to the nearest box that shares at
        least half of the shorter height with the line (a neighbouring segment or
        cell, whose ink the line's label does not hold).
        """
        y0, x0, y1, x1 = (picked_boxes[..., i][..., tf.newaxis] for i in range(4))
        oy0, ox0, oy1, ox1 = (boxes[..., i][:, tf.newaxis, :] for i in range(4))
        other_h = oy1 - oy0
        overlap = tf.minimum(y1, oy1) - tf.maximum(y0, oy0)
        same_row = overlap >= 0.5 * tf.minimum(y1 - y0, other_h)
        not_self = tf.range(tf.shape(boxes)[1])[tf.newaxis, tf.newaxis, :] != picked[..., tf.newaxis]
        near = same_row & not_self & valid[:, tf.newaxis, :]
        big = tf.constant(1e9)
        left_gap = tf.reduce_min(tf.where(near & (ox1 <= x0 + 1.0), x0 - ox1, big), axis=-1)
        right_gap = tf.reduce_min(tf.where(near & (ox0 >= x1 - 1.0), ox0 - x1, big), axis=-1)
        reach = self.train_read_padding * height
        pad_left = tf.minimum(draws[..., 0] * reach, tf.maximum(0.8 * left_gap, 0.0))
        pad_right = tf.minimum(draws[..., 1] * reach, tf.maximum(0.8 * right_gap, 0.0))
        return tf.stack([picked_boxes[..., 0], picked_boxes[..., 1] - pad_left,
                         picked_boxes[..., 2], picked_boxes[..., 3] + pad_right], axis=-1)

    def compute_losses(self, images, targets, training=True, seed=None):
        """All losses of one batch (a dict, plus ``loss``: their weighted sum)."""
        seed = self._step_seed() if seed is None else tf.cast(seed, tf.int64)
        s_rpn, s_head, s_rec = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        gt_boxes = tf.cast(targets["boxes"], tf.float32)
        gt_ignore = targets["ignore"]
        num_boxes = tf.cast(targets["num_boxes"], tf.int32)

        pyramid, recognition_map = self._features(images, training)
        objectness, deltas = _float32(self.proposal_head({k: pyramid[k]
                                                          for k in self.pyramid_levels}))
        image_size = tf.shape(images)[1:3]
        anchors = self._anchors(image_size)
        rpn_t = assign_rpn_targets(anchors, gt_boxes, gt_ignore, num_boxes, seed=s_rpn)
        rpn_class, rpn_box = rpn_losses(rpn_t["labels"], rpn_t["box_targets"], objectness, deltas)

        proposals, _, valid = generate_proposals(
            objectness, deltas, anchors, image_size, pre_nms_topk=self.rpn_pre_nms_topk_train,
            post_nms_topk=self.rpn_post_nms_topk_train, nms_iou=self.rpn_nms_iou)
        head_t = sample_head_targets(proposals, gt_boxes, gt_ignore, num_boxes, seed=s_head,
                                     num_proposals=valid,
                                     rois_per_image=self.head_rois_per_image)
        rois = tf.stop_gradient(head_t["rois"])
        batch, per_image = tf.shape(rois)[0], tf.shape(rois)[1]
        head = _float32(self.box_head(self._roi_features(pyramid, rois)))
        class_logits = tf.reshape(head["class_logits"], [batch, per_image])
        box_deltas = tf.reshape(head["box_deltas"], [batch, per_image, 4])
        head_class, head_box = head_losses(head_t["labels"], head_t["box_targets"],
                                           class_logits, box_deltas)
        foreground = tf.cast(head_t["labels"] == 1, tf.float32)
        gt_angles = tf.gather(tf.cast(targets["angles"], tf.float32),
                              tf.maximum(head_t["matched_gt"], 0), batch_dims=1)
        angle_error = huber(tf.reshape(head["angles"], [batch, per_image]) - gt_angles, 0.1)
        head_angle = tf.reduce_sum(angle_error * foreground) / tf.maximum(
            tf.reduce_sum(foreground), 1.0)

        rec = self._recognition_samples(targets, s_rec,
                                        image_width=tf.cast(image_size[1], tf.float32))
        logits, steps = self._read_lines(recognition_map, rec["boxes"], rec["angles"], training)
        labels = tf.reshape(rec["labels"], [-1, tf.shape(rec["labels"])[-1]])
        label_lengths = tf.reshape(rec["label_lengths"], [-1])
        per_line = ctc_loss(labels, label_lengths, logits, steps)
        weight = tf.cast(label_lengths > 0, tf.float32)
        per_char = per_line / tf.maximum(tf.cast(label_lengths, tf.float32), 1.0)
        ctc = tf.reduce_sum(per_char * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)

        losses = {"rpn_class": rpn_class, "rpn_box": rpn_box, "head_class": head_class,
                  "head_box": head_box, "head_angle": head_angle, "ctc": ctc}
        losses["loss"] = tf.add_n([self.loss_weights[k] * v for k, v in losses.items()])
        return losses

    def _update_trackers(self, losses):
        for name, value in losses.items():
            self.loss_trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def train_step(self, data):
        images, targets = data[0], data[1]
        with tf.GradientTape() as tape:
            losses = self.compute_losses(images, targets, training=True)
            # tf.distribute sums the replicas' gradients: each replica takes
            # its share of the mean (as Keras's own losses do).
            loss = losses["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer,
                                                                "scale_loss") else loss
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(grads, variables) if g is not None])
        return self._update_trackers(losses)

    def test_step(self, data):
        images, targets = data[0], data[1]
        losses = self.compute_losses(images, targets, training=False,
                                     seed=tf.constant([0, 0], tf.int64))
        return self._update_trackers(losses)

    # ---------------------------------------------------------- serialization
    def get_config(self):
        return {
            "name": self.name,
            "backbone": _serialize(self.backbone),
            "feature_pyramid": _serialize(self.feature_pyramid),
            "proposal_head": _serialize(self.proposal_head),
            "box_head": _serialize(self.box_head),
            "recognizer": _serialize(self.recognizer),
            "charset": self.charset.get_config(),
            "pyramid_levels": list(self.pyramid_levels),
            "anchor_heights": [list(h) for h in self.anchor_heights],
            "anchor_aspect_ratios": list(self.anchor_aspect_ratios),
            "recognition_channels": self.recognition_channels,
            "recognition_features": self.recognition_features,
            "pooled_height": self.pooled_height,
            "max_width": self.max_width,
            "sampling_ratio": self.sampling_ratio,
            "roi_size": list(self.roi_size),
            "rpn_pre_nms_topk_train": self.rpn_pre_nms_topk_train,
            "rpn_post_nms_topk_train": self.rpn_post_nms_topk_train,
            "rpn_pre_nms_topk": self.rpn_pre_nms_topk,
            "rpn_post_nms_topk": self.rpn_post_nms_topk,
            "rpn_nms_iou": self.rpn_nms_iou,
            "head_rois_per_image": self.head_rois_per_image,
            "recognition_rois_per_image": self.recognition_rois_per_image,
            "box_jitter": self.box_jitter,
            "train_read_padding": self.train_read_padding,
            "detections_per_image": self.detections_per_image,
            "score_threshold": self.score_threshold,
            "detection_nms_iou": self.detection_nms_iou,
            "read_padding": self.read_padding,
            "read_word_ends": self.read_word_ends,
            "max_text_length": self.max_text_length,
            "loss_weights": dict(self.loss_weights),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        # A copy: Keras's Functional.from_config (the backbone's) pops the keys of the
        # config it is given, and a caller's config must survive being used.
        return cls(**copy.deepcopy(config))

    @classmethod
    def from_preset(cls, preset: str, charset: Charset | None = None, **overrides) -> "TextNet":
        """A new, untrained model of a named preset (``keras_textnet.models.presets.PRESETS``).

        ``overrides`` replace preset settings (model arguments, or component
        settings such as ``fpn_channels``); nothing is downloaded.
        """
        from keras_textnet.models.builder import preset_arguments

        model = cls(**preset_arguments(preset, charset=charset, **overrides))
        model.build()
        return model


#: Groups of similar width in which compact inference reads its lines in a graph
#: (:meth:`TextNet._read_in_buckets`); 1 reads them all at the widest line's width. Eager
#: calls (a predictor's first few pages) read them together: there, three recognizer
#: calls cost more in dispatch than the columns they save (1.13 s against 1.04 s a page).
READ_BUCKETS = 3


def _trim_columns(pooled, widths):
    """``pooled`` without the columns past the widest of ``widths`` (rounded up to 8)."""
    used = tf.reduce_max(tf.concat([tf.cast(widths, tf.int32), [1]], 0))
    return pooled[:, :, :tf.minimum((used + 7) // 8 * 8, tf.shape(pooled)[2])]


def _float32(outputs):
    """Floating outputs of a component in float32 (under a mixed-precision policy the
    components compute in float16; the detection and CTC math around them stays float32)."""
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs)


def _maybe_deserialize(obj):
    return _deserialize(obj) if isinstance(obj, dict) else obj


__all__ = ["DEFAULT_LOSS_WEIGHTS", "TextNet"]
