"""One decoder: the same file gives the same pixels on every path that reads it.

Files of every kind a user may hand us are built here (with Pillow; the 16-bit
colour ones by hand or with OpenCV, as Pillow cannot write them) and read through inference
(``read_image``, ``InputDocument``), the training pipeline (annotation files
and TFRecords, in tf.data), drawing (``visualize.load_rgb``), and, for the
kinds it takes, the SavedModel's in-graph decoder.
"""

import io
import struct
import types
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from keras_textnet.data.annotation import AnnotationSet, ImageRecord
from keras_textnet.image_io import (DEFAULT_MAX_PIXELS, ImageReadError, decode_image,
                                    image_size, probe_image, read_image)

RNG = np.random.default_rng(12)
H, W = 24, 40


def _upright():
    """An RGB page no flip or turn maps onto itself: 8x8 blocks, so JPEG keeps them."""
    blocks = RNG.integers(0, 256, (H // 8, W // 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((8, 8, 1), np.uint8))


UPRIGHT = _upright()
GREY = UPRIGHT[..., 0]
ALPHA = np.tile(np.linspace(0, 255, W).round().astype(np.uint8), (H, 1))
#: what the file stores for each EXIF orientation, so that turning it upright gives UPRIGHT
_STORED = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1],
           4: lambda a: a[::-1], 5: lambda a: a.transpose(1, 0, 2),
           6: lambda a: np.rot90(a, 1), 7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
           8: lambda a: np.rot90(a, -1)}


