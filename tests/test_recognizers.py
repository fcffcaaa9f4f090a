"""Text recognition heads: shapes, lengths, masking, the layer harness, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import check_dtype_argument, run_graph_fit_test, run_layer_test

from keras_textnet.layers.bilstm_recognizer import BiLSTMRecognizer
from keras_textnet.layers.conv_attention_recognizer import ConvAttentionRecognizer
from keras_textnet.layers.recognizer_base import HeightCollapse
from keras_textnet.layers.recognizers import build_recognizer

HP, WMAX, CHANNELS, CLASSES = 8, 40, 12, 11
SMALL = {
    "conv_attention": {"filters": 32, "num_blocks": 2, "num_heads": 4, "kernel_size": 3, "dropout": 0.1,
                           "downsample": 2, "collapse_filters": 16},
    "bilstm": {"units": 16, "num_layers": 2, "dropout": 0.1, "downsample": 2, "filters": 24,
                   "collapse_filters": 16},
}
KINDS = sorted(SMALL)
HEADS = {"conv_attention": ConvAttentionRecognizer, "bilstm": BiLSTMRecognizer}


def _inputs(seed=0, n=4, widths=(40, 17, 1, 0)):
    rng = np.random.default_rng(seed)
    widths = np.array(widths, np.int32)[:n]
    pooled = rng.normal(size=(n, HP, WMAX, CHANNELS)).astype("float32")
    pooled *= np.arange(WMAX)[None, None, :, None] < widths[:, None, None, None]
    return pooled, widths


def _make(kind, **overrides):
    return build_recognizer(kind, CLASSES, **{**SMALL[kind], **overrides})


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_lengths(kind):
    head = _make(kind)
    pooled, widths = _inputs()
    logits, lengths = head(pooled, widths)
    assert logits.shape == (4, WMAX // 2, CLASSES) and logits.dtype == tf.float32
    assert lengths.dtype == tf.int32
    assert lengths.numpy().tolist() == [20, 9, 1, 0]
    assert np.isfinite(logits.numpy()).all()


@pytest.mark.parametrize("downsample,expected", [(1, (39, [39, 17, 1, 0])),
                                                 (3, (13, [13, 6, 1, 0]))])
def test_downsample_odd_width(downsample, expected):
    head = _make("conv_attention", downsample=downsample)
    pooled, widths = _inputs(widths=(39, 17, 1, 0))
    logits, lengths = head(pooled[:, :, :39], widths)
    assert logits.shape[1] == expected[0] and lengths.numpy().tolist() == expected[1]


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_reach_valid_steps(kind):
    head = _make(kind)
    pooled, widths = _inputs()
    logits, lengths = head(pooled, widths, training=False)
    noisy = pooled + 7.0 * (np.arange(WMAX)[None, None, :, None] >= widths[:, None, None, None])
    noisy_logits, _ = head(noisy.astype("float32"), widths, training=False)
    valid = np.arange(logits.shape[1])[None, :] < lengths.numpy()[:, None]
    np.testing.assert_allclose(noisy_logits.numpy()[valid], logits.numpy()[valid], atol=1e-5)
    # The same line alone, in a narrower tensor, reads the same.
    alone, _ = head(pooled[1:2, :, :24], widths[1:2], training=False)
    np.testing.assert_allclose(alone.numpy()[0, :9], logits.numpy()[1, :9], atol=1e-5)


def test_batchnorm_statistics_ignore_padding():
    head = _make("conv_attention", dropout=0.0)
    pooled, widths = _inputs()
    head(pooled, widths)
    noisy = pooled + 7.0 * (np.arange(WMAX)[None, None, :, None] >= widths[:, None, None, None])
    a, lengths = head(pooled, widths, training=True)
    b, _ = head(noisy.astype("float32"), widths, training=True)
    valid = np.arange(a.shape[1])[None, :] < lengths.numpy()[:, None]
    np.testing.assert_allclose(a.numpy()[valid], b.numpy()[valid], atol=1e-4)


# A recognizer's sublayers are created without ``dtype=self.dtype_policy`` (HeightCollapse's
# too), so ``dtype="mixed_float16"`` given to the head alone does not reach them; the global
# policy, which training sets, does. Found by the layer harness; the fix belongs to the
# recognizer modules (recognizer_base.py and both heads), which another change owns.
@pytest.mark.parametrize("kind", KINDS)
def test_passes_the_layer_harness(kind, tmp_path):
    """Config (every SMALL argument kept), serialization, symbolic call, .keras save and load
    (identical logits and lengths), one fit step, mixed precision (logits stay float32)."""
    run_layer_test(
        HEADS[kind], {"num_classes": CLASSES, **SMALL[kind], "name": "trn"}, _inputs(1),
        tmp_path=tmp_path, expected_output_shape=((4, WMAX // 2, CLASSES), (4,)),
        expected_output_dtype=("float32", "int32"), expected_mixed_dtype=("float32", "int32"))


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_argument_reaches_every_sublayer(kind):
    check_dtype_argument(HEADS[kind], {"num_classes": CLASSES, **SMALL[kind]},
                         _inputs(1))


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_one_fit_step_in_a_graph(kind):
    run_graph_fit_test(HEADS[kind], {"num_classes": CLASSES, **SMALL[kind]}, _inputs(1))


def test_height_collapse_passes_the_layer_harness(tmp_path):
    run_layer_test(
        HeightCollapse, {"filters": 24, "collapse_filters": 16, "downsample": 2}, _inputs(1),
        tmp_path=tmp_path, expected_output_shape=((4, WMAX // 2, 24), (4,)),
        expected_output_dtype=("float32", "int32"),
        skip={"serialization": "not registered for .keras files: an inner stage, built and "
                               "saved by the recognizer that holds it, never alone",
              "saving": "the same: saved as part of its recognizer (see above)"})


def test_height_collapse_dtype_argument_reaches_every_sublayer():
    check_dtype_argument(HeightCollapse, {"filters": 24, "collapse_filters": 16,
                                          "downsample": 2}, _inputs(1))


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_weight(kind):
    from keras_textnet.ops.ctc import ctc_loss

    head = _make(kind, dropout=0.0)
    pooled, widths = _inputs(2, widths=(40, 30, 12, 8))
    labels = tf.constant([[1, 2, 3, 4], [5, 6, 7, 0], [8, 9, 0, 0], [10, 0, 0, 0]])
    label_lengths = tf.constant([4, 3, 2, 1])
    pooled = tf.Variable(pooled)
    with tf.GradientTape() as tape:
        logits, lengths = head(pooled, widths, training=True)
        loss = tf.reduce_mean(ctc_loss(labels, label_lengths, logits, lengths))
    grads = tape.gradient(loss, head.trainable_weights + [pooled])
    assert np.isfinite(loss.numpy()) and loss.numpy() > 0
    for weight, grad in zip(head.trainable_weights + [pooled], grads):
        assert grad is not None, weight.path
        assert np.isfinite(grad.numpy()).all(), weight.path
    # no gradient flows into the padding of the input
    pad = np.arange(WMAX)[None, None, :, None] >= widths[:, None, None, None]
    assert np.all(grads[-1].numpy()[np.broadcast_to(pad, pooled.shape)] == 0)


@pytest.mark.parametrize("kwargs,match", [
    ({"filters": 30, "num_heads": 4}, "divisible"),
    ({"kernel_size": 4}, "odd"),
    ({"dropout": 1.0}, "dropout"),
    ({"downsample": 0}, "downsample"),
    ({"num_classes": 1}, "num_classes"),
])
def test_conv_attention_rejects_bad_arguments(kwargs, match):
    kwargs = {"num_classes": CLASSES, **kwargs}
    with pytest.raises(ValueError, match=match):
        ConvAttentionRecognizer(**kwargs)


def test_bilstm_rejects_bad_arguments_and_unknown_kind():
    with pytest.raises(ValueError, match="units"):
        BiLSTMRecognizer(CLASSES, units=0)
    with pytest.raises(ValueError, match="recognizer must be one of"):
        build_recognizer("transformer", CLASSES)


def test_unknown_height_is_rejected():
    head = _make("conv_attention")
    with pytest.raises(ValueError, match="pooled_height"):
        head.build((None, None, WMAX, CHANNELS))
