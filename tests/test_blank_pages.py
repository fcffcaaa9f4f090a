"""A page without text gets no words: the shipped model on 20 text-free pages.

Blank sheets of paper (the synthetic generator's backgrounds), uniform fills
(white, grey, black, coloured), noise alone (Gaussian grain, salt and pepper)
and phone photos of an empty sheet, each clean and degraded as scans and photos
are (blur, noise, uneven light, JPEG: the generator's degradations). None of
these pages was drawn with the seeds the shipped model trained on.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from keras_textnet.data.synthetic.backgrounds import make_background
from keras_textnet.data.synthetic.degradations import degrade
from keras_textnet.data.synthetic.layouts.blank import _paper_photo

HEIGHT, WIDTH = 880, 680              # a letter page at 80 dpi


def _uniform(rng, color):
    return np.full((HEIGHT, WIDTH, 3), color, np.uint8)


def _noise(rng, mean, sigma, speckle):
    grain = rng.normal(mean, sigma, (HEIGHT, WIDTH, 1))
    if speckle:
        salt = rng.random((HEIGHT, WIDTH, 1)) < speckle
        grain[salt] = rng.choice([0.0, 255.0], size=int(salt.sum()))
    return np.repeat(np.clip(grain, 0, 255).astype(np.uint8), 3, axis=2)


def _photo(rng):
    canvas = SimpleNamespace(image=np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    _paper_photo(SimpleNamespace(rng=rng, height=HEIGHT, width=WIDTH, canvas=canvas))
    return canvas.image


def _pages():
    rng = np.random.default_rng(20261205)
    clean = [
        ("paper", make_background(rng, HEIGHT, WIDTH)[0]),
        ("paper", make_background(rng, HEIGHT, WIDTH)[0]),
        ("paper", make_background(rng, HEIGHT, WIDTH)[0]),
        ("white", _uniform(rng, (255, 255, 255))),
        ("grey", _uniform(rng, (128, 128, 128))),
        ("black", _uniform(rng, (0, 0, 0))),
        ("blue", _uniform(rng, (40, 70, 160))),
        ("grain", _noise(rng, 200, 25, 0)),
        ("dark grain", _noise(rng, 60, 40, 0)),
        ("salt and pepper", _noise(rng, 235, 8, 0.02)),
        ("photo of paper", _photo(rng)),
        ("photo of paper", _photo(rng)),
    ]
    pages = [(f"{name} (clean)", image) for name, image in clean]
    # degraded copies of the kinds a scan or a photo gives
    for name, image in clean[:3] + clean[7:]:
        out, applied = degrade(image, rng, strength=3.0)
        pages.append((f"{name} ({', '.join(applied) or 'no effect drawn'})", out))
    return pages


def test_the_twenty_pages_are_what_they_claim():
    pages = _pages()
    assert len(pages) == 20
    assert len({image.tobytes() for _, image in pages}) == 20      # all different
    means = [image.mean() for _, image in pages]
    assert min(means) < 5 and max(means) > 240


@pytest.fixture(scope="module")
def shipped_predictor():
    from keras_textnet.predictor import TextNetPredictor
    from keras_textnet.pretrained import load_default_model

    return TextNetPredictor(load_default_model())


def test_shipped_model_reads_no_words_on_pages_without_text(shipped_predictor):
    found = {}
    for name, image in _pages():
        result = shipped_predictor.predict_image(image, file=name)
        if result["words"]:
            found[name] = [w["text"] for w in result["words"]][:8]
    assert not found, f"words read on text-free pages: {found}"