def _over_white(rgb, alpha):
    a = alpha[..., None].astype(np.int64)
    return ((rgb.astype(np.int64) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def _png(path, array, colour_type, depth=16):
    """A PNG written by hand (Pillow writes no 16-bit colour): ``array`` (H, W, C)."""
    h, w = array.shape[:2]
    dtype = ">u2" if depth == 16 else "u1"
    rows = b"".join(b"\0" + array[y].astype(dtype).tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def _save(path, im, **kw):
    im.save(path, **kw)
    return path


def _exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """``{name: (path, expected pixels or None)}``; None: checked against the other paths only."""
    import cv2

    d = tmp_path_factory.mktemp("kinds")
    out = {}
    for o in range(1, 9):  # phone photos: the pixels are stored turned, the tag says how
        out[f"exif{o}.jpg"] = (_save(d / f"exif{o}.jpg", Image.fromarray(
            np.ascontiguousarray(_STORED[o](UPRIGHT))), quality=95, subsampling=0,
            exif=_exif(o)), None)
        out[f"exif{o}.png"] = (_save(d / f"exif{o}.png", Image.fromarray(
            np.ascontiguousarray(_STORED[o](UPRIGHT))), exif=_exif(o)), UPRIGHT)
    out["turned.tif"] = (_save(d / "turned.tif", Image.fromarray(
        np.ascontiguousarray(_STORED[6](UPRIGHT))), exif=_exif(6), compression="tiff_lzw"),
        UPRIGHT)
    out["rgb.png"] = (_save(d / "rgb.png", Image.fromarray(UPRIGHT)), UPRIGHT)
    rgba = np.dstack([UPRIGHT, ALPHA])
    out["rgba.png"] = (_save(d / "rgba.png", Image.fromarray(rgba, "RGBA")),
                       _over_white(UPRIGHT, ALPHA))
    out["la.png"] = (_save(d / "la.png", Image.fromarray(np.dstack([GREY, ALPHA]), "LA")),
                     _over_white(np.repeat(GREY[..., None], 3, -1), ALPHA))
    out["grey.png"] = (_save(d / "grey.png", Image.fromarray(GREY)),
                       np.repeat(GREY[..., None], 3, -1))
    grey_t = GREY.copy()
    key = int(grey_t[0, 0])
    want = np.repeat(grey_t[..., None], 3, -1)
    want[grey_t == key] = 255  # a tRNS grey key: that grey is see-through
    out["grey_t.png"] = (_save(d / "grey_t.png", Image.fromarray(grey_t), transparency=key),
                         want)
    out["grey.jpg"] = (_save(d / "grey.jpg", Image.fromarray(GREY), quality=95), None)
    ink = GREY > 127
    out["bilevel.png"] = (_save(d / "bilevel.png", Image.fromarray(ink).convert("1")),
                          np.repeat(np.where(ink, 255, 0).astype(np.uint8)[..., None], 3, -1))
    pal = Image.fromarray(UPRIGHT).quantize(256)
    out["palette4.png"] = (_save(d / "palette4.png", Image.fromarray(UPRIGHT).quantize(6)),
                           np.asarray(Image.fromarray(UPRIGHT).quantize(6).convert("RGB")))
    out["palette.png"] = (_save(d / "palette.png", pal), np.asarray(pal.convert("RGB")))
    pal_t = pal.copy()
    pal_t.info["transparency"] = 0  # palette entry 0 is see-through: white paper
    want = np.asarray(pal.convert("RGB")).copy()
    want[np.asarray(pal) == 0] = 255
    out["palette_t.png"] = (_save(d / "palette_t.png", pal_t, transparency=0), want)
    out["palette.gif"] = (_save(d / "palette.gif", pal_t, transparency=0), want)
    g16 = GREY.astype(np.uint16) * 257 + RNG.integers(0, 257, GREY.shape).astype(np.uint16)
    g16_8 = ((g16.astype(np.int64) + 128) // 257).astype(np.uint8)
    out["grey16.png"] = (_save(d / "grey16.png", Image.fromarray(g16)),
                         np.repeat(g16_8[..., None], 3, -1))
    c16 = UPRIGHT.astype(np.uint16) * 257 + RNG.integers(0, 257, UPRIGHT.shape).astype(np.uint16)
    c16_8 = ((c16.astype(np.int64) + 128) // 257).astype(np.uint8)
    a16 = ALPHA.astype(np.uint16) * 257
    out["rgb16.png"] = (_png(d / "rgb16.png", c16, 2), c16_8)
    out["rgba16.png"] = (_png(d / "rgba16.png", np.dstack([c16, a16]), 6),
                         _over_white(c16_8, ALPHA))
    assert cv2.imwrite(str(d / "rgb16.tif"), np.ascontiguousarray(c16[..., ::-1]))
    out["rgb16.tif"] = (d / "rgb16.tif", c16_8)
    out["la16.png"] = (_png(d / "la16.png", np.dstack([g16, a16]), 4),
                       _over_white(np.repeat(g16_8[..., None], 3, -1), ALPHA))
    cmyk = Image.fromarray(UPRIGHT).convert("CMYK")
    out["cmyk.jpg"] = (_save(d / "cmyk.jpg", cmyk, quality=95), None)
    out["cmyk.tif"] = (_save(d / "cmyk.tif", cmyk), np.asarray(cmyk.convert("RGB")))
    pages = [Image.fromarray(UPRIGHT), Image.fromarray(UPRIGHT[::-1].copy())]
    out["pages.tif"] = (_save(d / "pages.tif", pages[0], save_all=True,
                              append_images=pages[1:]), UPRIGHT)
    return out


def test_every_kind_decodes_upright_rgb(kinds):
    for name, (path, want) in kinds.items():
        got = read_image(path)
        assert got.dtype == np.uint8 and got.shape == (H, W, 3), name
        assert image_size(path) == (W, H), name
        if want is not None:
            np.testing.assert_array_equal(got, want, err_msg=name)
    for o in range(1, 9):  # JPEG: upright within its loss, and as Pillow's exif_transpose
        path = kinds[f"exif{o}.jpg"][0]
        with Image.open(path) as im:
            pil = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        np.testing.assert_array_equal(read_image(path), pil)
        assert np.abs(read_image(path).astype(int) - UPRIGHT).mean() < 3
    # CMYK: as Pillow converts it (JPEG loss aside)
    assert np.abs(read_image(kinds["cmyk.jpg"][0]).astype(int)
                  - kinds["cmyk.tif"][1]).mean() < 3


def test_the_same_pixels_on_every_path(kinds, tmp_path):
    """read_image (path, bytes), InputDocument, the annotation pipeline, TFRecords, drawing."""
    from keras_textnet.data.pipeline import raw_dataset
    from keras_textnet.data.tfrecord import write_tfrecords
    from keras_textnet.data.visualize import load_rgb
    from keras_textnet.input_document import InputDocument

    root = next(iter(kinds.values()))[0].parent
    names = sorted(kinds)
    reference = {n: read_image(kinds[n][0]) for n in names}
    for n in names:
        path = kinds[n][0]
        np.testing.assert_array_equal(read_image(path.read_bytes()), reference[n], err_msg=n)
        np.testing.assert_array_equal(decode_image(path), reference[n], err_msg=n)
        np.testing.assert_array_equal(load_rgb(path), reference[n], err_msg=n)  # drawing
        page = next(iter(InputDocument(str(path)).pages()))  # inference and --draw
        np.testing.assert_array_equal(page.image, reference[n], err_msg=n)

    records = [ImageRecord(file=n, width=W, height=H) for n in names]
    ann = AnnotationSet(images=records, root=root)
    seen = {}
    for raw in raw_dataset(ann, shuffle=False, repeat=False):  # the training pipeline
        seen[raw["file"].numpy().decode()] = raw["image"].numpy()
    assert sorted(seen) == names
    for n in names:
        np.testing.assert_array_equal(seen[n], reference[n], err_msg=f"pipeline {n}")

    # TFRecords keep the files' bytes (PNG and JPEG only) and decode them the same way.
    stored = [n for n in names if n.endswith((".png", ".jpg"))]
    tfr = AnnotationSet(images=[r for r in records if r.file in stored], root=root)
    files = write_tfrecords(tfr, tmp_path / "shards" / "t", num_shards=2, progress=False)
    seen = {}
    for raw in raw_dataset(files, shuffle=False, repeat=False):
        seen[raw["file"].numpy().decode()] = raw["image"].numpy()
    assert sorted(seen) == sorted(stored)
    for n in stored:
        np.testing.assert_array_equal(seen[n], reference[n], err_msg=f"tfrecord {n}")


def test_pipeline_decoding_is_parallel_and_deterministic(kinds):
    import tensorflow as tf

    from keras_textnet.data.pipeline import raw_dataset

    root = next(iter(kinds.values()))[0].parent
    names = sorted(kinds) * 3
    ann = AnnotationSet(images=[ImageRecord(file=n, width=W, height=H) for n in names],
                        root=root)
    ds = raw_dataset(ann, shuffle=False, repeat=False)
    options = tf.data.Options()
    options.deterministic = True
    runs = [[(r["file"].numpy(), r["image"].numpy().tobytes())
             for r in ds.with_options(options)] for _ in range(2)]
    assert runs[0] == runs[1] and [f.decode() for f, _ in runs[0]] == names


def test_pipeline_names_the_file_it_cannot_decode(tmp_path):
    import tensorflow as tf

    from keras_textnet.data.pipeline import raw_dataset

    (tmp_path / "bad.png").write_bytes(b"not a picture at all")
    ann = AnnotationSet(images=[ImageRecord(file="bad.png", width=W, height=H)], root=tmp_path)
    with pytest.raises(tf.errors.OpError, match="bad.png: not an image"):
        next(iter(raw_dataset(ann, shuffle=False, repeat=False)))


def test_multipage_tiff_pages(kinds):
    path = kinds["pages.tif"][0]
    assert probe_image(path)[0] == 2
    np.testing.assert_array_equal(read_image(path, page=2), UPRIGHT[::-1])
    np.testing.assert_array_equal(decode_image(path.read_bytes(), page=2), UPRIGHT[::-1])
    with pytest.raises(ImageReadError, match="has no page 3 \\(it has 2\\)"):
        read_image(path, page=3)


def _bomb_png(width, height):
    """A PNG header claiming width x height pixels, with almost no data."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_size_limit_is_ours_and_local():
    """Pillow's process-wide limit is left alone; ours answers from the header."""
    before = Image.MAX_IMAGE_PIXELS
    bomb = _bomb_png(20000, 10000)  # 200 megapixels, over Pillow's own error limit too
    with pytest.raises(ImageReadError, match="20000x10000 is 200 megapixels, more than the "
                                             "100 allowed; downscale it"):
        read_image(bomb)
    assert image_size(bomb) == (20000, 10000) and probe_image(bomb) == (1, None)
    # A caller allowing more gets past the header (here: to the missing pixels).
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_image(bomb, max_pixels=3 * DEFAULT_MAX_PIXELS)
    assert Image.MAX_IMAGE_PIXELS == before and before is not None
    with pytest.raises(Image.DecompressionBombError):  # everyone else keeps Pillow's guard
        Image.open(io.BytesIO(bomb))


SERVED = ["rgb.png", "grey.png", "grey_t.png", "bilevel.png", "rgba.png", "la.png", "palette.png",
          "palette_t.png", "palette4.png", "exif1.jpg", "grey.jpg", "exif1.png"]


def test_serving_graph_decodes_as_the_predictor_where_it_can(kinds):
    """The SavedModel decodes in TF (no Python in a served graph): PNG and JPEG.

    It agrees on 8-bit PNGs (alpha over white included) and on JPEGs without an
    EXIF turn; docs/export.md lists where it differs (EXIF orientation, 16-bit
    PNGs, CMYK JPEGs, other formats).
    """
    import tensorflow as tf

    from keras_textnet.export.saved_model import ServingGraph

    graph = types.SimpleNamespace(max_pixels=DEFAULT_MAX_PIXELS)
    for name in SERVED:
        path = kinds[name][0]
        served = ServingGraph.decode(graph, tf.constant(path.read_bytes()), 0).numpy()
        np.testing.assert_array_equal(served, read_image(path), err_msg=name)
    turned = ServingGraph.decode(graph, tf.constant(kinds["exif6.png"][0].read_bytes()), 0)
    assert tuple(turned.shape) == (W, H, 3)  # as stored: the serving graph does not turn it


def test_annotation_sizes_are_the_upright_ones(kinds):
    """Boxes are on the decoded (upright) image, so the sizes checked are its sizes."""
    from keras_textnet.data.annotation import AnnotationError

    root = kinds["exif6.jpg"][0].parent
    upright = AnnotationSet(images=[ImageRecord(file="exif6.jpg", width=W, height=H)], root=root)
    upright.save(root / "upright.json")
    assert AnnotationSet.load(root / "upright.json").images[0].width == W
    stored = AnnotationSet(images=[ImageRecord(file="exif6.jpg", width=H, height=W)], root=root)
    stored.save(root / "stored.json")
    with pytest.raises(AnnotationError, match="EXIF orientation turns it upright"):
        AnnotationSet.load(root / "stored.json")
