import numpy as np

from keras_textnet.data.synthetic.degradations import _grayscale
from keras_textnet.luminance import LUMA_WEIGHTS, gray_image, luminance


def test_luminance_of_colours():
    assert LUMA_WEIGHTS == (0.299, 0.587, 0.114)
    assert luminance((0, 0, 0)) == 0.0
    assert luminance((255, 255, 255)) == 255.0
    assert luminance((10, 20, 30, 0)) == luminance((10, 20, 30))  # alpha ignored
    assert luminance(np.array([200.0, 100.0, 50.0])) == 0.299 * 200 + 0.587 * 100 + 0.114 * 50


def test_gray_image_is_the_luma_rounded():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    gray = gray_image(image)
    assert gray.shape == (17, 23) and gray.dtype == np.uint8
    exact = image.astype(np.float64) @ np.array(LUMA_WEIGHTS)
    # OpenCV rounds 14-bit fixed-point weights: within a hair of half a grey level
    assert np.abs(gray - exact).max() < 0.51
    rgba = np.concatenate([image, np.zeros((17, 23, 1), np.uint8)], axis=-1)
    np.testing.assert_array_equal(gray_image(rgba), gray)
    assert gray_image(gray) is gray


def test_training_and_inference_grey_agree():
    image = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    degraded = _grayscale(image, None)
    assert degraded.shape == image.shape
    for c in range(3):
        np.testing.assert_array_equal(degraded[..., c], gray_image(image))
