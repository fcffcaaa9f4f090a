"""The shipped model, the default-model lookup and release_model."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet import pretrained

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples"


def test_release_model_drops_the_optimizer_and_keeps_outputs(tmp_path, tiny_after_two_steps):
    model = tiny_after_two_steps.model  # trained with Adam (conftest.py): it has moments
    assert model.optimizer.iterations.numpy() > 0
    checkpoint = tmp_path / "checkpoint.keras"
    model.save(checkpoint)
    released = pretrained.release_model(checkpoint, tmp_path / "out" / "model.keras")
    assert released.stat().st_size < 0.6 * checkpoint.stat().st_size
    image = tf.constant(np.random.default_rng(0).integers(0, 255, (1, 128, 128, 3)), tf.uint8)
    expected = model(image)
    got = pretrained.load_model(released)(image)
    assert int(got["count"][0]) == int(expected["count"][0]) > 0
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy())


def test_release_model_with_inference_settings(tmp_path, tiny_after_two_steps):
    model = tiny_after_two_steps.model
    released = pretrained.load_model(pretrained.release_model(
        model, tmp_path / "dense.keras", settings={"detections_per_image": 40}))
    assert released.detections_per_image == 40 != model.detections_per_image
    image = tf.constant(np.random.default_rng(0).integers(0, 255, (1, 128, 128, 3)), tf.uint8)
    out = released(image)
    assert out["boxes"].shape[1] == 40
    for a, b in zip(released.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="cannot change at export or release"):
        pretrained.release_model(model, tmp_path / "x.keras", settings={"max_width": 64})


def test_default_model_path_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.MODEL_ENV, str(tmp_path / "nope.keras"))
    with pytest.raises(FileNotFoundError, match="KERAS_TEXTNET_MODEL"):
        pretrained.default_model_path()
    monkeypatch.delenv(pretrained.MODEL_ENV)
    assert pretrained.default_model_path() == pretrained.assets_dir() / \
        pretrained.DEFAULT_MODEL_FILE


def test_shipped_model_reads_the_example_page(capsys):
    """The main job: `keras-textnet read docs/examples/page.png` with the shipped model."""
    from keras_textnet.cli import main
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.evaluation.protocol import evaluate

    assert main(["read", str(EXAMPLE / "page.png"), "--json"]) == 0
    prediction = json.loads(capsys.readouterr().out)
    gt = AnnotationSet.load(EXAMPLE / "page.json", check_images=False)
    words = evaluate(gt, {"images": [prediction]}, level="words")
    # A regression guard for the shipped weights (synthetic held-out page).
    assert words.detection()["f"] >= 0.6, str(words)
    assert words.e2e_normalized()["f"] >= 0.3, str(words)
