"""TextNet: presets, training step, inference outputs, saving, the predictor."""

import copy

import numpy as np
import pytest
import tensorflow as tf
from harness import run_model_test

from keras_textnet.charset import Charset
from keras_textnet.models.text_net import DEFAULT_LOSS_WEIGHTS, TextNet


@pytest.fixture(scope="module")
def tiny():
    return TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24)


def test_inference_outputs_are_fixed_size(tiny):
    out = tiny(tf.zeros((2, 96, 128, 3), tf.uint8))
    d, length = 16, 24
    expected = {"boxes": (2, d, 4), "scores": (2, d), "angles": (2, d), "count": (2,),
                "char_ids": (2, d, length), "lengths": (2, d), "positions": (2, d, length),
                "num_steps": (2, d), "text_scores": (2, d)}
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    count = out["count"].numpy()
    # rows past `count` are padding
    for b in range(2):
        assert (out["scores"][b, count[b]:].numpy() == 0).all()
        assert (out["lengths"][b, count[b]:].numpy() == 0).all()


def test_train_step_gives_every_loss_and_changes_weights(tiny_after_two_steps):
    """Two ``fit`` steps on synthetic pages (the shared fixture in conftest.py)."""
    trained = tiny_after_two_steps
    assert int(trained.model.optimizer.iterations.numpy()) == 2
    assert set(trained.logs) == {"loss", *DEFAULT_LOSS_WEIGHTS}
    assert all(np.isfinite(v) for v in trained.logs.values())
    weights = trained.model.trainable_weights
    assert len(weights) == len(trained.before) > 0
    changed = sum(not np.array_equal(a, w.numpy()) for a, w in zip(trained.before, weights))
    assert changed > 0.9 * len(trained.before)


def test_passes_the_model_harness(tiny, tmp_path):
    """Config round trip, serialization, and a .keras file giving identical outputs."""
    images = tf.constant(np.random.default_rng(0).integers(0, 255, (1, 96, 128, 3), np.uint8))
    again = run_model_test(tiny, (images,), tmp_path=tmp_path, atol=1e-5)
    assert isinstance(again, TextNet) and again.charset == tiny.charset


def test_from_config_leaves_its_config_alone(tiny):
    config = tiny.get_config()
    given = copy.deepcopy(config)
    TextNet.from_config(given)
    assert given == config


def test_config_round_trip_keeps_every_setting():
    model = TextNet.from_preset("tiny", max_width=128, score_threshold=0.3,
                                loss_weights={"ctc": 2.0})
    config = model.get_config()
    assert config["max_width"] == 128 and config["score_threshold"] == 0.3
    assert config["loss_weights"]["ctc"] == 2.0 and config["loss_weights"]["rpn_box"] == 1.0
    again = TextNet.from_config(config)
    assert again.get_config()["recognizer"] == config["recognizer"]


def test_bilstm_recognizer_is_one_argument_away():
    model = TextNet.from_preset("tiny", recognizer={"kind": "bilstm", "units": 16})
    assert type(model.recognizer).__name__ == "BiLSTMRecognizer"


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        TextNet.from_preset("huge")
    with pytest.raises(ValueError, match="unknown loss weight"):
        TextNet.from_preset("tiny", loss_weights={"ocr": 1.0})
    with pytest.raises(ValueError, match="max_width must be a positive integer"):
        TextNet.from_preset("tiny", max_width=0)


def test_predictor_writes_prediction_json(tiny, tmp_path):
    from keras_textnet.evaluation.protocol import predictions_from_json
    from keras_textnet.predictor import TextNetPredictor

    predictor = TextNetPredictor(tiny)
    grey = np.full((70, 150), 200, np.uint8)  # grey, not a multiple of 32
    page = predictor.predict_image(grey, file="grey.png")
    assert page["file"] == "grey.png" and (page["width"], page["height"]) == (150, 70)
    assert isinstance(page["words"], list) and isinstance(page["lines"], list)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    result = predictor.predict([str(bad)], progress=False)
    assert result["images"][0]["words"] == [] and "not an image" in result["images"][0]["error"]
    predictions_from_json({"images": [page]})  # valid prediction JSON


