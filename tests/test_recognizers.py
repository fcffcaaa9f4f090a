"""Text recognition heads: shapes, lengths, masking, serialization, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.layers.bilstm_recognizer import BiLSTMRecognizer
from keras_textnet.layers.conv_attention_recognizer import ConvAttentionRecognizer
from keras_textnet.layers.recognizers import build_recognizer

HP, WMAX, CHANNELS, CLASSES = 8, 40, 12, 11
SMALL = {
    "conv_attention": {"filters": 32, "num_blocks": 2, "num_heads": 4, "kernel_size": 3, "dropout": 0.1,
                           "downsample": 2, "collapse_filters": 16},
    "bilstm": {"units": 16, "num_layers": 2, "dropout": 0.1, "downsample": 2, "filters": 24,
                   "collapse_filters": 16},
}
KINDS = sorted(SMALL)


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


@pytest.mark.parametrize("kind", KINDS)
def test_get_config_round_trip(kind):
    head = _make(kind, name="trn")
    config = head.get_config()
    for key, value in SMALL[kind].items():
        assert config[key] == value
    assert config["num_classes"] == CLASSES
    clone = type(head).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("kind", KINDS)
def test_saved_keras_model_gives_identical_outputs(kind, tmp_path):
    pooled_in = keras.Input((HP, WMAX, CHANNELS), name="pooled")
    widths_in = keras.Input((), dtype="int32", name="widths")
    logits, lengths = _make(kind)(pooled_in, widths_in)
    model = keras.Model([pooled_in, widths_in], [logits, lengths])
    assert model.output_shape[0] == (None, WMAX // 2, CLASSES)
    pooled, widths = _inputs(1)
    before = model.predict([pooled, widths], verbose=0)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    after = loaded.predict([pooled, widths], verbose=0)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)


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
