"""CTC loss and plain-op greedy decoding against TensorFlow's own kernels."""

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.ops.ctc import ctc_greedy_decode, ctc_loss, ctc_required_length


def _random_logits(rng, n, t, k, blank_bias=1.0):
    logits = rng.normal(size=(n, t, k)).astype("float32")
    logits[..., 0] += blank_bias  # some blank runs, like a real model
    return logits


def _reference_greedy(logits, lengths):
    """tf.nn.ctc_greedy_decoder (blank last) as lists of ids, one per row."""
    time_major = np.transpose(np.roll(logits, -1, axis=-1), (1, 0, 2))  # blank 0 -> K-1
    (decoded,), _ = tf.nn.ctc_greedy_decoder(time_major, lengths, merge_repeated=True)
    rows = [[] for _ in range(logits.shape[0])]
    for (row, _), value in zip(decoded.indices.numpy(), decoded.values.numpy()):
        rows[row].append(int(value) + 1)
    return rows


def test_greedy_decode_matches_tf_greedy_decoder():
    rng = np.random.default_rng(0)
    logits = _random_logits(rng, 12, 20, 6)
    lengths = np.array([20, 19, 1, 0, 7, 13, 20, 3, 20, 5, 11, 2], np.int32)
    logits[5, :, 0] = 50.0  # an all-blank row
    logits[6, :, 3] = 50.0  # one long run: a single character
    out = ctc_greedy_decode(logits, lengths, max_length=20)
    ref = _reference_greedy(logits, lengths)
    for i, expected in enumerate(ref):
        n = int(out["lengths"][i])
        assert out["ids"][i, :n].numpy().tolist() == expected, i
        assert np.all(out["ids"][i, n:].numpy() == 0)
    assert out["lengths"][3] == 0 and out["lengths"][5] == 0 and out["lengths"][6] == 1
    assert out["ids"].dtype == tf.int32 and out["lengths"].dtype == tf.int32


def test_greedy_decode_positions_and_scores_by_hand():
    # classes per step: a a _ b b b _ b a | padding
    best = [1, 1, 0, 2, 2, 2, 0, 2, 1, 3, 3]
    logits = tf.one_hot([best], 4) * 5.0
    out = ctc_greedy_decode(logits, tf.constant([9]), max_length=6)
    assert out["ids"].numpy().tolist() == [[1, 2, 2, 1, 0, 0]]
    assert out["positions"].numpy().tolist() == [[0, 3, 7, 8, 0, 0]]
    assert out["end_positions"].numpy().tolist() == [[1, 5, 7, 8, 0, 0]]
    p = np.exp(5.0) / (np.exp(5.0) + 3.0)
    np.testing.assert_allclose(out["scores"].numpy(), [p], rtol=1e-6)


def test_greedy_decode_clips_to_max_length_and_handles_empty():
    logits = tf.one_hot([[1, 0, 2, 0, 3, 0, 1], [0] * 7], 4) * 5.0
    out = ctc_greedy_decode(logits, tf.constant([7, 7]), max_length=2)
    assert out["ids"].numpy().tolist() == [[1, 2], [0, 0]]
    assert out["lengths"].numpy().tolist() == [2, 0]
    assert out["scores"].numpy()[1] == 0.0
    empty = ctc_greedy_decode(tf.zeros((0, 5, 4)), tf.zeros((0,), tf.int32), max_length=3)
    assert empty["ids"].shape == (0, 3) and empty["scores"].shape == (0,)


def test_greedy_decode_bad_arguments():
    with pytest.raises(ValueError, match="max_length"):
        ctc_greedy_decode(tf.zeros((1, 5, 4)), tf.constant([5]), max_length=0)
    with pytest.raises(ValueError, match="blank_index"):
        ctc_greedy_decode(tf.zeros((1, 5, 4)), tf.constant([5]), max_length=3, blank_index=3)


def test_greedy_decode_one_graph_for_all_batches():
    fn = tf.function(lambda x, n: ctc_greedy_decode(x, n, max_length=8)["ids"],
                     input_signature=[tf.TensorSpec((None, None, 5)), tf.TensorSpec((None,), tf.int32)])
    rng = np.random.default_rng(1)
    for n, t in [(3, 10), (1, 4), (0, 6)]:
        x = _random_logits(rng, n, t, 5)
        lengths = np.full((n,), t, np.int32)
        np.testing.assert_array_equal(fn(x, lengths), ctc_greedy_decode(x, lengths, 8)["ids"])
    ops = {op.type for op in fn.get_concrete_function().graph.get_operations()}
    assert not ops & {"CTCGreedyDecoder", "While", "StatelessWhile"}


def test_required_length():
    labels = tf.constant([[1, 1, 2, 2, 2], [3, 4, 5, 0, 0], [7, 7, 0, 0, 0]])
    assert ctc_required_length(labels, [5, 3, 1]).numpy().tolist() == [8, 3, 1]