def test_read_padding_widens_the_lines_read_and_returned():
    import keras

    keras.utils.set_random_seed(3)
    model = TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24,
                                score_threshold=0.0)
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (1, 96, 160, 3)), tf.uint8)
    plain = model.infer(images, compact=True)
    model.read_padding = 0.5
    padded = model.infer(images, compact=True)
    n = int(plain["count"][0])
    assert n > 0 and int(padded["count"][0]) == n
    a, b = plain["boxes"][0, :n].numpy(), padded["boxes"][0, :n].numpy()
    pad = 0.5 * (a[:, 2] - a[:, 0])
    np.testing.assert_allclose(b[:, [0, 2]], a[:, [0, 2]])               # rows as found
    np.testing.assert_allclose(b[:, 1], np.maximum(a[:, 1] - pad, 0), atol=1e-4)
    np.testing.assert_allclose(b[:, 3], np.minimum(a[:, 3] + pad, 160), atol=1e-4)
    assert (padded["num_steps"][0, :n].numpy() >= plain["num_steps"][0, :n].numpy()).all()
    assert TextNet.from_config(model.get_config()).read_padding == 0.5
    with pytest.raises(ValueError, match="read_padding"):
        TextNet.from_preset("tiny", read_padding=-1.0)


def test_training_read_padding_widens_lines_up_to_their_neighbours():
    model = TextNet.from_preset("tiny", recognition_rois_per_image=3, box_jitter=0.0,
                                train_read_padding=0.5)
    # three 20 px high boxes: two on one row 4 px apart, one alone on its row
    given = np.array([[10., 20., 30., 100.], [12., 104., 30., 180.], [50., 20., 70., 190.],
                      [0., 0., 0., 0.]], np.float32)
    targets = {"boxes": tf.constant(given[None]), "num_boxes": tf.constant([3]),
               "ignore": tf.constant([[False, False, False, False]]),
               "text_lengths": tf.constant([[3, 3, 3, 0]]),
               "texts": tf.ones((1, 4, 5), tf.int32), "angles": tf.zeros((1, 4))}
    wide = {0: [], 1: [], 2: []}
    for seed in range(12):
        rec = model._recognition_samples(targets, tf.constant([seed, 0], tf.int64),
                                         image_width=tf.constant(190.0))
        for box in rec["boxes"][0].numpy():
            row = int(np.argmin(np.abs(given[:3, 0] - box[0])))
            wide[row].append(box)
    for row, got in wide.items():
        got = np.array(got)
        x0, x1 = given[row, 1], given[row, 3]
        np.testing.assert_allclose(got[:, [0, 2]], given[None, row, [0, 2]].repeat(len(got), 0))
        assert (got[:, 1] <= x0 + 1e-4).all() and (got[:, 3] >= x1 - 1e-4).all()
        assert (got[:, 1] >= max(x0 - 0.5 * 20, 0) - 1e-4).all()
        assert (got[:, 3] <= min(x1 + 0.5 * 20, 190) + 1e-4).all()
    # the gap of 4 px between the two boxes of the first row is never crossed
    assert max(b[3] for b in wide[0]) <= 100 + 0.8 * 4 + 1e-4
    assert min(b[1] for b in wide[1]) >= 104 - 0.8 * 4 - 1e-4
    # the lone line is widened by varying amounts, clipped to the image on the right
    lone = np.array(wide[2])
    assert np.ptp(lone[:, 1]) > 1.0 and lone[:, 1].min() < 20 - 2.0
    np.testing.assert_allclose(lone[:, 3], 190.0)
    assert TextNet.from_config(model.get_config()).train_read_padding == 0.5
    with pytest.raises(ValueError, match="train_read_padding"):
        TextNet.from_preset("tiny", train_read_padding=3.0)


