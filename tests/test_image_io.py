"""Reading images of every kind a user may hand us."""

import numpy as np
import pytest
from PIL import Image

from keras_textnet.image_io import ImageReadError, read_image


def _save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_rgb_png_round_trip(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (20, 30, 3), np.uint8)
    out = read_image(_save(tmp_path, "a.png", Image.fromarray(arr)))
    np.testing.assert_array_equal(out, arr)


def test_grey_16bit_rgba_palette_cmyk(tmp_path):
    grey = np.tile(np.arange(30, dtype=np.uint8) * 8, (20, 1))
    assert read_image(_save(tmp_path, "g.png", Image.fromarray(grey))).shape == (20, 30, 3)
    g16 = (grey.astype(np.uint16) * 257)
    out = read_image(_save(tmp_path, "g16.png", Image.fromarray(g16)))
    np.testing.assert_array_equal(out[..., 0], grey)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent -> white paper
    rgba[0, 0] = [0, 0, 0, 255]
    out = read_image(_save(tmp_path, "t.png", Image.fromarray(rgba, "RGBA")))
    assert out[1, 1].tolist() == [255, 255, 255] and out[0, 0].tolist() == [0, 0, 0]
    pal = Image.fromarray(grey).convert("P")
    assert read_image(_save(tmp_path, "p.png", pal)).shape == (20, 30, 3)
    cmyk = Image.new("CMYK", (10, 8), (0, 0, 0, 255))  # black ink
    out = read_image(_save(tmp_path, "c.jpg", cmyk))
    assert out.shape == (8, 10, 3) and out.max() < 40


def test_arrays():
    assert read_image(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert read_image(np.ones((5, 6, 1), np.float32)).max() == 255
    assert read_image(np.full((2, 2), 65535, np.uint16)).max() == 255
    with pytest.raises(ImageReadError, match="shape"):
        read_image(np.zeros((5, 6, 2), np.uint8))
    with pytest.raises(ImageReadError, match="empty"):
        read_image(np.zeros((0, 6, 3), np.uint8))


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"hello, I am text", "not an image"),
])
def test_bad_files(bad_file_error, content, message):
    bad_file_error("bad.png", content, read_image, ImageReadError, message)


def test_truncated_missing_folder_and_huge(tmp_path):
    arr = np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
    path = _save(tmp_path, "x.jpg", Image.fromarray(arr))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_image(path)
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image(tmp_path)
    big = _save(tmp_path, "big.png", Image.new("L", (200, 100)))
    with pytest.raises(ImageReadError, match="more than the"):
        read_image(big, max_pixels=10_000)


def test_a_pipe_or_a_device_is_refused_before_it_is_opened(tmp_path):
    """Opening a named pipe blocks until a writer comes; /dev/zero never ends."""
    import os
    import threading

    from keras_textnet.image_io import image_size, probe_image

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    # Should a reader open the pipe, this writer unblocks it and the test fails, not hangs.
    guard = threading.Timer(10.0, lambda: os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)))
    guard.start()
    try:
        for read in (read_image, image_size, probe_image):
            with pytest.raises(ImageReadError, match="named pipe"):
                read(pipe)
    finally:
        guard.cancel()
    if os.path.exists("/dev/zero"):
        with pytest.raises(ImageReadError, match="is a device, not a regular file"):
            read_image("/dev/zero")


def test_multipage_tiff_pages_and_probe(tmp_path):
    from keras_textnet.image_io import probe_image

    frames = [Image.fromarray(np.full((20, 30), 40 * (i + 1), np.uint8)) for i in range(3)]
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(200, 200))
    assert probe_image(path) == (3, 200.0)
    assert probe_image(path.read_bytes()) == (3, 200.0)
    assert [int(read_image(path, page=p)[0, 0, 0]) for p in (1, 2, 3)] == [40, 80, 120]
    with pytest.raises(ImageReadError, match="has no page 4 \\(it has 3\\)"):
        read_image(path, page=4)
    png = _save(tmp_path, "one.png", frames[0])
    assert probe_image(png) == (1, None)  # no resolution stated
    gif = tmp_path / "anim.gif"  # an animation's frames are not pages
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    assert probe_image(gif)[0] == 1
    with pytest.raises(ImageReadError, match="not an image"):
        probe_image(b"plain text")