def test_ctc_loss_matches_dense_tf_ctc_loss():
    rng = np.random.default_rng(2)
    n, t, k, width = 8, 30, 7, 10
    logits = _random_logits(rng, n, t, k, blank_bias=0.0)
    labels = rng.integers(1, k, size=(n, width)).astype("int32")
    label_lengths = rng.integers(1, width + 1, size=n).astype("int32")
    logit_lengths = rng.integers(22, t + 1, size=n).astype("int32")
    labels[np.arange(width)[None, :] >= label_lengths[:, None]] = 0
    ours = ctc_loss(labels, label_lengths, logits, logit_lengths)
    ref = tf.nn.ctc_loss(labels, logits, label_lengths, logit_lengths,
                         logits_time_major=False, blank_index=0)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-4)
    # float64 oracle for the gradient direction: a finite-difference check on one entry
    var = tf.Variable(logits)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(ctc_loss(labels, label_lengths, var, logit_lengths))
    grad = tape.gradient(total, var).numpy()
    eps = 1e-2
    bumped = logits.copy()
    bumped[0, 3, 2] += eps
    fd = (tf.reduce_sum(ctc_loss(labels, label_lengths, bumped, logit_lengths)) - total) / eps
    np.testing.assert_allclose(grad[0, 3, 2], fd.numpy(), rtol=0.05, atol=1e-3)


def test_ctc_loss_zeroes_rows_without_usable_target():
    rng = np.random.default_rng(3)
    logits = tf.Variable(_random_logits(rng, 5, 6, 4))
    labels = tf.constant([[1, 2, 0, 0, 0, 0, 0],   # fine
                          [1, 2, 3, 0, 0, 0, 0],   # label length 0 below
                          [1, 1, 1, 1, 0, 0, 0],   # needs 7 steps: inf in the kernel
                          [1, 2, 3, 1, 2, 3, 1],   # longer than its 6 steps: kernel error
                          [2, 0, 0, 0, 0, 0, 0]])  # 0 logit steps
    label_lengths = tf.constant([2, 0, 4, 7, 1])
    logit_lengths = tf.constant([6, 6, 6, 6, 0])
    with tf.GradientTape() as tape:
        loss = ctc_loss(labels, label_lengths, logits, logit_lengths)
        total = tf.reduce_sum(loss)
    grad = tape.gradient(total, logits).numpy()
    assert loss.numpy()[0] > 0
    assert loss.numpy()[1:].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.isfinite(grad).all()
    assert np.all(grad[1:] == 0) and np.any(grad[0] != 0)


def test_ctc_loss_empty_batch_and_fixed_signature():
    fn = tf.function(ctc_loss, input_signature=[
        tf.TensorSpec((None, 6), tf.int32), tf.TensorSpec((None,), tf.int32),
        tf.TensorSpec((None, None, 5)), tf.TensorSpec((None,), tf.int32)])
    empty = fn(tf.zeros((0, 6), tf.int32), tf.zeros((0,), tf.int32), tf.zeros((0, 9, 5)),
               tf.zeros((0,), tf.int32))
    assert empty.shape == (0,)
    full = fn(tf.ones((2, 6), tf.int32), tf.constant([3, 6]), tf.zeros((2, 9, 5)),
              tf.constant([9, 9]))
    assert full.shape == (2,) and full.numpy()[0] > 0
    assert full.numpy()[1] == 0.0  # six 1s need 11 steps


def test_ctc_loss_bad_arguments():
    with pytest.raises(ValueError, match="blank_index"):
        ctc_loss(tf.ones((1, 2), tf.int32), [2], tf.zeros((1, 4, 3)), [4], blank_index=2)
    with pytest.raises(ValueError, match="labels"):
        ctc_loss(tf.ones((2,), tf.int32), [2], tf.zeros((1, 4, 3)), [4])


def _decode_inputs():
    rng = np.random.default_rng(4)
    logits = _random_logits(rng, 5, 24, 7, blank_bias=1.5)
    return logits, np.array([24, 10, 0, 13, 1], np.int32)


def test_greedy_decode_converts_to_tflite_builtins():
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")

    class Decoder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 24, 7)), tf.TensorSpec((None,), tf.int32)])
        def decode(self, logits, lengths):
            return ctc_greedy_decode(logits, lengths, max_length=12)

    module = Decoder()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.decode.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex allowed
    interpreter = interpreter_module.Interpreter(model_content=converter.convert())
    logits, lengths = _decode_inputs()
    got = interpreter.get_signature_runner()(logits=logits, lengths=lengths)
    want = ctc_greedy_decode(logits, lengths, max_length=12)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value.numpy(), atol=1e-6, err_msg=key)


def test_greedy_decode_converts_to_onnx():
    tf2onnx = pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    fn = tf.function(lambda logits, logit_lengths: ctc_greedy_decode(logits, logit_lengths, 12))
    spec = [tf.TensorSpec((None, None, 7), name="logits"),
            tf.TensorSpec((None,), tf.int32, name="logit_lengths")]
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
    session = ort.InferenceSession(proto.SerializeToString())
    logits, lengths = _decode_inputs()
    got = dict(zip([o.name for o in session.get_outputs()],
                   session.run(None, {"logits": logits, "logit_lengths": lengths})))
    for key, value in ctc_greedy_decode(logits, lengths, max_length=12).items():
        np.testing.assert_allclose(got[key], value.numpy(), atol=1e-6, err_msg=key)