def test_planned_few_pages_run_eagerly_with_the_outputs_of_the_graph():
    import keras

    from keras_textnet.predictor import EAGER_PAGES, TextNetPredictor

    keras.utils.set_random_seed(5)
    model = TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24,
                                score_threshold=0.0)
    batch = np.random.default_rng(1).integers(0, 256, (1, 96, 160, 3)).astype(np.uint8)
    predictor = TextNetPredictor(model)
    predictor.plan(EAGER_PAGES + 1)           # many pages: the graph from the first
    graph = predictor._run(batch)
    assert predictor._forward is not None
    eager_predictor = TextNetPredictor(model)
    eager_predictor.plan(1)
    eager = eager_predictor._run(batch)
    assert eager_predictor._forward is None   # nothing traced
    assert int(eager["count"][0]) > 0 and set(eager) == set(graph)
    for name in ("count", "lengths", "char_ids"):
        np.testing.assert_array_equal(eager[name], graph[name])
    np.testing.assert_allclose(eager["boxes"], graph["boxes"], atol=1e-3)
    eager_predictor._run(batch)               # past the plan: the graph
    assert eager_predictor._forward is not None


def test_predictor_decodes_lines_into_words_in_image_pixels():
    """Hand-made model outputs: one line "ab cd" at half scale."""
    from keras_textnet.predictor import TextNetPredictor

    class Stub:
        charset = Charset()

    predictor = TextNetPredictor.__new__(TextNetPredictor)
    predictor.charset, predictor.min_score = Stub.charset, 0.0
    ids = np.zeros((1, 2, 8), np.int32)
    ids[0, 0, :5] = Stub.charset.encode("ab cd")
    positions = np.zeros((1, 2, 8), np.int32)
    positions[0, 0, :5] = [1, 3, 5, 7, 9]
    out = {"count": np.array([1]), "scores": np.array([[0.9, 0.0]]),
           "lengths": np.array([[5, 0]]), "char_ids": ids, "positions": positions,
           "num_steps": np.array([[10, 0]]), "angles": np.zeros((1, 2)),
           "text_scores": np.array([[0.8, 0.0]]),
           "boxes": np.array([[[10.0, 20.0, 30.0, 220.0], [0, 0, 0, 0]]])}
    page = predictor.decode_outputs(out, 0, (0.5, 0.5), (100, 500), "x.png")
    assert [ln["text"] for ln in page["lines"]] == ["ab cd"]
    assert page["lines"][0]["box"] == [40.0, 20.0, 440.0, 60.0]
    words = page["words"]
    assert [w["text"] for w in words] == ["ab", "cd"]
    assert words[0]["box"][0] == 40.0 and words[1]["box"][2] == 440.0
    assert words[0]["box"][2] <= words[1]["box"][0]


def _word_rows(rng, shape):
    """Pages of dark "words" (letters 2-7 px wide, 1-2 px apart) on noisy paper."""
    images = rng.integers(200, 256, shape).astype(np.uint8)
    for image in images:
        for top in range(6, shape[1] - 16, 18):
            x = int(rng.integers(2, 12))
            while x < shape[2] - 8:
                for _ in range(int(rng.integers(1, 7))):
                    w = int(rng.integers(2, 8))
                    image[top:top + 10, x:x + w] = rng.integers(0, 60)
                    x += w + int(rng.integers(1, 3))
                x += int(rng.integers(5, 12))
    return images


