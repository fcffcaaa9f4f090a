"""CTC loss and greedy CTC decoding for the text recognition network (TRN).

Conventions (see :mod:`keras_textnet.charset`): class ``0`` is the CTC blank and
also the padding of fixed-width label tensors; characters are ``1 .. K - 1``
for ``K = num_classes``. Logits are batch-major, ``(N, T, K)``, and every row
carries its own valid length: time steps ``t >= logit_lengths[i]`` are padding
and never read.

* :func:`ctc_loss` wraps ``tf.nn.ctc_loss`` with **sparse** labels (the compiled
  CPU/GPU kernel; the dense-label path runs a graph-level loop and made a
  whole training step 1.8x slower here), and makes the rows that kernel rejects
  (empty batch, empty label, label that cannot fit) harmless: their loss and
  gradient are exactly zero.
* :func:`ctc_greedy_decode` is best-path decoding written with plain tensor ops
  only (argmax, comparisons, cumsum, one_hot, batched matmul), so it converts to
  TFLite builtins and ONNX, unlike ``tf.nn.ctc_greedy_decoder``. It also gives
  the time step of every character, which places word boxes inside a line.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["ctc_greedy_decode", "ctc_loss", "ctc_required_length"]


def ctc_required_length(labels, label_lengths):
    """Fewest time steps a CTC alignment of each label needs.

    That is the label length plus one for every pair of equal adjacent
    characters (a blank must separate them).

    Args:
        labels: ``(N, L)`` integer ids, padded after ``label_lengths``.
        label_lengths: ``(N,)`` integer lengths (clipped to ``[0, L]``).

    Returns:
        ``(N,)`` int32.
    """
    labels = tf.convert_to_tensor(labels)
    labels = tf.cast(labels, tf.int32)
    max_len = tf.shape(labels)[1]
    lengths = tf.clip_by_value(tf.cast(label_lengths, tf.int32), 0, max_len)
    # Pair (j - 1, j) is a repeat when both lie inside the label.
    inside = tf.sequence_mask(lengths, max_len)
    repeats = tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]), inside[:, 1:])
    return lengths + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


def _dense_to_sparse(labels, lengths):
    """``(N, L)`` padded labels -> SparseTensor holding the first ``lengths[i]`` ids of row i."""
    mask = tf.sequence_mask(lengths, tf.shape(labels)[1])
    indices = tf.where(mask)
    return tf.SparseTensor(indices, tf.gather_nd(labels, indices),
                           tf.cast(tf.shape(labels), tf.int64))


def ctc_loss(labels, label_lengths, logits, logit_lengths, blank_index=0):
    """Per-row CTC negative log-likelihood, ``-log p(label | logits)``.

    Uses ``tf.nn.ctc_loss`` with the labels turned into a ``tf.SparseTensor``
    (the compiled kernel). The label tensor keeps its fixed padded width, so a
    ``tf.function`` does not retrace from batch to batch.

    Rows that have no usable target get a loss of exactly ``0`` and a zero
    gradient (the kernel would raise or return ``inf`` for them):

    * ``label_lengths[i] == 0`` (e.g. a region without transcription);
    * labels that cannot be aligned in ``logit_lengths[i]`` steps: fewer steps
      than characters plus one blank between every pair of equal adjacent
      characters (see :func:`ctc_required_length`). Such a row would have an
      infinite loss; it is skipped instead. Check ``ctc_required_length`` against
      the logit lengths to count how often that happens: it means the line is
      pooled too narrow for its text.

    Any other non-finite value is also replaced by ``0`` (``tf.where(is_finite)``).
    An empty batch (``N == 0``) returns an empty ``(0,)`` tensor.

    Args:
        labels: ``(N, L)`` integer ids in ``[1, K)``, padded (with ``0``) after
            ``label_lengths``. Ids past a row's length are ignored.
        label_lengths: ``(N,)`` integers, clipped to ``[0, L]``.
        logits: ``(N, T, K)`` unnormalized scores, batch-major; cast to float32.
        logit_lengths: ``(N,)`` integers, clipped to ``[0, T]``.
        blank_index: index of the blank class. Only ``0`` is supported (the
            library's convention).

    Returns:
        ``(N,)`` float32 loss per row (a sum over the row's time steps, not a
        mean; divide by the label length yourself if you want that).

    Example:

    >>> import numpy as np
    >>> logits = tf.random.normal((2, 10, 5))
    >>> labels = tf.constant([[1, 2, 0], [3, 3, 4]])
    >>> loss = ctc_loss(labels, tf.constant([2, 3]), logits, tf.constant([10, 6]))
    >>> loss.shape
    TensorShape([2])
    """
    if blank_index != 0:
        raise ValueError(
            f"ctc_loss supports blank_index=0 only (the charset's blank); received {blank_index!r}.")
    logits = tf.cast(tf.convert_to_tensor(logits), tf.float32)
    labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
    if labels.shape.rank != 2:
        raise ValueError(f"labels must be (N, L); received shape {labels.shape}.")
    if logits.shape.rank != 3:
        raise ValueError(f"logits must be (N, T, num_classes); received shape {logits.shape}.")
    if logits.shape[-1] is not None and logits.shape[-1] < 2:
        raise ValueError(
            f"logits need at least 2 classes (blank + 1 character); received shape {logits.shape}.")

    batch = tf.shape(logits)[0]
    max_time = tf.shape(logits)[1]
    label_lengths = tf.clip_by_value(tf.cast(label_lengths, tf.int32), 0, tf.shape(labels)[1])
    logit_lengths = tf.clip_by_value(tf.cast(logit_lengths, tf.int32), 0, max_time)

    def compute():
        required = ctc_required_length(labels, label_lengths)
        valid = tf.logical_and(label_lengths > 0, required <= logit_lengths)
        # Rows without a usable target get a dummy one-character label over at
        # least one time step: the kernel accepts it, its loss is finite, and
        # the tf.where below gives it a zero value and a zero gradient.
        safe_labels = tf.where(valid[:, None], labels, tf.ones_like(labels))
        safe_label_lengths = tf.where(valid, label_lengths, tf.ones_like(label_lengths))
        safe_logit_lengths = tf.where(valid, logit_lengths, tf.maximum(logit_lengths, 1))
        if labels.shape[1] == 0:  # a (N, 0) label tensor cannot hold the dummy label
            safe_labels = tf.ones((batch, 1), tf.int32)
        loss = tf.nn.ctc_loss(
            labels=_dense_to_sparse(safe_labels, safe_label_lengths),
            logits=logits,
            label_length=None,
            logit_length=safe_logit_lengths,
            logits_time_major=False,
            blank_index=0,
        )
        keep = tf.logical_and(valid, tf.math.is_finite(loss))
        return tf.where(keep, loss, tf.zeros_like(loss))

    return tf.cond(tf.logical_and(batch > 0, max_time > 0), compute,
                   lambda: tf.zeros((batch,), tf.float32))


def ctc_greedy_decode(logits, logit_lengths, max_length, blank_index=0):
    """Greedy (best-path) CTC decoding with plain tensor ops.

    Per row: take the argmax class at every valid step, merge runs of the same
    class, drop blanks. Equal to ``tf.nn.ctc_greedy_decoder(merge_repeated=True)``
    but without its custom kernel and without loops, so the graph converts to
    TFLite builtins (ARG_MAX, CUMSUM, ONE_HOT, BATCH_MATMUL, SOFTMAX, ...) and to
    ONNX.

    Args:
        logits: ``(N, T, K)`` scores, batch-major, blank at index 0. Softmax is
            taken for the scores, so pass logits (not probabilities).
        logit_lengths: ``(N,)`` integers; steps at or past a row's length are
            ignored. Clipped to ``[0, T]``.
        max_length: Python int, the width of the outputs. Characters past it
            are dropped and ``lengths`` is clipped to it.
        blank_index: only ``0`` is supported.

    Returns:
        A dict of tensors:

        * ``ids``: ``(N, max_length)`` int32 character ids, padded with ``0``.
        * ``lengths``: ``(N,)`` int32 number of characters, ``<= max_length``.
        * ``positions``: ``(N, max_length)`` int32, for every character the
          **first** time step of its run of equal argmax classes (``0`` in the
          padding). Time step ``t`` of the logits covers input columns
          ``[t * s, (t + 1) * s)`` for a recognizer that downsamples the width
          by ``s``.
        * ``end_positions``: ``(N, max_length)`` int32, the **last** time step
          of the same run (inclusive; ``0`` in the padding).
        * ``scores``: ``(N,)`` float32 line confidence: the mean, over the kept
          characters, of the softmax probability of the character at the first
          step of its run. ``0`` for a row that decodes to no character.

    Example:

    >>> logits = tf.one_hot([[1, 1, 0, 2, 2, 0, 2]], 3) * 10.0
    >>> out = ctc_greedy_decode(logits, tf.constant([7]), max_length=4)
    >>> out["ids"].numpy().tolist(), out["positions"].numpy().tolist()
    ([[1, 2, 2, 0]], [[0, 3, 6, 0]])
    """
    if blank_index != 0:
        raise ValueError(
            f"ctc_greedy_decode supports blank_index=0 only; received {blank_index!r}.")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise ValueError(f"max_length must be a positive Python int; received {max_length!r}.")
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank != 3:
        raise ValueError(f"logits must be (N, T, num_classes); received shape {logits.shape}.")
    logits = tf.cast(logits, tf.float32)
    max_time = tf.shape(logits)[1]
    lengths_in = tf.clip_by_value(tf.cast(logit_lengths, tf.int32), 0, max_time)

    best = tf.argmax(logits, axis=-1, output_type=tf.int32)                  # (N, T)
    prob = tf.reduce_max(tf.nn.softmax(logits, axis=-1), axis=-1)            # (N, T)
    steps = tf.range(max_time, dtype=tf.int32)[None, :]                      # (1, T)
    valid = steps < lengths_in[:, None]
    non_blank = tf.not_equal(best, blank_index)

    # Step t starts a run when its class differs from step t - 1; ends one when
    # it differs from step t + 1 or step t + 1 is padding.
    previous = tf.concat([tf.fill([tf.shape(best)[0], 1], -1), best[:, :-1]], axis=1)
    following = tf.concat([best[:, 1:], tf.fill([tf.shape(best)[0], 1], -1)], axis=1)
    following_valid = steps + 1 < lengths_in[:, None]
    starts = valid & non_blank & tf.not_equal(best, previous)
    ends = valid & non_blank & (tf.not_equal(best, following) | tf.logical_not(following_valid))

    # Output slot of every run: the running count of runs so far, minus one.
    start_slot = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
    end_slot = tf.cumsum(tf.cast(ends, tf.int32), axis=1) - 1
    # one_hot of an index >= depth is all zeros: steps that start no run, or
    # start one beyond max_length, write nothing.
    start_slot = tf.where(starts, start_slot, max_length)
    end_slot = tf.where(ends, end_slot, max_length)
    start_onehot = tf.one_hot(start_slot, max_length, dtype=tf.float32)     # (N, T, M)
    end_onehot = tf.one_hot(end_slot, max_length, dtype=tf.float32)

    # Gather by matmul: values (N, V, T) @ one-hot (N, T, M) -> (N, V, M). Ids
    # and steps are small integers, exact in float32.
    steps_f = tf.broadcast_to(tf.cast(steps, tf.float32), tf.shape(prob))
    gathered = tf.matmul(tf.stack([tf.cast(best, tf.float32), steps_f, prob], axis=1),
                         start_onehot)
    end_steps = tf.matmul(steps_f[:, None, :], end_onehot)[:, 0, :]

    ids = tf.cast(tf.round(gathered[:, 0, :]), tf.int32)
    positions = tf.cast(tf.round(gathered[:, 1, :]), tf.int32)
    char_probs = gathered[:, 2, :]
    count = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)
    lengths = tf.minimum(count, max_length)
    lengths_f = tf.cast(lengths, tf.float32)
    scores = tf.reduce_sum(char_probs, axis=1) / tf.maximum(lengths_f, 1.0)
    return {
        "ids": ids,
        "lengths": lengths,
        "positions": positions,
        "end_positions": tf.cast(tf.round(end_steps), tf.int32),
        "scores": scores,
    }