@pytest.mark.parametrize("settings", [{}, {"read_padding": 0.4, "read_word_ends": 3.0}])
def test_compact_inference_reads_only_kept_lines_with_the_same_outputs(settings):
    import keras

    keras.utils.set_random_seed(3)
    model = TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24,
                                score_threshold=0.0, **settings)
    rng = np.random.default_rng(0)
    shape = (3, 96, 160, 3)
    images = tf.constant(_word_rows(rng, shape) if settings else rng.integers(0, 256, shape),
                         tf.uint8)
    # a threshold inside the untrained model's scores, so images keep different counts
    scores = model(images)["scores"].numpy()
    model.score_threshold = float(np.quantile(scores[scores > 0], 0.6))
    full = {k: v.numpy() for k, v in model(images).items()}
    compact = {k: v.numpy() for k, v in model.infer(images, compact=True).items()}
    counts = full["count"]
    assert counts.sum() > 0 and counts.min() < 16      # some lines kept, some slots padding
    assert set(compact) == set(full)
    for name in full:
        np.testing.assert_allclose(compact[name], full[name], rtol=1e-5, atol=1e-5,
                                   err_msg=name)


def test_compact_inference_reads_lines_in_width_groups_with_the_same_outputs(monkeypatch):
    import keras

    from keras_textnet.models import text_net

    keras.utils.set_random_seed(4)
    model = TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24,
                                score_threshold=0.0)
    images = tf.constant(np.random.default_rng(1).integers(0, 256, (2, 96, 224, 3)), tf.uint8)

    def graph(x):        # a new tf.function: traced with READ_BUCKETS as set now
        return {k: v.numpy() for k, v in
                tf.function(lambda im: model.infer(im, compact=True))(x).items()}

    grouped = graph(images)
    steps = grouped["num_steps"][grouped["num_steps"] > 0]
    assert len(steps) >= 6 and len(set(steps.tolist())) >= 3    # lines of many widths
    eager = {k: v.numpy() for k, v in model.infer(images, compact=True).items()}  # together
    monkeypatch.setattr(text_net, "READ_BUCKETS", 1)
    together = graph(images)
    for name in together:
        for other in (grouped, eager):
            np.testing.assert_allclose(other[name], together[name], rtol=1e-5, atol=1e-5,
                                       err_msg=name)
    monkeypatch.setattr(text_net, "READ_BUCKETS", 5)           # more groups than lines
    monkeypatch.setattr(model, "detections_per_image", 3)
    few = images[:1]
    one = graph(few)
    assert 0 < int(one["count"][0]) < 5
    monkeypatch.setattr(text_net, "READ_BUCKETS", 1)
    ref = graph(few)
    for name in ref:
        np.testing.assert_allclose(one[name], ref[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_compact_inference_with_no_line_kept_returns_empty_pages():
    import keras

    keras.utils.set_random_seed(3)
    model = TextNet.from_preset("tiny", detections_per_image=8, max_text_length=16,
                                score_threshold=1.0)            # nothing passes
    images = tf.constant(np.random.default_rng(2).integers(0, 256, (2, 64, 128, 3)), tf.uint8)
    out = {k: v.numpy() for k, v in model.infer(images, compact=True).items()}
    assert out["count"].tolist() == [0, 0]
    assert out["char_ids"].shape == (2, 8, 16) and not out["char_ids"].any()
    assert not out["lengths"].any() and not out["boxes"].any()


def test_c2_plus_p2_starts_as_the_c2_model_it_is_warm_started_from(tmp_path):
    import keras

    from keras_textnet.training.trainer import warm_start

    keras.utils.set_random_seed(4)
    settings = dict(detections_per_image=8, max_text_length=16, score_threshold=0.0)
    donor = TextNet.from_preset("tiny", **settings)
    images = tf.constant(np.random.default_rng(1).integers(0, 256, (1, 64, 128, 3)), tf.uint8)
    expected = donor(images)
    donor.save(tmp_path / "donor.keras")
    model = TextNet.from_preset("tiny", recognition_features="C2+P2", **settings)
    model(images)
    copied, total = warm_start(model, tmp_path / "donor.keras")
    assert copied == total - 1                          # all but the new P2 projection
    assert model.get_config()["recognition_features"] == "C2+P2"
    out = model(images)
    for name in ("boxes", "char_ids", "text_scores"):
        np.testing.assert_allclose(out[name].numpy(), expected[name].numpy(), atol=1e-5)
